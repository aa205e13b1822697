//! pseudonymize: keyed HMAC-SHA256 per domain (`actions/pseudonymize.py`).

use super::NativeAction;
use super::PY_ASCII_SPACE;
use crate::spec::Normalizer;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::borrow::Cow;

pub(crate) struct Pseudonymize {
    pub(crate) mac: Hmac<Sha256>,
    pub(crate) prefix: String,
    pub(crate) length: usize,
    pub(crate) normalize: Vec<Normalizer>,
    /// the prefix needs no JSON escaping, so pseudonyms can be written between quotes as is
    pub(crate) plain_prefix: bool,
    pub(crate) recent: Recent,
}

/// The last few pseudonyms written, by raw JSON token. An event carries the same id in its
/// key, its after image and often its before image, and each plan of a table's views writes
/// them again: 39 % of the reference mix's pseudonyms repeat one of the same event.
#[derive(Default)]
pub(crate) struct Recent {
    /// (raw token, written token), reused in turn so that a hit or a miss allocates nothing
    pub(crate) entries: [(Vec<u8>, Vec<u8>); RECENT],
    pub(crate) next: usize,
}

pub(crate) const RECENT: usize = 8;

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
    pub(crate) fn new(
        key_hex: &str,
        prefix: &str,
        length: usize,
        normalize: &[Normalizer],
    ) -> Option<Self> {
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
pub(crate) const LATIN_LETTERS: std::ops::RangeInclusive<char> = '\u{C0}'..='\u{24F}';
/// ... except ƛ, which has an uppercase letter since Unicode 16 (Rust), not in Python 3.11
pub(crate) const NEWER_CASE: [char; 1] = ['\u{19B}'];

pub(crate) fn ascii_or_latin(c: char) -> bool {
    c.is_ascii() || (LATIN_LETTERS.contains(&c) && !NEWER_CASE.contains(&c))
}

/// The normalised text of ASCII and Latin letters (see `LATIN_LETTERS`), else None.
pub(crate) fn latin_normalized(text: &str, rules: &[Normalizer]) -> Option<String> {
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

pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
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
