"""Text as the detectors read it, with each character's offset in the original.

People (and copy-paste) write identifiers in forms the detectors' patterns do not know: a
phone number grouped with non-breaking or thin spaces, a zero-width character inside an IBAN,
a full-width ``＠``, ``anna(at)example(dot)org``. The detectors read the text with NFKC applied
per character, zero-width characters removed, every Unicode space as a space and the
obfuscations above as ``@`` and ``.``; a finding's span is mapped back, so the text around it is
kept as it was written.

The native core leaves any text that this would change to the Python scrub (the characters
and the obfuscation pattern travel in its spec), so both engines give the same output.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

#: removed: zero-width space/joiners, word joiner, BOM, soft hyphen
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
#: ``(at)``, ``[at]``, ``{at}`` (also ``ät``) and the same for ``dot``/``punkt``; the spaces
#: around the brackets go with them. Written for Python's ``re`` and Rust's ``regex`` alike.
OBFUSCATED = r"[(\[{][ \t]*(at|ät|dot|punkt)[ \t]*[)\]}]"
#: the spaces before one are found by walking back (``_obfuscations``): a pattern that began
#: with ``[ \t]*`` would read a run of spaces once from each of them, quadratic in its length
OBFUSCATION = re.compile(rf"{OBFUSCATED}[ \t]*", re.IGNORECASE)
OBFUSCATED_AS = {"at": "@", "ät": "@", "dot": ".", "punkt": "."}


@lru_cache(maxsize=4096)
def read_as(ch: str) -> str:
    """What one character is to the detectors."""
    if ch in ZERO_WIDTH:
        return ""
    if ch != "\n" and unicodedata.category(ch) == "Zs":
        return " "
    return unicodedata.normalize("NFKC", ch)


def changes(ch: str) -> bool:
    return read_as(ch) != ch


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str
    #: for each character of ``text``, the index of the character it came from (None: same)
    origin: list[int] | None = None

    def span_in_original(self, start: int, end: int) -> tuple[int, int]:
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end - 1] + 1


def normalize(text: str) -> Normalized:
    """``text`` as the detectors read it (the same object when nothing changes)."""
    obfuscated = OBFUSCATION.search(text) is not None
    if text.isascii() and not obfuscated:
        return Normalized(text)
    chars: list[str] = []
    origin: list[int] = []
    pos = 0
    for m in OBFUSCATION.finditer(text) if obfuscated else ():
        start = m.start()
        while start > pos and text[start - 1] in " \t":  # the spaces before it go with it
            start -= 1
        _append(text, pos, start, chars, origin)
        chars.append(OBFUSCATED_AS[m.group(1).lower()])
        origin.append(start)
        pos = m.end()
    _append(text, pos, len(text), chars, origin)
    out = "".join(chars)
    return Normalized(text) if out == text else Normalized(out, origin)


def _append(text: str, start: int, end: int, chars: list[str], origin: list[int]) -> None:
    for index in range(start, end):
        ch = text[index]
        read = read_as(ch) if not ch.isascii() else ch
        for part in read:
            chars.append(part)
            origin.append(index)


def characters_that_change(ranges: list[tuple[int, int]]) -> str:
    """The characters of ``ranges`` (inclusive code points) that the detectors read as
    something else: the native core leaves texts holding one to Python."""
    return "".join(chr(c) for lo, hi in ranges for c in range(lo, hi + 1) if changes(chr(c)))
