//! The CRM's known names as keyed token hashes (`processor/pii/names.py`), shared by both
//! engines: Python builds the set with the folding table, the word pattern and the particles
//! that its own `fold` uses, so a token hashes alike here and there.

use blake2::digest::consts::U8;
use blake2::digest::Mac;
use blake2::Blake2bMac;
use std::hash::BuildHasher;

use hashbrown::{HashMap, HashSet};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use regex::Regex;

/// keyed BLAKE2b with an 8-byte digest, as Python's `hashlib.blake2b(digest_size=8, key=…)`
type TokenMac = Blake2bMac<U8>;

#[pyclass(module = "crm_masker_native")]
pub struct NameSet {
    mac: TokenMac,
    hashes: HashSet<u64>,
    /// every non-ASCII character that the core may fold, and what it folds to
    fold: HashMap<char, String>,
    particles: HashSet<String>,
    /// a word after one of these (lower case) is a noun, not a name
    not_before: HashSet<String>,
    /// the longest particle and `not_before` word, in bytes (shortcuts)
    longest_particle: usize,
    longest_not_before: usize,
    word: Regex,
    min_token: usize,
    /// the folded lengths of a word whose slips are tried (Python's `MIN_TYPO`, `MAX_TYPO`)
    typo: (usize, usize),
    /// an umlaut typed without its mark: the letters (ASCII) whose umlaut folds to them and
    /// the mark (Python's `UMLAUT_BASES`, `UMLAUT_MARK`)
    umlaut_bases: Vec<u8>,
    umlaut_mark: u8,
    /// a text typed in lower case (Python's `MIN_LOWER`, `SENTENCE_ENDS`, `LOWER_NOT_NAMES`):
    /// the letters a lower-case name has at least, what ends a sentence, and the lower-case
    /// words that are never names there (folded)
    min_lower: usize,
    sentence_ends: Vec<u8>,
    lower_not_names: HashSet<String>,
    /// how many hashes were new when added: a cache of scrubbed texts is valid for one
    /// generation only (a name learnt later must be found in a text seen before)
    #[pyo3(get)]
    generation: u64,
    /// a prefilter over the folded tokens that this set folded itself, under a random seed
    /// of this process: a word whose bit is clear is no known token, without the keyed hash
    /// (most capitalised words of German text are nouns). Tokens that only Python could fold
    /// come back from Python with `add_tokens`: a text may spell them in letters that the core
    /// folds (Nguyễn as Nguyen).
    seen: Vec<u64>,
    seed: hashbrown::DefaultHashBuilder,
    /// a prefilter for the slips (`mistyped`): the bits of the tokens' letter sums. A sum of
    /// a random weight per byte does not change when letters swap, and changes by a letter's
    /// weight when one is doubled or added: one bit answers for all swaps of a word, one per
    /// letter for the rest, before any slip is spelt out and hashed
    letter_sums: Vec<u64>,
    weights: [u64; 256],
    /// values whose tokens are all in (a name comes by again with each change of its row,
    /// and in both images of an update): added once, until the cache is full. Held as two
    /// hashes under this process's random seeds, not as text: the set keeps no name.
    added: HashSet<(u64, u64)>,
    added_seed: hashbrown::DefaultHashBuilder,
}

/// a random weight per byte, drawn under this process's random seed (`letter_sums`)
fn random_weights() -> [u64; 256] {
    let seed = hashbrown::DefaultHashBuilder::default();
    std::array::from_fn(|b| seed.hash_one(b))
}

/// the bit of a letter sum (the sum's high bits, mixed: sums of few weights are not uniform
/// in their low bits alone)
fn bit_of_sum(sum: u64) -> u64 {
    (sum.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % SEEN_BITS
}

/// How a word may be read as a known name besides its fold (Python's `names.READING`): the
/// slips of a typed name, and a text typed in lower case.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct Reading {
    min_typo: usize,
    max_typo: usize,
    umlaut_bases: String,
    umlaut_mark: char,
    min_lower: usize,
    sentence_ends: String,
    lower_not_names: Vec<String>,
}

/// the values that `added` holds at most before it starts again
const ADDED_MAX: usize = 65_536;

const SEEN_BITS: u64 = 1 << 20;

#[pymethods]
impl NameSet {
    #[new]
    fn py_new(
        key: &[u8],
        fold: std::collections::HashMap<char, String>,
        particles: Vec<String>,
        not_before: Vec<String>,
        word: &str,
        min_token: usize,
        reading: Reading,
    ) -> PyResult<Self> {
        let Reading {
            min_typo,
            max_typo,
            umlaut_bases,
            umlaut_mark,
            min_lower,
            sentence_ends,
            lower_not_names,
        } = reading;
        if !umlaut_bases.is_ascii() || !umlaut_mark.is_ascii() || !sentence_ends.is_ascii() {
            return Err(PyValueError::new_err("umlaut letters and sentence ends must be ASCII"));
        }
        Ok(Self {
            mac: TokenMac::new_from_slice(key).map_err(|_| PyValueError::new_err("bad key"))?,
            hashes: HashSet::new(),
            fold: fold.into_iter().collect(),
            longest_particle: particles.iter().map(String::len).max().unwrap_or(0),
            longest_not_before: not_before.iter().map(String::len).max().unwrap_or(0),
            particles: particles.into_iter().collect(),
            not_before: not_before.into_iter().collect(),
            word: Regex::new(word).map_err(|_| PyValueError::new_err("bad word pattern"))?,
            min_token,
            typo: (min_typo, max_typo),
            umlaut_bases: umlaut_bases.into_bytes(),
            umlaut_mark: umlaut_mark as u8,
            min_lower,
            sentence_ends: sentence_ends.into_bytes(),
            lower_not_names: lower_not_names.into_iter().collect(),
            generation: 0,
            seen: vec![0; (SEEN_BITS / 64) as usize],
            seed: hashbrown::DefaultHashBuilder::default(),
            letter_sums: vec![0; (SEEN_BITS / 64) as usize],
            weights: random_weights(),
            added: HashSet::new(),
            added_seed: hashbrown::DefaultHashBuilder::default(),
        })
    }

    /// Add the tokens of names' values; the values with a character this set cannot fold
    /// come back (Python adds their tokens' hashes with `add_hashes`).
    fn add_values(&mut self, values: Vec<String>) -> Vec<String> {
        values
            .into_iter()
            .filter(|value| self.add_value(value).is_none())
            .collect()
    }

    /// Add tokens that Python folded (of the values that `add_values` gave back): with their
    /// prefilter bits, so that the core finds them too where a text spells them in letters it
    /// folds itself (Nguyễn learnt, ``Rückruf Nguyen`` in a note).
    fn add_tokens(&mut self, tokens: Vec<String>) {
        for folded in tokens {
            self.add_token(&folded);
        }
    }

    fn add_hashes(&mut self, hashes: Vec<u64>) {
        for hash in hashes {
            self.insert(hash);
        }
    }

    fn contains_hash(&self, hash: u64) -> bool {
        self.hashes.contains(&hash)
    }

    /// Whether a folded token is known: its prefilter bit, then its keyed hash here (Python's
    /// engine asks this rather than hashing every capitalised word itself).
    fn contains_token(&self, folded: &str) -> bool {
        self.known(folded.as_bytes())
    }

    /// Whether one slip of the keyboard made this word of a known token (`mistyped`, behind
    /// the letter-sum prefilter); None: a letter this set cannot fold (Python decides).
    fn mistyped_token(&self, word: &str) -> Option<bool> {
        let folded = self.folded(word)?;
        Some(if word.is_ascii() {
            self.mistyped_ascii(folded.as_bytes())
        } else {
            self.mistyped_word(word, &folded)
        })
    }

    fn __len__(&self) -> usize {
        self.hashes.len()
    }
}

impl NameSet {
    fn insert(&mut self, hash: u64) {
        if self.hashes.insert(hash) {
            self.generation += 1;
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The word folded as Python's `fold` does; None: a character the table does not hold.
    fn folded(&self, word: &str) -> Option<String> {
        if word.is_ascii() {
            return Some(word.to_ascii_lowercase());
        }
        let mut out = String::with_capacity(word.len() + 2);
        for c in word.chars() {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.push_str(self.fold.get(&c)?);
            }
        }
        Some(out)
    }

    fn hash(&self, folded: &[u8]) -> u64 {
        let mut mac = self.mac.clone();
        mac.update(folded);
        let digest = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }

    fn counts(&self, folded: &str) -> bool {
        folded.chars().count() >= self.min_token && !self.particles.contains(folded)
    }

    fn not_before_word(&self, word: &str) -> bool {
        word.len() <= self.longest_not_before && self.not_before.contains(&word.to_lowercase())
    }

    /// Add the tokens of a name column's value; None: a token this set cannot fold (Python
    /// adds that one; the others are added here, with their prefilter bits).
    pub fn add_value(&mut self, value: &str) -> Option<()> {
        let seen_value = (self.seed.hash_one(value), self.added_seed.hash_one(value));
        if self.added.contains(&seen_value) {
            return Some(());
        }
        let mut found = Vec::new();
        let mut complete = true;
        for m in self.word.find_iter(value) {
            match self.folded(m.as_str()) {
                Some(folded) if self.counts(&folded) => found.push(folded),
                Some(_) => {}
                None => complete = false,
            }
        }
        for folded in found {
            self.add_token(&folded);
        }
        if !complete {
            return None;
        }
        if self.added.len() >= ADDED_MAX {
            self.added.clear();
        }
        self.added.insert(seen_value);
        Some(())
    }

    /// A folded token: its hash, its prefilter bit and its letter sum's bit.
    fn add_token(&mut self, folded: &str) {
        let bit = self.bit(folded.as_bytes());
        self.seen[(bit / 64) as usize] |= 1 << (bit % 64);
        let sum = bit_of_sum(self.letter_sum(folded.as_bytes()));
        self.letter_sums[(sum / 64) as usize] |= 1 << (sum % 64);
        self.insert(self.hash(folded.as_bytes()));
    }

    fn letter_sum(&self, bytes: &[u8]) -> u64 {
        bytes
            .iter()
            .fold(0u64, |sum, &b| sum.wrapping_add(self.weights[b as usize]))
    }

    /// Whether a token of this letter sum may be known (no: none is).
    fn sum_seen(&self, sum: u64) -> bool {
        let bit = bit_of_sum(sum);
        self.letter_sums[(bit / 64) as usize] & (1 << (bit % 64)) != 0
    }

    fn bit(&self, folded: &[u8]) -> u64 {
        self.seed.hash_one(folded) % SEEN_BITS
    }

    /// Whether the folded token is known: its prefilter bit, then its keyed hash.
    fn known(&self, folded: &[u8]) -> bool {
        let bit = self.bit(folded);
        self.seen[(bit / 64) as usize] & (1 << (bit % 64)) != 0
            && self.hashes.contains(&self.hash(folded))
    }

    /// Whether one slip of the keyboard made a word of these folded letters of a known token:
    /// Python's `typo_sources` (two neighbouring letters swapped, a letter doubled or
    /// undoubled, an umlaut without its mark in a longer word; the first letter stays), over
    /// a word's bytes or the folds of its letters.
    fn mistyped<T: Copy + PartialEq>(
        &self,
        letters: &[T],
        mark: T,
        is_base: impl Fn(T) -> bool,
        weight: impl Fn(T) -> u64,
        mut known: impl FnMut(&[T]) -> bool,
    ) -> bool {
        let n = letters.len();
        if n < self.typo.0 || n > self.typo.1 {
            return false;
        }
        let sum = letters
            .iter()
            .fold(0u64, |sum, &letter| sum.wrapping_add(weight(letter)));
        let mut source: Vec<T> = Vec::new(); // allocated when a slip is spelt out
        if self.sum_seen(sum) {
            for i in 1..n - 1 {
                if letters[i] != letters[i + 1] {
                    source.clear();
                    source.extend_from_slice(letters);
                    source.swap(i, i + 1);
                    if known(&source) {
                        return true;
                    }
                }
            }
        }
        let with_mark = self.sum_seen(sum.wrapping_add(weight(mark)));
        for i in 1..n {
            source.clear();
            if letters[i] == letters[i - 1] {
                if self.sum_seen(sum.wrapping_sub(weight(letters[i]))) {
                    source.extend_from_slice(&letters[..i]);
                    source.extend_from_slice(&letters[i + 1..]);
                }
            } else if (i + 1 == n || letters[i + 1] != letters[i])
                && self.sum_seen(sum.wrapping_add(weight(letters[i])))
            {
                source.extend_from_slice(&letters[..=i]);
                source.extend_from_slice(&letters[i..]);
            }
            if !source.is_empty() && known(&source) {
                return true;
            }
            if with_mark
                && n > self.typo.0
                && is_base(letters[i])
                && (i + 1 == n || letters[i + 1] != mark)
            {
                source.clear();
                source.extend_from_slice(&letters[..=i]);
                source.push(mark);
                source.extend_from_slice(&letters[i + 1..]);
                if known(&source) {
                    return true;
                }
            }
        }
        false
    }

    /// `mistyped` for a lower-case ASCII word.
    fn mistyped_ascii(&self, folded: &[u8]) -> bool {
        self.mistyped(
            folded,
            self.umlaut_mark,
            |b| self.umlaut_bases.contains(&b),
            |b| self.weights[b as usize],
            |source| self.known(source),
        )
    }

    /// `mistyped` for a word and its fold: the fold cut into its letters' folds.
    fn mistyped_word(&self, word: &str, folded: &str) -> bool {
        let n = word.chars().count();
        if n < self.typo.0 || n > self.typo.1 {
            return false;
        }
        let mut letters: Vec<&str> = Vec::with_capacity(n);
        let mut at = 0;
        for c in word.chars() {
            let len = if c.is_ascii() { 1 } else { self.fold.get(&c).map_or(0, String::len) };
            letters.push(&folded[at..at + len]);
            at += len;
        }
        let mut mark = [0u8; 4];
        let mark: &str = char::from(self.umlaut_mark).encode_utf8(&mut mark);
        let mut spelt = String::new();
        self.mistyped(
            &letters,
            mark,
            |letter| letter.len() == 1 && self.umlaut_bases.contains(&letter.as_bytes()[0]),
            |letter| self.letter_sum(letter.as_bytes()),
            |source| {
                spelt.clear();
                source.iter().for_each(|letter| spelt.push_str(letter));
                self.known(spelt.as_bytes())
            },
        )
    }

    /// Byte spans of the capitalised words of `text` that are known names (or are one with a
    /// possessive `s`, or one mistyped); None: a word the core cannot fold.
    pub fn find(&self, text: &str) -> Option<Vec<(usize, usize)>> {
        let mut spans = Vec::new();
        if self.hashes.is_empty() {
            return Some(spans);
        }
        let mut previous = "";
        // a text typed in lower case: its lower-case words are read at the end, if no
        // title-case word stood but at a sentence's start (Python's `find`)
        let mut lower_case = true;
        let mut lower_words: Vec<(usize, usize, &str)> = Vec::new();
        for m in self.word.find_iter(text) {
            let word = m.as_str();
            let after = std::mem::replace(&mut previous, word);
            let mut chars = word.chars();
            let Some(first) = chars.next() else { continue };
            if !first.is_uppercase() {
                if lower_case && first.is_lowercase() && word.chars().count() >= self.min_lower
                {
                    lower_words.push((m.start(), m.end(), after));
                }
                continue;
            }
            if lower_case
                && chars.next().is_some_and(char::is_lowercase)
                && !self.at_sentence_start(text, m.start())
            {
                lower_case = false;
            }
            if word.chars().count() < self.min_token {
                continue;
            }
            if word.is_ascii()
                && word.len() > self.longest_particle
                && word.len() <= 64
                && !word.ends_with(['s', 'S'])
            {
                // the common case, without allocating (no particle, no possessive)
                if self.not_before_word(after) {
                    continue;
                }
                let mut buf = [0u8; 64];
                let folded = &mut buf[..word.len()];
                folded.copy_from_slice(word.as_bytes());
                folded.make_ascii_lowercase();
                if self.known(folded) || self.mistyped_ascii(folded) {
                    spans.push((m.start(), m.end()));
                }
                continue;
            }
            let folded = self.folded(word)?;
            if self.particles.contains(&folded) || self.not_before_word(after) {
                continue;
            }
            // a possessive: the fold less its final s (never cut inside another letter)
            let stem = folded
                .strip_suffix('s')
                .filter(|_| folded.chars().count() > 3);
            let known = self.known(folded.as_bytes())
                || stem.is_some_and(|stem| self.known(stem.as_bytes()))
                || self.mistyped_word(word, &folded);
            if known {
                spans.push((m.start(), m.end()));
            }
        }
        if lower_case && !lower_words.is_empty() {
            for (start, end, after) in lower_words {
                let folded = self.folded(&text[start..end])?;
                if !self.particles.contains(&folded)
                    && !self.lower_not_names.contains(&folded)
                    && !self.not_before_word(after)
                    && self.known(folded.as_bytes())
                {
                    spans.push((start, end));
                }
            }
            spans.sort_unstable();
        }
        Some(spans)
    }

    /// Whether only spaces or tabs stand between `at` and the text's start or the end of a
    /// sentence.
    fn at_sentence_start(&self, text: &str, at: usize) -> bool {
        let bytes = text.as_bytes();
        let mut at = at;
        while at > 0 && matches!(bytes[at - 1], b' ' | b'\t') {
            at -= 1;
        }
        at == 0 || self.sentence_ends.contains(&bytes[at - 1])
    }
}
