//! Native implementations of the masking actions whose Python classes describe themselves
//! (`Action.native_spec`). Each answers `None` for an input it is not sure to treat exactly as
//! the Python action does (non-ASCII text under a case rule, floats, out-of-range dates …);
//! the engine then calls the Python action for that value.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use pyo3::PyObject;
use serde_json::{Number, Value};
use sha2::Sha256;

use crate::civil::{self, MICROS_PER_DAY};
use crate::json;
use crate::scrub::Scrub;
use crate::spec::{ActionSpec, Level, Normalizer};

const MICROS_PER_HOUR: i64 = 3_600_000_000;
/// what Python's `str.isspace` calls whitespace, for ASCII
const PY_ASCII_SPACE: [char; 10] = [
    ' ', '\t', '\n', '\x0b', '\x0c', '\r', '\x1c', '\x1d', '\x1e', '\x1f',
];

pub trait NativeAction: Send + Sync {
    /// The masked value, or None: "let the Python action decide".
    fn apply(&mut self, value: &Value) -> Option<Value>;

    /// Write the masked value of a raw JSON token straight to `out` (no parsing, no
    /// allocation on the hot path); false: nothing written, call `apply`.
    fn write_raw(&mut self, _raw: &str, _out: &mut Vec<u8>) -> bool {
        false
    }
}

/// The native form of an action, or None when only the Python action can apply it.
pub fn build(spec: &ActionSpec, helpers: &[PyObject]) -> Option<Box<dyn NativeAction>> {
    Some(match spec {
        ActionSpec::Python | ActionSpec::PerSubject => return None,
        ActionSpec::Keep { kinds } => Box::new(Keep {
            kinds: kinds.clone(),
        }),
        ActionSpec::Null => Box::new(Null),
        ActionSpec::Redact { value, keep_null } => Box::new(Redact {
            constant: Value::String(value.clone()),
            keep_null: *keep_null,
        }),
        ActionSpec::Pseudonymize {
            key_hex,
            prefix,
            length,
            normalize,
        } => Box::new(Pseudonymize::new(key_hex, prefix, *length, normalize)?),
        ActionSpec::Mask {
            first,
            last,
            char,
            fixed,
        } => Box::new(Mask {
            first: *first,
            last: *last,
            fill: char.chars().next()?,
            fixed: *fixed,
        }),
        ActionSpec::Truncate { keep } => Box::new(Truncate { keep: *keep }),
        ActionSpec::EmailDomain => Box::new(EmailDomain),
        ActionSpec::Days { level } => Box::new(Days { level: *level }),
        ActionSpec::Micros { level, implausible } => Box::new(Micros {
            level: *level,
            millis: false,
            implausible: *implausible,
        }),
        ActionSpec::Millis { level, implausible } => Box::new(Micros {
            level: *level,
            millis: true,
            implausible: *implausible,
        }),
        ActionSpec::BucketNumber { size, integral } => Box::new(BucketNumber {
            size: *size,
            integral: *integral,
        }),
        ActionSpec::Scrub {
            detectors,
            defer_chars,
            defer_pattern,
            names,
        } => Box::new(Scrub::new(
            detectors,
            helpers,
            defer_chars,
            defer_pattern.as_deref(),
            names.as_ref(),
        )?),
        ActionSpec::BucketDecimal { width_unscaled } => Box::new(BucketDecimal {
            width: i128::from(*width_unscaled),
        }),
    })
}

/// keep: the value as it came, when it is of its declared kinds; anything else (another
/// kind, a nested value whose depth Python checks) goes to the Python action, which refuses
/// it or returns it
struct Keep {
    kinds: Vec<String>,
}
impl Keep {
    fn accepts(&self, kind: &str) -> bool {
        kind != "array" && kind != "object" && self.kinds.iter().any(|k| k == kind)
    }
}
impl NativeAction for Keep {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "float",
            Value::String(_) => "string",
            _ => return None,
        };
        self.accepts(kind).then(|| value.clone())
    }

    /// copied as it came when orjson would write these very bytes (a message key's bytes
    /// decide its partition)
    fn write_raw(&mut self, raw: &str, out: &mut Vec<u8>) -> bool {
        let copy = self.accepts(json::kind(raw))
            && (json::is_canonical(raw) || matches!(raw, "true" | "false" | "null"));
        if copy {
            out.extend_from_slice(raw.as_bytes());
        }
        copy
    }
}

struct Null;
impl NativeAction for Null {
    fn apply(&mut self, _: &Value) -> Option<Value> {
        Some(Value::Null)
    }
}

struct Redact {
    constant: Value,
    keep_null: bool,
}
impl NativeAction for Redact {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        Some(if value.is_null() && self.keep_null {
            Value::Null
        } else {
            self.constant.clone()
        })
    }
}

struct Pseudonymize {
    mac: Hmac<Sha256>,
    prefix: String,
    length: usize,
    normalize: Vec<Normalizer>,
    /// the prefix needs no JSON escaping, so pseudonyms can be written between quotes as is
    plain_prefix: bool,
    recent: Recent,
}

/// The last few pseudonyms written, by raw JSON token. An event carries the same id in its
/// key, its after image and often its before image, and each plan of a table's views writes
/// them again: 39 % of the reference mix's pseudonyms repeat one of the same event.
#[derive(Default)]
struct Recent {
    /// (raw token, written token), reused in turn so that a hit or a miss allocates nothing
    entries: [(Vec<u8>, Vec<u8>); RECENT],
    next: usize,
}

const RECENT: usize = 8;

impl Recent {
    /// Newest first (a repeat is mostly of the id just written); the last byte tells most
    /// tokens of one length apart before a full comparison.
    fn get(&self, raw: &[u8]) -> Option<&[u8]> {
        (1..=RECENT)
            .map(|back| &self.entries[(self.next + RECENT - back) % RECENT])
            .find(|(token, _)| token.last() == raw.last() && token.as_slice() == raw)
            .map(|(_, written)| written.as_slice())
    }

    fn put(&mut self, raw: &[u8], written: &[u8]) {
        let (token, out) = &mut self.entries[self.next];
        token.clear();
        token.extend_from_slice(raw);
        out.clear();
        out.extend_from_slice(written);
        self.next = (self.next + 1) % RECENT;
    }
}

/// No cache of all pseudonyms (only the few recent ones): with the key's inner and outer hash
/// state computed once, an HMAC is two SHA-256 blocks (SHA-NI), cheaper than a lookup in a
/// large map plus the memory that a run's distinct ids fill (measured on the reference mix:
/// 8 % faster without).
impl Pseudonymize {
    fn new(key_hex: &str, prefix: &str, length: usize, normalize: &[Normalizer]) -> Option<Self> {
        let key = decode_hex(key_hex)?;
        if key.is_empty() {
            return None; // describe-only plans have no key: Python refuses to apply them
        }
        Some(Self {
            mac: Hmac::new_from_slice(&key).ok()?,
            prefix: prefix.to_owned(),
            length: length.min(64),
            normalize: normalize.to_vec(),
            plain_prefix: prefix.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'),
            recent: Recent::default(),
        })
    }

    /// Append the prefix and the first `length` hex digits of the data's HMAC.
    fn write_pseudonym(&self, data: &[u8], out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut mac = self.mac.clone();
        mac.update(data);
        let digest = mac.finalize().into_bytes();
        out.extend_from_slice(self.prefix.as_bytes());
        for byte in &digest[..self.length.div_ceil(2)] {
            out.extend_from_slice(&[HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0x0f)]]);
        }
        out.truncate(out.len() - self.length % 2); // an odd length ends on a high nibble
    }

    fn pseudonym(&self, data: &[u8]) -> String {
        let mut out = Vec::with_capacity(self.prefix.len() + self.length);
        self.write_pseudonym(data, &mut out);
        // the prefix is a str and the digits are ASCII
        String::from_utf8(out).unwrap_or_default()
    }

    /// The pseudonym of a text; None when the normalisers must be Python's.
    fn write_text(&self, text: &str, out: &mut Vec<u8>) -> bool {
        match self.normalized(text) {
            Some(normal) => {
                self.write_pseudonym(normal.as_bytes(), out);
                true
            }
            None => false,
        }
    }

    /// The normalised text, when the rules' normalisers act on it exactly as Python's would.
    fn normalized<'t>(&self, text: &'t str) -> Option<Cow<'t, str>> {
        if self.normalize.is_empty() {
            return Some(Cow::Borrowed(text));
        }
        if !text.is_ascii() {
            return latin_normalized(text, &self.normalize).map(Cow::Owned);
        }
        // ASCII only: each rule works on the bytes in place, one copy in all
        let mut out = text.as_bytes().to_vec();
        let space = |b: &u8| PY_ASCII_SPACE.contains(&char::from(*b));
        for rule in &self.normalize {
            match rule {
                Normalizer::Strip => {
                    let end = out.iter().rposition(|b| !space(b)).map_or(0, |at| at + 1);
                    out.truncate(end);
                    let start = out.iter().position(|b| !space(b)).unwrap_or(0);
                    out.drain(..start);
                }
                Normalizer::Lower => out.make_ascii_lowercase(),
                Normalizer::Upper => out.make_ascii_uppercase(),
                Normalizer::Compact => out.retain(|b| !space(b)),
                Normalizer::Digits => out.retain(u8::is_ascii_digit),
            }
        }
        let out = String::from_utf8(out).ok()?; // ASCII in, ASCII out
        Some(Cow::Owned(out))
    }
}

/// Latin-1 letters and Latin Extended-A/B (umlauts, ß, accents, Turkish ı and İ): for these,
/// Rust's case mappings are Python's (`test_latin_letters_normalise_as_in_python` checks every
/// one), and none is whitespace or a digit to either. Other non-ASCII text: Python decides.
const LATIN_LETTERS: std::ops::RangeInclusive<char> = '\u{C0}'..='\u{24F}';
/// ... except ƛ, which has an uppercase letter since Unicode 16 (Rust), not in Python 3.11
const NEWER_CASE: [char; 1] = ['\u{19B}'];

fn ascii_or_latin(c: char) -> bool {
    c.is_ascii() || (LATIN_LETTERS.contains(&c) && !NEWER_CASE.contains(&c))
}

/// The normalised text of ASCII and Latin letters (see `LATIN_LETTERS`), else None.
fn latin_normalized(text: &str, rules: &[Normalizer]) -> Option<String> {
    if !text.chars().all(ascii_or_latin) {
        return None;
    }
    let space = |c: char| PY_ASCII_SPACE.contains(&c);
    let mut out = text.to_owned();
    for rule in rules {
        out = match rule {
            Normalizer::Strip => out.trim_matches(space).to_owned(),
            Normalizer::Lower => out.to_lowercase(),
            Normalizer::Upper => out.to_uppercase(),
            Normalizer::Compact => out.chars().filter(|c| !space(*c)).collect(),
            Normalizer::Digits => out.chars().filter(char::is_ascii_digit).collect(),
        };
    }
    Some(out)
}

impl NativeAction for Pseudonymize {
    fn write_raw(&mut self, raw: &str, out: &mut Vec<u8>) -> bool {
        if !self.plain_prefix {
            return false;
        }
        let bytes = raw.as_bytes();
        if let Some(written) = self.recent.get(bytes) {
            out.extend_from_slice(written);
            return true;
        }
        let start = out.len();
        out.push(b'"');
        let written = if bytes.len() >= 2 && bytes[0] == b'"' && !bytes.contains(&b'\\') {
            self.write_text(&raw[1..raw.len() - 1], out) // a string without escapes: as is
        } else if bytes.iter().all(|b| b.is_ascii_digit() || *b == b'-') {
            // an integer token: hashed as its decimal digits, as Python does
            match raw.parse::<i64>() {
                Ok(number) => {
                    self.write_pseudonym(number.to_string().as_bytes(), out);
                    true
                }
                Err(_) => false,
            }
        } else {
            false
        };
        if !written {
            out.truncate(start); // escapes, floats, big numbers …: `apply` on the parsed value
            return false;
        }
        out.push(b'"');
        self.recent.put(bytes, &out[start..]);
        true
    }

    fn apply(&mut self, value: &Value) -> Option<Value> {
        let pseudonym = match value {
            Value::Null => return Some(Value::Null),
            Value::String(text) => self.pseudonym(self.normalized(text)?.as_bytes()),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => self.pseudonym(i.to_string().as_bytes()),
                (None, Some(u)) => self.pseudonym(u.to_string().as_bytes()),
                _ => return None, // a float: Python refuses ids beyond 64 bits
            },
            Value::Bool(b) => self.pseudonym(if *b { b"true" } else { b"false" }),
            _ => return None,
        };
        Some(Value::String(pseudonym))
    }
}

struct Mask {
    first: usize,
    last: usize,
    fill: char,
    fixed: Option<usize>,
}
impl NativeAction for Mask {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        let text = match value {
            Value::Null => return Some(Value::Null),
            Value::String(text) => text,
            _ => return None, // Python's str() of a number or bool
        };
        let chars: Vec<char> = text.chars().collect();
        let n = chars.len();
        let shown = self.first + self.last;
        let fill = |count: usize| std::iter::repeat_n(self.fill, count);
        let out: String = if n <= shown {
            fill(self.fixed.unwrap_or(n)).collect()
        } else {
            chars[..self.first]
                .iter()
                .copied()
                .chain(fill(self.fixed.unwrap_or(n - shown)))
                .chain(chars[n - self.last..].iter().copied())
                .collect()
        };
        Some(Value::String(out))
    }
}

struct Truncate {
    keep: usize,
}
impl NativeAction for Truncate {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        match value {
            Value::Null => Some(Value::Null),
            Value::String(text) => Some(Value::String(text.chars().take(self.keep).collect())),
            _ => None,
        }
    }
}

struct EmailDomain;
impl NativeAction for EmailDomain {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        let Value::String(text) = value else {
            return Some(Value::Null);
        };
        let Some(at) = text.rfind('@') else {
            return Some(Value::Null);
        };
        let domain = &text[at + 1..];
        if domain.is_empty() {
            return Some(Value::Null);
        }
        if !domain.is_ascii() {
            return None;
        }
        Some(Value::String(
            domain
                .trim_matches(&PY_ASCII_SPACE[..])
                .to_ascii_lowercase(),
        ))
    }
}

/// generalize, encoding date: days since the epoch → first day of the year or month
struct Days {
    level: Level,
}
impl NativeAction for Days {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        if value.is_null() {
            return Some(Value::Null);
        }
        let days = value.as_i64()?;
        civil::coarsen(days, self.level).map(Value::from)
    }
}

/// generalize, encodings micro_timestamp and milli_timestamp (coarsened as micros, like Python)
struct Micros {
    level: Level,
    millis: bool,
    /// |raw| below the first (not 0) or above the second is another unit: Python refuses it
    implausible: (i64, i64),
}
impl NativeAction for Micros {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        if value.is_null() {
            return Some(Value::Null);
        }
        let raw = value.as_i64()?;
        if raw == i64::MIN || raw == i64::MAX {
            return Some(value.clone()); // PostgreSQL's -infinity/infinity: says nothing
        }
        let (near, far) = self.implausible;
        let size = raw.unsigned_abs();
        if (raw != 0 && size < near as u64) || size > far as u64 {
            return None; // another unit than declared: Python dead-letters it
        }
        let micros = if self.millis {
            raw.checked_mul(1000)?
        } else {
            raw
        };
        let level = self.level;
        let coarse = if !self.millis && (level == Level::Hour || level == Level::Day) {
            // Python does hours and days of micro-timestamps as plain integer arithmetic
            let unit = if level == Level::Hour {
                MICROS_PER_HOUR
            } else {
                MICROS_PER_DAY
            };
            micros.checked_sub(micros.rem_euclid(unit))?
        } else {
            let day = micros.div_euclid(MICROS_PER_DAY);
            if !civil::in_range(day) {
                return None; // Python's datetime refuses it: its error, its message
            }
            match level {
                Level::Hour => micros - micros.rem_euclid(MICROS_PER_HOUR),
                _ => civil::coarsen(day, level)?.checked_mul(MICROS_PER_DAY)?,
            }
        };
        Some(Value::from(if self.millis {
            coarse.div_euclid(1000)
        } else {
            coarse
        }))
    }
}

struct BucketNumber {
    size: f64,
    integral: bool,
}
impl NativeAction for BucketNumber {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        let Value::Number(n) = value else {
            return if value.is_null() {
                Some(Value::Null)
            } else {
                None
            };
        };
        let is_int = n.is_i64() || n.is_u64();
        let low = (n.as_f64()? / self.size).floor() * self.size;
        if !low.is_finite() {
            return None;
        }
        if self.integral && is_int {
            return (low.abs() < 9.2e18).then(|| Value::from(low as i64));
        }
        Number::from_f64(low).map(Value::Number)
    }
}

/// generalize to a bucket of a Debezium Decimal (base64 two's complement, scale from the rules)
struct BucketDecimal {
    width: i128,
}
impl NativeAction for BucketDecimal {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        let text = match value {
            Value::Null => return Some(Value::Null),
            Value::String(text) => text,
            _ => return None,
        };
        let raw = STANDARD.decode(text).ok()?;
        if raw.len() > 16 {
            return None;
        }
        let mut buf = [if raw.first().is_some_and(|b| b & 0x80 != 0) {
            0xff
        } else {
            0
        }; 16];
        buf[16 - raw.len()..].copy_from_slice(&raw);
        let unscaled = i128::from_be_bytes(buf);
        // within 28 significant digits Python's Decimal division is exact enough to floor alike
        if unscaled.unsigned_abs() >= 10u128.pow(18) || self.width <= 0 || self.width >= 100_000_000
        {
            return None;
        }
        let low = unscaled.div_euclid(self.width) * self.width;
        let bits = 128 - low.unsigned_abs().leading_zeros() as usize;
        let length = ((bits + 8) / 8).max(1);
        Some(Value::String(
            STANDARD.encode(&low.to_be_bytes()[16 - length..]),
        ))
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{NativeAction, Pseudonymize, RECENT};

    #[test]
    fn a_recent_pseudonym_is_written_again_and_the_oldest_is_forgotten() {
        let mut action = Pseudonymize::new("0badc0de", "k1:", 8, &[]).unwrap();
        let write = |action: &mut Pseudonymize, raw: &str| {
            let mut out = b"x".to_vec();
            assert!(action.write_raw(raw, &mut out));
            String::from_utf8(out).unwrap()
        };
        let first = write(&mut action, "42");
        assert!(first.starts_with("x\"k1:") && first.len() == 1 + 2 + 3 + 8);
        assert_eq!(write(&mut action, "42"), first); // from the recent ones
        assert_eq!(action.recent.get(b"42"), Some(&first.as_bytes()[1..]));
        for id in 0..RECENT {
            write(&mut action, &id.to_string());
        }
        assert_eq!(action.recent.get(b"42"), None);
        assert_eq!(write(&mut action, "42"), first); // computed again, the same
        assert_eq!(write(&mut action, "\"42\""), first); // as Python: 42 and "42" alike
        assert_ne!(write(&mut action, "43"), first);
    }
}
