"""One small detector per kind of identifier, behind a registry.

Each finds candidate spans with a cheap regular expression and confirms them with a real
validator (python-stdnum checksums, phonenumbers), so an order number is not taken for an IBAN.
Used by the ``scrub`` action and by the leak watch on the outputs.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import ClassVar

import phonenumbers
from stdnum import iban, luhn
from stdnum.de import idnr

Span = tuple[int, int]


class Detector(ABC):
    kind: ClassVar[str]

    @abstractmethod
    def find(self, text: str) -> Iterator[Span]:
        """Spans (start, end) of confirmed findings in ``text``."""


_DETECTORS: dict[str, Detector] = {}


def register(cls: type[Detector]) -> type[Detector]:
    _DETECTORS[cls.kind] = cls()
    return cls


def detector_kinds() -> list[str]:
    return list(_DETECTORS)


def _compact_spans(match: re.Match[str]) -> tuple[str, list[int]]:
    """The match without separators, and for each kept character its index in the text."""
    chars, index = [], []
    for offset, ch in enumerate(match.group(0)):
        if ch not in " -./":
            chars.append(ch)
            index.append(match.start() + offset)
    return "".join(chars), index


@register
class EmailDetector(Detector):
    kind = "email"
    _pattern = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")

    def find(self, text: str) -> Iterator[Span]:
        if "@" not in text:
            return
        for m in self._pattern.finditer(text):
            yield m.span()


# IBAN lengths of the SEPA countries (ISO 13616 registry); others are tried by length.
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
    "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
}


@register
class IbanDetector(Detector):
    kind = "iban"
    _pattern = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b", re.IGNORECASE)

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            compact, index = _compact_spans(m)
            known = IBAN_LENGTHS.get(compact[:2].upper())
            # the pattern may run into the next word: try the country's length, else every prefix
            lengths = [known] if known else range(len(compact), 14, -1)
            for length in lengths:
                if length <= len(compact) and iban.is_valid(compact[:length].upper()):
                    yield index[0], index[length - 1] + 1
                    break


@register
class CardDetector(Detector):
    kind = "card"
    _pattern = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            compact, _ = _compact_spans(m)
            if 13 <= len(compact) <= 19 and luhn.is_valid(compact):
                yield m.span()


@register
class TaxIdDetector(Detector):
    """German Steuer-Identifikationsnummer (11 digits with a check digit)."""

    kind = "tax_id"
    _pattern = re.compile(r"\b\d{2} ?\d{3} ?\d{3} ?\d{3}\b")

    def find(self, text: str) -> Iterator[Span]:
        for m in self._pattern.finditer(text):
            compact, _ = _compact_spans(m)
            if idnr.is_valid(compact):
                yield m.span()


@register
class PhoneDetector(Detector):
    """Phone numbers as phonenumbers validates them, on candidates a cheap pattern found."""

    kind = "phone"
    region = "DE"
    _candidate = re.compile(r"(?:\+|\b00|\(?\b0)\d[\d /().-]{4,20}\d")

    def find(self, text: str) -> Iterator[Span]:
        for m in self._candidate.finditer(text):
            try:
                number = phonenumbers.parse(m.group(0), self.region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                yield m.span()


def find_all(text: str, kinds: list[str] | None = None) -> list[tuple[int, int, str]]:
    """Non-overlapping findings (start, end, kind), earliest and then longest first."""
    spans = [
        (start, end, kind)
        for kind in (kinds or detector_kinds())
        for start, end in _DETECTORS[kind].find(text)
    ]
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    chosen: list[tuple[int, int, str]] = []
    for span in spans:
        if not chosen or span[0] >= chosen[-1][1]:
            chosen.append(span)
    return chosen
