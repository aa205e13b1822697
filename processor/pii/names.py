"""Names in free text: the CRM's own people, and names after a salutation.

**Known people.** The columns that the rules mark ``entity: name`` (first and last names,
a user's full name) feed a `NameSet`: each token of a name, case- and diacritic-folded
(Müller, Mueller and MÜLLER are one token), kept only as a keyed hash (8 bytes of keyed
BLAKE2b under a key derived from the pseudonym key), never in clear. A capitalised word of
a free text whose fold is in the set is a name; so is one with a possessive ``s`` (Schmidts).
Hyphenated double names are found part by part.

**Unknown people** after a salutation, title, kinship word or role (Frau, Herr, Dr., Familie,
Ehemann, Tochter, Ansprechpartnerin …): the one or two capitalised words that follow
(`SalutationRecognizer`), a surname with its particle (``Herrn von der Heyde``), and the name
under a mail's sign-off (``Viele Grüße\nAnna Berg``, ``i. A. Thomas Berg``); a label with its
colon (``Name: Berg``); and, without any of these, a name that begins with a common first name
(``Telefonat mit Thomas Berg``: `FirstNameRecognizer`, pii/first_names.py).

The native core keeps the same set (it is the core's `NameSet` when the core is installed, so
rows that either engine masks feed both) and the folding table and word pattern travel in its
spec: the two engines find the same names by construction.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

#: a word: letters only (digits and ``_`` end it, so do apostrophes and hyphens)
WORD = re.compile(r"[^\W\d_]+")
#: name particles that are ordinary words too (a capitalised "Von" starts many sentences)
PARTICLES = frozenset({"von", "van", "de", "der", "den", "zu", "zur", "del", "la", "le", "di",
                       "da", "dos", "du", "ten", "ter", "vom", "am", "im"})
#: a word after one of these is a noun, not a name (``als Koch``, ``der Richter``)
NOT_BEFORE_NAMES = frozenset({"der", "die", "das", "den", "dem", "des", "ein", "eine", "einen",
                              "einem", "einer", "als", "im", "zum", "zur", "beim", "vom"})
#: letters folded to more than a letter (German transliteration); other marks are dropped
TRANSLITERATION = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i"}  # YILMAZ is Yılmaz
MIN_TOKEN = 2
#: a capitalised word of at least this many letters (an umlaut is one) that is no known token
#: is a known name mistyped when one slip of the keyboard (`typo_sources`) makes it one: notes
#: are typed fast (``Rückruf Wagnre``, ``Frau Hofman``); shorter words are too often nouns
#: (Wien is no Wein)
MIN_TYPO = 5
#: an umlaut typed without its mark: the letters whose umlaut folds to them and the mark's
#: letter (ä → ae)
UMLAUT_MARK = "e"
UMLAUT_BASES = frozenset(v[0] for v in TRANSLITERATION.values()
                         if len(v) == 2 and v[1] == UMLAUT_MARK)
#: longer words are no names: their slips are not tried (the work stays linear in the text)
MAX_TYPO = 40
#: a text typed in lower case (a quick note from a phone: ``rückruf müller wg angebot``) has
#: its names in lower case too: there a lower-case word of at least this many letters whose
#: fold is a known token is a name. A text is typed so when no title-case word stands in it
#: but at its start or a sentence's (after one of `SENTENCE_ENDS` and spaces); capitals alone
#: (``IBAN``, ``OK``) do not count
MIN_LOWER = 3
SENTENCE_ENDS = ".!?:\n\r"
#: lower-case words that are also common surnames (adjectives, adverbs, verbs: ``dauert
#: lange``, ``will kündigen``): never names in such a text (folded)
_LOWER_NOT_NAMES_TEXT = """
    lange lang klein gross kurz will ernst frank frei fromm hart kalt schoen voll stark alt
    neu jung braun schwarz weiss weise bald morgen gut reich arm wild fest fein froh kuehn
    hoch tief mild recht rein ganz gern gerne sauer suess treu klug link bar rot heute
"""
LOWER_NOT_NAMES = frozenset(_LOWER_NOT_NAMES_TEXT.split())
#: what the core's `NameSet` reads a word by besides its fold, from the constants above
READING = {"min_typo": MIN_TYPO, "max_typo": MAX_TYPO,
           "umlaut_bases": "".join(sorted(UMLAUT_BASES)), "umlaut_mark": UMLAUT_MARK,
           "min_lower": MIN_LOWER, "sentence_ends": SENTENCE_ENDS,
           "lower_not_names": sorted(LOWER_NOT_NAMES)}
HASH_BYTES = 8
#: code points the core folds by the table in its spec (native/src/scrub.rs ``same_classes``)
CORE_FOLD_RANGES = [(0x80, 0x17F)]


@lru_cache(maxsize=8192)
def fold_char(ch: str) -> str:
    """One character as a name token reads it: lower case, umlauts transliterated, accents
    dropped (é → e)."""
    low = ch.lower()
    out = []
    for c in low:
        c = TRANSLITERATION.get(c, c)
        out.append("".join(d for d in unicodedata.normalize("NFKD", c)
                           if not unicodedata.combining(d)))
    return "".join(out)


def fold(word: str) -> str:
    return word.lower() if word.isascii() else "".join(fold_char(c) for c in word)


def fold_table() -> dict[str, str]:
    """Every non-ASCII character of the core's ranges and what it folds to (itself too: the
    core folds no character that the table does not hold)."""
    return {chr(c): fold_char(chr(c)) for lo, hi in CORE_FOLD_RANGES for c in range(lo, hi + 1)}


def derive_key(pseudonym_key: bytes) -> bytes:
    """The set's own key: the hashes of names are useless without the pseudonym key."""
    return hmac.digest(pseudonym_key, b"crm-masker name tokens v1", "sha256")


def token_hash(key: bytes, folded: str) -> int:
    """Keyed BLAKE2b of the folded token, 8 bytes: one compression per word of a note (the
    core hashes every capitalised word it reads)."""
    return int.from_bytes(hashlib.blake2b(folded.encode("utf-8", "surrogatepass"),
                                          digest_size=HASH_BYTES, key=key).digest(), "little")


def letters(word: str) -> Sequence[str]:
    """The fold of each letter of a word (an umlaut is one letter, folded to two)."""
    return word.lower() if word.isascii() else [fold_char(c) for c in word]


def typo_sources(folds: Sequence[str]) -> Iterator[str]:
    """The folds that one slip would have turned a word of these folded letters into:
    two neighbouring letters swapped (Wagnre, Schörder), a letter doubled or undoubled
    (Hoffman for Hoffmann), an umlaut typed without its mark (Muller), this one in words
    longer than `MIN_TYPO` (``Schon`` is no Schön). The first letter, the capital, stays. The
    core's `NameSet` tries the same ones."""
    s, n = list(folds), len(folds)
    for i in range(1, n - 1):
        if s[i] != s[i + 1]:
            yield "".join([*s[:i], s[i + 1], s[i], *s[i + 2:]])
    for i in range(1, n):
        if s[i] == s[i - 1]:
            yield "".join(s[:i] + s[i + 1:])
        elif i + 1 == n or s[i + 1] != s[i]:
            yield "".join(s[:i + 1] + s[i:])
        if n > MIN_TYPO and s[i] in UMLAUT_BASES and (i + 1 == n or s[i + 1] != UMLAUT_MARK):
            yield "".join([*s[:i + 1], UMLAUT_MARK, *s[i + 1:]])


def name_tokens(value: str) -> Iterator[str]:
    """The folded tokens of a name column's value that count as names."""
    for word in WORD.findall(value):
        folded = fold(word)
        if len(folded) >= MIN_TOKEN and folded not in PARTICLES:
            yield folded


def _at_sentence_start(text: str, at: int) -> bool:
    """Whether only spaces or tabs stand between ``at`` and the text's start or the end of a
    sentence (`SENTENCE_ENDS`)."""
    while at > 0 and text[at - 1] in " \t":
        at -= 1
    return at == 0 or text[at - 1] in SENTENCE_ENDS


class PyNameSet:
    """The set of token hashes in Python, for installations without the native core (the
    core's ``NameSet`` has the same methods)."""

    def __init__(self) -> None:
        self._hashes: set[int] = set()
        #: how many hashes were new when added (caches of scrubbed text hold for one)
        self.generation = 0

    def add_hashes(self, hashes: list[int]) -> None:
        for h in hashes:
            if h not in self._hashes:
                self._hashes.add(h)
                self.generation += 1

    def contains_hash(self, h: int) -> bool:
        return h in self._hashes

    def __len__(self) -> int:
        return len(self._hashes)


def new_name_set(key: bytes) -> Any:
    """The core's set when it is installed (both engines then share it, and the core folds
    and hashes with what this module hands it), else Python's."""
    try:
        core = importlib.import_module("crm_masker_native")
    except ImportError:
        return PyNameSet()
    return core.NameSet(key, fold_table(), sorted(PARTICLES), sorted(NOT_BEFORE_NAMES),
                        WORD.pattern, MIN_TOKEN, READING)


class NameLexicon:
    """The CRM's known names, as a set of keyed token hashes, and the search in free text."""

    def __init__(self, pseudonym_key: bytes) -> None:
        self.key = derive_key(pseudonym_key)
        self.names = new_name_set(self.key)

    @property
    def _core(self) -> bool:
        """Whether the set is the core's, which hashes and prefilters tokens itself."""
        return hasattr(self.names, "contains_token")

    @property
    def generation(self) -> int:
        return int(self.names.generation)

    def add(self, values: Iterable[Any]) -> None:
        """The tokens of name columns' values (others than non-empty text are skipped). The
        core's set folds and hashes what it can itself (and keeps its prefilter); it hashes
        the tokens that Python folds for it too; Python's set gets the hashes made here."""
        texts = [value for value in values if isinstance(value, str) and value]
        if not texts:
            return
        if hasattr(self.names, "add_values"):
            # the core folds and hashes what it can itself; the tokens that Python folds for
            # it, it hashes too, with its prefilter bits
            self.names.add_tokens([token for text in self.names.add_values(texts)
                                   for token in name_tokens(text)])
            return
        hashes = [token_hash(self.key, token) for text in texts for token in name_tokens(text)]
        if hashes:
            self.names.add_hashes(hashes)

    def contains(self, folded: str) -> bool:
        if self._core:  # the core's prefilter first, its hash after (no BLAKE2b here)
            return bool(self.names.contains_token(folded))
        return bool(self.names.contains_hash(token_hash(self.key, folded)))

    def mistyped(self, word: str) -> bool:
        """Whether one slip of the keyboard made this word of a known name (the core's set
        answers behind its letter-sum prefilter: a word's ~2.5 slips a letter, each hashed
        here, cost Python's engine a sixth of its events/s)."""
        if not MIN_TYPO <= len(word) <= MAX_TYPO:  # (a fold per letter: `letters`)
            return False
        if self._core:
            answer = self.names.mistyped_token(word)
            if answer is not None:
                return bool(answer)
        return any(map(self.contains, typo_sources(letters(word))))

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        """Spans of capitalised words whose fold is a known name token (or is one with a
        possessive ``s``, or one mistyped), unless an article or ``als`` makes them a
        noun; in a text typed in lower case, of lower-case words too (`MIN_LOWER`)."""
        if not len(self.names):
            return
        contains = self.contains
        previous = ""
        lower_case, lower_words = True, []
        for m in WORD.finditer(text):
            word, after = m.group(0), previous
            previous = word
            if not word[0].isupper():
                if lower_case and word[0].islower() and len(word) >= MIN_LOWER:
                    lower_words.append((m, after))
                continue
            if (lower_case and len(word) > 1 and word[1].islower()
                    and not _at_sentence_start(text, m.start())):
                lower_case = False
            if len(word) < MIN_TOKEN:
                continue
            folded = fold(word)
            if folded in PARTICLES or after.lower() in NOT_BEFORE_NAMES:
                continue
            if (contains(folded) or (len(folded) > 3 and folded.endswith("s")
                                     and contains(folded[:-1]))
                    or self.mistyped(word)):
                yield m.start(), m.end()
        if lower_case:
            for m, after in lower_words:
                folded = fold(m.group(0))
                if (folded not in PARTICLES and folded not in LOWER_NOT_NAMES
                        and after.lower() not in NOT_BEFORE_NAMES and contains(folded)):
                    yield m.start(), m.end()

    def __len__(self) -> int:
        return len(self.names)
