//! JSON objects read as their members in order with the values left unparsed, and the writer
//! helpers: a kept value is copied as it came, only the values an action changes are parsed.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// A member name, borrowed from the input unless it had escapes.
pub struct Name<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// A JSON object: its members in input order (duplicates kept), values unparsed.
pub struct Obj<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Obj<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjVisitor;
        impl<'de> Visitor<'de> for ObjVisitor {
            type Value = Obj<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((name, value)) = map.next_entry::<Name<'de>, &'de RawValue>()? {
                    members.push((name.0, value));
                }
                Ok(Obj(members))
            }
        }
        deserializer.deserialize_map(ObjVisitor)
    }
}

impl<'a> Obj<'a> {
    pub fn parse(raw: &'a str) -> Option<Self> {
        serde_json::from_str(raw).ok()
    }

    /// The member's value as Python's dict would have it: the last of duplicates.
    pub fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// Python's `len(dict)`: distinct names.
    pub fn distinct_len(&self) -> usize {
        (0..self.0.len())
            .filter(|&i| !self.0[i + 1..].iter().any(|(n, _)| *n == self.0[i].0))
            .count()
    }
}

pub fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

/// The value parsed; None for what serde_json cannot hold (it never can: the input parsed).
pub fn value(raw: &RawValue) -> Option<Value> {
    serde_json::from_str(raw.get()).ok()
}

/// A JSON integer as Python would read it into an `int` that fits 64 bits.
pub fn int(raw: &RawValue) -> Option<Value> {
    let v = value(raw)?;
    (v.is_i64() || v.is_u64()).then_some(v)
}

/// Whether a float is anywhere inside (serde_json and orjson write some of them differently).
pub fn holds_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => !(n.is_i64() || n.is_u64()),
        Value::Array(items) => items.iter().any(holds_float),
        Value::Object(members) => members.values().any(holds_float),
        _ => false,
    }
}

pub fn write_name(out: &mut Vec<u8>, name: &str) {
    if name.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.push(b'"');
    } else {
        // infallible: a string always serializes
        let _ = serde_json::to_writer(&mut *out, name);
    }
}

pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Whether orjson would read the text where reading members unparsed cannot tell: a `\u`
/// escape that leaves a surrogate unpaired, or a number beyond a double's range (orjson
/// refuses both). Structure, control characters and other escapes are checked by the parse
/// that follows; one pass over the bytes, no decoding.
pub fn orjson_accepts(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => match string_end(bytes, i + 1) {
                Some(end) => i = end + 1,
                None => return false,
            },
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                // short integers are exact; what is read as a double must stay finite
                let token = &text[start..i];
                if token.len() > 15 || token.contains(['.', 'e', 'E']) {
                    if let Ok(number) = token.parse::<f64>() {
                        if !number.is_finite() {
                            return false;
                        }
                    }
                }
            }
            _ => i += 1,
        }
    }
    true
}

/// The index of the quote that closes the string starting at `i`; None when an escape leaves
/// a surrogate unpaired (or the string does not end: the parse that follows refuses it).
fn string_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i += memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        if bytes[i] == b'"' {
            return Some(i);
        }
        if bytes.get(i + 1) != Some(&b'u') {
            i += 2;
            continue;
        }
        match hex4(bytes, i + 2) {
            Some(0xD800..=0xDBFF) => {
                let low = (bytes.get(i + 6) == Some(&b'\\') && bytes.get(i + 7) == Some(&b'u'))
                    .then(|| hex4(bytes, i + 8))
                    .flatten();
                if !matches!(low, Some(0xDC00..=0xDFFF)) {
                    return None; // a high surrogate without its low half
                }
                i += 12;
            }
            Some(0xDC00..=0xDFFF) => return None, // a low surrogate on its own
            _ => i += 6,
        }
    }
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::orjson_accepts;

    #[test]
    fn refuses_what_orjson_refuses() {
        assert!(orjson_accepts(
            r#"{"a": "\ud83d\ude00", "b": 1.5e308, "c": -12}"#
        ));
        assert!(orjson_accepts(r#"{"a": "\\ud800", "b": "1e999"}"#)); // escaped backslash, text
        assert!(orjson_accepts(r#"{"a": 123456789012345678901234567890}"#)); // a finite double
        assert!(!orjson_accepts(r#"{"a": "\ud800"}"#));
        assert!(!orjson_accepts(r#"{"a": "\ud800\u0041"}"#));
        assert!(!orjson_accepts(r#"{"a": "x\udc00"}"#));
        assert!(!orjson_accepts(r#"{"a": 1e309}"#));
        assert!(!orjson_accepts(r#"[-1.8e308]"#));
        assert!(!orjson_accepts(&format!("[{}]", "9".repeat(400))));
        assert!(!orjson_accepts(r#"["\"#)); // ends inside an escape: no panic, refused
        assert!(!orjson_accepts(r#"["abc"#));
    }
}
