//! scrub in the core: the recognizers' own patterns find the candidates here, and each
//! recognizer's Python `confirm` (python-stdnum, phonenumbers) still decides every candidate.
//!
//! The patterns are Python's (`Recognizer.pattern`), compiled with the `regex` crate. Both
//! engines find the same matches as long as `\w`, `\d`, `\b` and case folding mean the same
//! in both, which holds for the characters that `same_classes` admits (ASCII, Latin-1 and
//! Latin Extended-A letters, general punctuation, the euro sign; the Turkish İ and ı through a
//! shadow text, see `turkish_i_as_long_s`); text with any other character goes to the Python
//! action whole.

use hashbrown::{HashMap, HashSet};
use pyo3::prelude::*;
use regex::{Regex, RegexSet};
use serde_json::Value;

use super::NativeAction;
use crate::json;
use crate::names::NameSet;
use crate::spec::RecognizerSpec;

const CACHE_SIZE: usize = 65_536;

struct Recognizer {
    pattern: Regex,
    /// a text without it holds no finding
    required: Option<String>,
    /// the gate (index into `Scrub::gates`) that a text with a finding passes
    required_any: Option<usize>,
    /// a finding has at least this many digits
    min_digits: usize,
    /// the Python `Recognizer.confirm` (None: every match is a finding)
    confirm: Option<PyObject>,
    /// its answers by candidate: the same IBAN or phone number turns up in many notes, and a
    /// lookup here costs far less than a call of the validator
    confirmed: HashMap<String, Option<(usize, usize)>>,
    /// a finding is always the whole match: `confirm` only says yes or no
    whole: bool,
    replacement: String,
}

impl Recognizer {
    /// `confirm`'s answer for a candidate, remembered; None when the callback failed.
    fn answer(&mut self, py: Python<'_>, candidate: &str) -> Option<Option<(usize, usize)>> {
        if let Some(answer) = self.confirmed.get(candidate) {
            return Some(*answer);
        }
        if self.confirm.is_none() {
            return Some(Some((0, candidate.len())));
        }
        let answer = confirm(py, self.confirm.as_ref(), candidate)?;
        if self.confirmed.len() >= CACHE_SIZE {
            self.confirmed.clear();
        }
        self.confirmed.insert(candidate.to_owned(), answer);
        Some(answer)
    }
}

/// the recognizer index of a known name's finding
const NAMES: usize = usize::MAX;

pub struct Scrub {
    recognizers: Vec<Recognizer>,
    /// the distinct `required_any` patterns, scanned together in one pass over a text
    gates: RegexSet,
    /// texts holding one of these, or a match of `defer_pattern`, are read normalised by
    /// Python's recognizers (`processor/pii/normalize.py`): the core leaves them to Python
    defer_chars: HashSet<char>,
    defer_pattern: Option<Regex>,
    /// the known names and what a finding of one becomes
    names: Option<(Py<NameSet>, String)>,
    /// the names' generation that the cache was filled under
    cache_generation: u64,
    /// scrubbed texts by text: an update carries the same text in its before and after image
    cache: HashMap<String, String>,
}

impl Scrub {
    /// None when a pattern does not compile here (Python regex syntax that `regex` lacks) or a
    /// confirm callback is missing: then the Python action does all the scrubbing.
    pub fn new(
        specs: &[RecognizerSpec],
        helpers: &[PyObject],
        defer_chars: &str,
        defer_pattern: Option<&str>,
        names: Option<&(usize, String)>,
    ) -> Option<Self> {
        // recognizers that share a gate (the two salutation recognizers) share its scan
        let mut gates: Vec<String> = Vec::new();
        let recognizers = specs
            .iter()
            .map(|spec| {
                let flags = if spec.ignore_case { "(?i)" } else { "" };
                let confirm = match spec.confirm {
                    Some(index) => Some(Python::with_gil(|py| {
                        helpers.get(index).map(|f| f.clone_ref(py))
                    })?),
                    None => None,
                };
                Some(Recognizer {
                    pattern: Regex::new(&format!("{flags}{}", spec.pattern)).ok()?,
                    required: spec.required.clone(),
                    required_any: spec.required_any.as_ref().map(|p| {
                        gates.iter().position(|g| g == p).unwrap_or_else(|| {
                            gates.push(p.clone());
                            gates.len() - 1
                        })
                    }),
                    min_digits: spec.min_digits,
                    confirm,
                    confirmed: HashMap::new(),
                    whole: spec.whole,
                    replacement: spec.replacement.clone(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let defer_pattern = match defer_pattern {
            Some(pattern) => Some(Regex::new(&format!("(?i){pattern}")).ok()?),
            None => None,
        };
        let names = match names {
            Some((index, replacement)) => Some(Python::with_gil(|py| {
                let set = helpers.get(*index)?.bind(py).downcast::<NameSet>().ok()?;
                Some((set.clone().unbind(), replacement.clone()))
            })?),
            None => None,
        };
        Some(Self {
            recognizers,
            gates: RegexSet::new(&gates).ok()?,
            defer_chars: defer_chars.chars().collect(),
            defer_pattern,
            names,
            cache_generation: 0,
            cache: HashMap::new(),
        })
    }

    /// The scrubbed text, from the cache or scrubbed and cached.
    fn scrubbed(&mut self, text: &str) -> Option<&str> {
        if let Some((names, _)) = &self.names {
            let generation = Python::with_gil(|py| names.borrow(py).generation());
            if generation != self.cache_generation {
                self.cache.clear();
                self.cache_generation = generation;
            }
        }
        if !self.cache.contains_key(text) {
            let scrubbed = Python::with_gil(|py| self.scrub(py, text))?;
            if self.cache.len() >= CACHE_SIZE {
                self.cache.clear();
            }
            self.cache.insert(text.to_owned(), scrubbed);
        }
        self.cache.get(text).map(String::as_str)
    }

    /// The scrubbed text, or None: a character outside `same_classes`, or a confirm that
    /// failed (the Python action then decides, and raises the same way if it must).
    fn scrub(&mut self, py: Python<'_>, text: &str) -> Option<String> {
        if !text.is_ascii() && text.chars().any(|c| self.defer_chars.contains(&c)) {
            return None;
        }
        if self
            .defer_pattern
            .as_ref()
            .is_some_and(|p| p.is_match(text))
        {
            return None;
        }
        let digits = text.chars().filter(|c| c.is_numeric()).count();
        let passed = self.gates.matches(text);
        let active: Vec<usize> = self
            .recognizers
            .iter()
            .enumerate()
            .filter(|(_, d)| digits >= d.min_digits)
            .filter(|(_, d)| {
                d.required
                    .as_ref()
                    .is_none_or(|r| text.contains(r.as_str()))
            })
            .filter(|(_, d)| d.required_any.is_none_or(|gate| passed.matched(gate)))
            .map(|(index, _)| index)
            .collect();
        // a character that the patterns class otherwise than Python: Python decides, also
        // where no gate passed here, as Python reads the text normalised (the Kelvin sign is
        // a K there: `A.-\u{212A}. Nowak` holds a name that no gate saw in this text)
        let shadow = turkish_i_as_long_s(text)?;
        // known names: found by the set (the words are cut from the text itself)
        let named = match &self.names {
            Some((names, _)) => names.borrow(py).find(text)?,
            None => Vec::new(),
        };
        if active.is_empty() && named.is_empty() {
            return Some(text.to_owned());
        }
        let haystack = shadow.as_deref().unwrap_or(text);
        // (start, end, recognizer, asked) in bytes; Python sorts by characters, which orders
        // alike. A whole-match candidate goes in unasked, at the span it would have: it is
        // asked only if no earlier finding covers it (an IBAN's digits look like a card number
        // and hold a phone-like run; an answer that cannot change the output is not needed)
        let mut spans: Vec<(usize, usize, usize, bool)> = Vec::new();
        for index in active {
            let recognizer = &mut self.recognizers[index];
            if recognizer.whole {
                let found = recognizer.pattern.find_iter(haystack);
                spans.extend(found.map(|m| (m.start(), m.end(), index, false)));
                continue;
            }
            // as Python's `Recognizer.find`: after a finding cut short, the search goes on
            // from its end (the words after it may begin a candidate of their own)
            let mut at = 0;
            while let Some(m) = recognizer.pattern.find_at(haystack, at) {
                let (from, to) = (m.start(), m.end());
                // (no pattern matches empty; if one did, the search moves on a character)
                at = if to > from {
                    to
                } else {
                    to + haystack[to..].chars().next().map_or(1, char::len_utf8)
                };
                if let Some((start, end)) = recognizer.answer(py, &text[from..to])? {
                    spans.push((from + start, from + end, index, true));
                    if 0 < end && from + end < to {
                        at = from + end;
                    }
                }
                if at > haystack.len() {
                    break;
                }
            }
        }
        // after every pattern recognizer, as Python lists the kinds
        spans.extend(
            named
                .into_iter()
                .map(|(start, end)| (start, end, NAMES, true)),
        );
        if spans.is_empty() {
            return Some(text.to_owned());
        }
        // stable, like Python's sort
        spans.sort_by_key(|&(start, end, _, _)| (start, std::cmp::Reverse(end)));
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (start, end, index, asked) in spans {
            if start < last {
                continue; // overlaps the finding before it
            }
            if index == NAMES {
                let (_, replacement) = self.names.as_ref()?;
                out.push_str(&text[last..start]);
                out.push_str(replacement);
                last = end;
                continue;
            }
            let recognizer = &mut self.recognizers[index];
            if !asked {
                let candidate = &text[start..end];
                match recognizer.answer(py, candidate)? {
                    None => continue,
                    Some(span) if span == (0, candidate.len()) => {}
                    Some(_) => return None, // not the whole match after all: Python decides
                }
            }
            out.push_str(&text[last..start]);
            out.push_str(&recognizer.replacement);
            last = end;
        }
        out.push_str(&text[last..]);
        Some(out)
    }
}

/// The finding's byte span within a candidate: Some(None) for "not a finding", None when the
/// Python confirm failed or answered something else than a span inside the candidate.
fn confirm(
    py: Python<'_>,
    callback: Option<&PyObject>,
    candidate: &str,
) -> Option<Option<(usize, usize)>> {
    let Some(callback) = callback else {
        return Some(Some((0, candidate.len())));
    };
    let answer = callback.call1(py, (candidate,)).ok()?;
    let (start, end) = match answer.extract::<Option<(usize, usize)>>(py).ok()? {
        Some(span) => span,
        None => return Some(None),
    };
    // Python's offsets count characters
    let mut bytes = candidate
        .char_indices()
        .map(|(at, _)| at)
        .chain([candidate.len()]);
    let start_byte = bytes.clone().nth(start)?;
    let end_byte = bytes.nth(end)?;
    (start <= end).then_some(Some((start_byte, end_byte)))
}

impl NativeAction for Scrub {
    /// A text without escapes is scrubbed as it sits in the event, with no parsing.
    fn write_raw(&mut self, raw: &str, out: &mut Vec<u8>) -> bool {
        let bytes = raw.as_bytes();
        if bytes.len() < 2 || bytes[0] != b'"' || bytes.contains(&b'\\') {
            return false;
        }
        match self.scrubbed(&raw[1..raw.len() - 1]) {
            Some(scrubbed) => {
                json::write_str(out, scrubbed);
                true
            }
            None => false,
        }
    }

    fn apply(&mut self, value: &Value) -> Option<Value> {
        let Value::String(text) = value else {
            return Some(Value::Null); // Python: null stays null, a non-text value becomes null
        };
        self.scrubbed(text).map(|s| Value::String(s.to_owned()))
    }
}

/// The text for the patterns to search: None when a character is not admitted
/// (`same_classes`), Some(None) when the text itself will do, and Some(shadow) for a text with
/// the Turkish İ or ı (Yılmaz, the commonest Turkish surname). Python's `(?i)[A-Z]` matches
/// them, the `regex` crate's does not; it matches ſ, which is, like them, a two-byte letter
/// to `\w` in both. So the patterns find in the shadow, at the same byte offsets, what
/// Python finds in the text; the candidates that `confirm` gets are cut from the text.
fn turkish_i_as_long_s(text: &str) -> Option<Option<String>> {
    let turkish = |c: char| c == '\u{130}' || c == '\u{131}';
    let mut found = false;
    for c in text.chars() {
        found |= turkish(c);
        if !same_classes(c) && !turkish(c) {
            return None;
        }
    }
    Some(found.then(|| text.replace(turkish, "\u{17F}")))
}

/// Characters that Python's `re` and the `regex` crate class alike for these patterns: the
/// same answer for `\w`, `\d` (hence `\b`) and `(?i)[A-Z]`. Left out on purpose: superscript
/// digits and vulgar fractions (`\w` in Python only), the joiners U+200C/D and the connector
/// punctuation U+203F/40/54 (`\w` in `regex` only), and İ ı ſ (special case folding; İ and ı
/// are searched as ſ instead, see `turkish_i_as_long_s`).
fn same_classes(c: char) -> bool {
    match c {
        '\0'..='\u{7F}' => true,
        '\u{B2}' | '\u{B3}' | '\u{B9}' | '\u{BC}'..='\u{BE}' => false,
        '\u{A0}'..='\u{FF}' => true,
        '\u{130}' | '\u{131}' | '\u{17F}' => false,
        '\u{100}'..='\u{17E}' => true,
        '\u{200C}' | '\u{200D}' | '\u{203F}' | '\u{2040}' | '\u{2054}' => false,
        '\u{2000}'..='\u{205E}' => true,
        '\u{20AC}' => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::same_classes;
    use regex::Regex;

    #[test]
    fn admitted_characters_are_classed_like_python() {
        // what the Python side holds for the same characters (Python's `\w` is `str.isalnum()
        // or "_"`): letters, digits and `_` are word characters, only ASCII digits are `\d`;
        // tests/masking/test_native_scrub.py checks both engines' scrub output on each of them
        let word = Regex::new(r"^\w$").unwrap();
        let digit = Regex::new(r"^\d$").unwrap();
        for c in (0..=0x20AC_u32)
            .filter_map(char::from_u32)
            .filter(|&c| same_classes(c))
        {
            let text = c.to_string();
            let python_word = c.is_alphanumeric() || c == '_';
            assert_eq!(
                word.is_match(&text),
                python_word,
                "\\w of U+{:04X}",
                c as u32
            );
            assert_eq!(
                digit.is_match(&text),
                c.is_ascii_digit(),
                "\\d of U+{:04X}",
                c as u32
            );
        }
    }
}
