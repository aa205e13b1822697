//! A change event read in one pass (`document`): checked as orjson checks it, its objects as
//! their members in order with the values left unparsed; and the writer helpers. A kept value
//! is copied as it came, only the values an action changes are parsed.

use std::borrow::Cow;

use serde_json::Value;

/// A JSON object read in one pass: its members in input order (duplicates kept), each value
/// as its raw text, and the members of object values down to `RECORD_DEPTH` levels.
pub struct Obj<'a>(pub Vec<Member<'a>>);

pub struct Member<'a> {
    /// the name, borrowed from the input unless it had escapes
    pub name: Cow<'a, str>,
    /// the value's JSON text as it came
    pub raw: &'a str,
    /// the value's members, when it is an object within `RECORD_DEPTH`
    pub obj: Option<Obj<'a>>,
}

/// Objects nested this deep are read into members: the envelope (or the schema wrapper), its
/// images and source (or the payload's), and a column holding an object.
const RECORD_DEPTH: usize = 4;
/// Deeper nesting is left to Python (serde_json's recursion limit: no stack overflow here).
const MAX_DEPTH: usize = 128;

/// A JSON text read and checked in one pass; None when it is not JSON or when orjson would
/// refuse it: a `\u` escape that leaves a surrogate unpaired, or a number beyond a double's
/// range. Returns the value's text (without the surrounding whitespace) and, for an object,
/// its members.
pub fn document(text: &str) -> Option<(&str, Option<Obj<'_>>)> {
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    reader.space();
    let start = reader.at;
    let obj = reader.value(0)?;
    let end = reader.at;
    reader.space();
    (reader.at == reader.bytes.len()).then(|| (&text[start..end], obj))
}

impl<'a> Obj<'a> {
    /// The member as Python's dict would have it: the last of duplicates.
    pub fn member(&self, name: &str) -> Option<&Member<'a>> {
        self.0.iter().rev().find(|m| m.name == name)
    }

    pub fn member_mut(&mut self, name: &str) -> Option<&mut Member<'a>> {
        self.0.iter_mut().rev().find(|m| m.name == name)
    }

    /// The member's raw value (the last of duplicates).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.member(name).map(|m| m.raw)
    }

    /// Python's `len(dict)`: distinct names.
    pub fn distinct_len(&self) -> usize {
        (0..self.0.len())
            .filter(|&i| !self.0[i + 1..].iter().any(|m| m.name == self.0[i].name))
            .count()
    }
}

/// bytes that end a plain run of string content: the quote, a backslash, a control character
const fn string_stops() -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
}
const STRING_STOPS: [bool; 256] = string_stops();

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn space(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// One value; Some(Some(members)) for an object within `RECORD_DEPTH`.
    fn value(&mut self, depth: usize) -> Option<Option<Obj<'a>>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'{' => return self.object(depth),
            b'[' => self.array(depth)?,
            b'"' => {
                self.string()?;
            }
            b'-' | b'0'..=b'9' => self.number()?,
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            _ => return None,
        }
        Some(None)
    }

    fn object(&mut self, depth: usize) -> Option<Option<Obj<'a>>> {
        let record = depth < RECORD_DEPTH;
        let mut members = Vec::with_capacity(if record { 32 } else { 0 });
        if self.open(b'}')? {
            return Some(record.then_some(Obj(members)));
        }
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let name_start = self.at;
            let escaped = self.string()?;
            let name_end = self.at;
            self.space();
            if self.peek()? != b':' {
                return None;
            }
            self.at += 1;
            self.space();
            let start = self.at;
            let obj = self.value(depth + 1)?;
            if record {
                let quoted = &self.text[name_start..name_end];
                let name = if escaped {
                    Cow::Owned(serde_json::from_str::<String>(quoted).ok()?)
                } else {
                    Cow::Borrowed(&quoted[1..quoted.len() - 1])
                };
                let raw = &self.text[start..self.at];
                members.push(Member { name, raw, obj });
            }
            if self.separator(b'}')? {
                return Some(record.then_some(Obj(members)));
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if self.open(b']')? {
            return Some(());
        }
        loop {
            // elements are checked, not recorded: no masking reaches into arrays by name
            self.value((depth + 1).max(RECORD_DEPTH))?;
            if self.separator(b']')? {
                return Some(());
            }
        }
    }

    /// Past a container's opening byte; whether it closes at once (it is empty).
    fn open(&mut self, close: u8) -> Option<bool> {
        self.at += 1;
        self.space();
        let empty = self.peek()? == close;
        if empty {
            self.at += 1;
        }
        Some(empty)
    }

    /// After a container's value: past a comma (false) or past its closing byte (true).
    fn separator(&mut self, close: u8) -> Option<bool> {
        self.space();
        match self.peek()? {
            b',' => {
                self.at += 1;
                self.space();
                Some(false)
            }
            byte if byte == close => {
                self.at += 1;
                Some(true)
            }
            _ => None,
        }
    }

    /// A string from its opening quote to past its closing one; whether it had escapes.
    fn string(&mut self) -> Option<bool> {
        let bytes = self.bytes;
        let mut i = self.at + 1;
        let mut escaped = false;
        loop {
            while !STRING_STOPS[usize::from(*bytes.get(i)?)] {
                i += 1;
            }
            match bytes[i] {
                b'"' => {
                    self.at = i + 1;
                    return Some(escaped);
                }
                b'\\' => {
                    escaped = true;
                    i = escape_end(bytes, i)?;
                }
                _ => return None, // a control character
            }
        }
    }

    fn number(&mut self) -> Option<()> {
        let bytes = self.bytes;
        let start = self.at;
        let mut i = start;
        let digits = |mut i: usize| {
            let from = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            (i > from).then_some(i)
        };
        if bytes[i] == b'-' {
            i += 1;
        }
        i = match bytes.get(i)? {
            b'0' => i + 1,
            b'1'..=b'9' => digits(i)?,
            _ => return None,
        };
        if bytes.get(i) == Some(&b'.') {
            i = digits(i + 1)?;
        }
        let exponent = matches!(bytes.get(i), Some(b'e' | b'E'));
        if exponent {
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            i = digits(i)?;
        }
        self.at = i;
        // up to 15 digits with no exponent stay within a double's range; beyond, orjson
        // refuses what reads as infinite
        let token = &self.text[start..i];
        if exponent || token.len() > 15 {
            return token.parse::<f64>().ok()?.is_finite().then_some(());
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }
}

/// Past the escape at `i`; None for an invalid escape or one that leaves a surrogate unpaired
/// (orjson refuses those).
fn escape_end(bytes: &[u8], i: usize) -> Option<usize> {
    match bytes.get(i + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(i + 2),
        b'u' => match hex4(bytes, i + 2)? {
            0xD800..=0xDBFF => {
                let low = (bytes.get(i + 6) == Some(&b'\\') && bytes.get(i + 7) == Some(&b'u'))
                    .then(|| hex4(bytes, i + 8))
                    .flatten();
                matches!(low, Some(0xDC00..=0xDFFF)).then_some(i + 12)
            }
            0xDC00..=0xDFFF => None, // a low surrogate on its own
            _ => Some(i + 6),
        },
        _ => None,
    }
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

pub fn is_null(raw: &str) -> bool {
    raw == "null"
}

/// The value parsed; None for what serde_json cannot hold (it never can: the input parsed).
pub fn value(raw: &str) -> Option<Value> {
    serde_json::from_str(raw).ok()
}

/// The kind of a raw JSON value as Python's `json_types.kind_of` names it after orjson read
/// it: an integer beyond 64 bits is a float there, as orjson reads it.
pub fn kind(raw: &str) -> &'static str {
    match raw.as_bytes().first() {
        Some(b'"') => "string",
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        Some(_) if raw.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) => "float",
        Some(_) if raw.parse::<i64>().is_ok() || raw.parse::<u64>().is_ok() => "integer",
        _ => "float",
    }
}

/// Whether orjson writes the value's parsed form as these very bytes: a string without
/// escapes (no control character, quote or backslash can be in it then), or an integer of up
/// to 18 digits other than `-0`.
pub fn is_canonical(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    match bytes.first() {
        Some(b'"') => !bytes.contains(&b'\\'),
        Some(b'-') => raw != "-0" && short_digits(&bytes[1..]),
        _ => short_digits(bytes),
    }
}

fn short_digits(bytes: &[u8]) -> bool {
    (1..=18).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_digit)
}

/// A JSON integer as Python would read it into an `int` that fits 64 bits.
pub fn int(raw: &str) -> Option<Value> {
    if short_digits(raw.as_bytes()) {
        return raw.parse::<i64>().ok().map(Value::from);
    }
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

/// A JSON string (a member name or a text value), escaped where it must be.
pub fn write_str(out: &mut Vec<u8>, name: &str) {
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

#[cfg(test)]
mod tests {
    use super::document;

    fn accepts(text: &str) -> bool {
        document(text).is_some()
    }

    #[test]
    fn refuses_what_orjson_refuses() {
        assert!(accepts(r#"{"a": "\ud83d\ude00", "b": 1.5e308, "c": -12}"#));
        assert!(accepts(r#"{"a": "\\ud800", "b": "1e999"}"#)); // escaped backslash, text
        assert!(accepts(r#"{"a": 123456789012345678901234567890}"#)); // a finite double
        assert!(!accepts(r#"{"a": "\ud800"}"#));
        assert!(!accepts(r#"{"a": "\ud800\u0041"}"#));
        assert!(!accepts(r#"{"a": "x\udc00"}"#));
        assert!(!accepts(r#"{"a": 1e309}"#));
        assert!(!accepts(r#"[-1.8e308]"#));
        assert!(!accepts(&format!("[{}]", "9".repeat(400))));
        assert!(!accepts(r#"["\"#)); // ends inside an escape: no panic, refused
        assert!(!accepts(r#"["abc"#));
    }

    #[test]
    fn reads_json_as_serde_json_does() {
        let texts = [
            "{}",
            "[]",
            " null ",
            "0",
            "-0",
            "-1.5e-3",
            "1E+2",
            "\"\"",
            "true",
            "false",
            r#"{"a":[1,{"b":[]},"c"],"d":{"e":{"f":{"g":{"h":1}}}}}"#,
            r#"{"k\u00e9y":"v\n\"q\"\/"}"#,
            "\t{ \"a\" :\r\n 1 }\n",
            // not JSON
            "",
            " ",
            "{",
            "}",
            "[1,]",
            "{\"a\":1,}",
            "{,}",
            "01",
            "1.",
            ".5",
            "+1",
            "-",
            "1e",
            "1e+",
            "tru",
            "nul",
            "True",
            "NaN",
            "Infinity",
            "{\"a\" 1}",
            "{a:1}",
            "{\"a\":1}}",
            "[1 2]",
            "\"\u{1}\"",
            "\"\t\"",
            r#""\x""#,
            r#""\u12""#,
            r#""\u12G4""#,
            "1 2",
            "\u{feff}{}",
            "[\"a\"]x",
        ];
        for text in texts {
            let serde = serde_json::from_str::<serde_json::Value>(text).is_ok();
            assert_eq!(accepts(text), serde, "{text:?}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(!accepts(&deep)); // left to Python, as serde_json's recursion limit does
    }

    #[test]
    fn records_members_with_their_raw_values() {
        let text = concat!(
            r#" {"a" : 1 , "b":{"c":[1, 2],"c":"x\"y","d":{"e":{"f":{"g":1}}}},"#,
            r#""s\u00fc":"\u00fc"} "#
        );
        let (raw, obj) = document(text).unwrap();
        assert_eq!(raw, text.trim());
        let obj = obj.unwrap();
        let names: Vec<&str> = obj.0.iter().map(|m| m.name.as_ref()).collect();
        assert_eq!(names, ["a", "b", "sü"]);
        assert_eq!(obj.get("a"), Some("1"));
        assert_eq!(obj.get("sü"), Some(r#""\u00fc""#));
        let b = obj.member("b").unwrap().obj.as_ref().unwrap();
        assert_eq!(b.0.len(), 3); // duplicates kept
        assert_eq!(b.distinct_len(), 2);
        assert_eq!(b.get("c"), Some(r#""x\"y""#)); // the last of duplicates
        let d = b.member("d").unwrap().obj.as_ref().unwrap();
        let e = d.member("e").unwrap().obj.as_ref().unwrap();
        assert_eq!(e.get("f"), Some(r#"{"g":1}"#));
        assert!(e.member("f").unwrap().obj.is_none()); // deeper than RECORD_DEPTH
        assert!(obj.member("a").unwrap().obj.is_none());
        assert!(document("[{\"a\":1}]").unwrap().1.is_none());
    }
}
