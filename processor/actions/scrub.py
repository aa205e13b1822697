"""scrub: replace e-mails, phone numbers, IBANs, card numbers and tax ids inside free text."""

from __future__ import annotations

import re
from typing import Any

from pydantic import field_validator

from processor.actions.base import Action, ActionParams
from processor.actions.registry import register
from processor.formats import postgres_types as pt
from processor.i18n import Localized
from processor.pii.names import PyNameSet
from processor.pii.normalize import OBFUSCATED, characters_that_change
from processor.pii.recognizers import find_all, for_the_core, recognizer, recognizer_kinds

CACHE_SIZE = 65_536
#: the code points that the core's scrub admits besides ASCII (native/src/scrub.rs
#: ``same_classes``), and the full-width forms (＠): the ones among them that normalisation
#: changes are left to Python before anything else is looked at
CORE_RANGES = [(0x80, 0x17F), (0x2000, 0x206F), (0x20AC, 0x20AC), (0xFF00, 0xFFEF)]


class ScrubParams(ActionParams):
    #: which detectors run (default: all)
    detect: list[str] | None = None
    #: replacement, ``{kind}`` becomes the finding's label (EMAIL, PHONE, IBAN, NAME …:
    #: each recognizer's ``label``)
    replacement: str = "[{kind}]"

    @field_validator("replacement")
    @classmethod
    def _formats(cls, replacement: str) -> str:
        try:
            replacement.format(kind="EMAIL")
        except (KeyError, IndexError, ValueError):
            raise ValueError("replacement may use {kind} and no other placeholder; "
                             "write {{ and }} for literal braces") from None
        return replacement

    @field_validator("detect")
    @classmethod
    def _known(cls, kinds: list[str] | None) -> list[str] | None:
        unknown = sorted(set(kinds or []) - set(recognizer_kinds()))
        if unknown:
            raise ValueError(f"unknown recognizer(s) {unknown}; known: {recognizer_kinds()}")
        return kinds


@register
class Scrub(Action):
    name = "scrub"
    best_effort = True
    params_model = ScrubParams
    reveals = "part"
    reads = frozenset({pt.TEXT})  # anything else would come out null

    def __init__(self, params: ScrubParams, ctx: Any) -> None:
        super().__init__(params, ctx)
        self._kinds = params.detect or recognizer_kinds()
        #: what each kind of finding becomes, for both engines
        self._replacements = {kind: params.replacement.format(kind=recognizer(kind).label)
                              for kind in self._kinds}
        self._names = (ctx.names if any(not recognizer(k).by_pattern for k in self._kinds)
                       else None)
        # an update carries the same text in `before` and `after`: scrub it once (while no
        # new name is learnt: a text seen before must then be searched for it)
        self._cache: dict[str, str] = {}
        self._cache_generation = 0

    def apply(self, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value if value is None or value == "" else None
        if self._names is not None and self._names.generation != self._cache_generation:
            self._cache.clear()
            self._cache_generation = self._names.generation
        cached = self._cache.get(value)
        if cached is not None:
            return cached
        scrubbed = self._scrub(value)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[value] = scrubbed
        return scrubbed

    def _scrub(self, value: str) -> str:
        findings = find_all(value, self._kinds, self._names)
        if not findings:
            return value
        parts, last = [], 0
        for start, end, kind in findings:
            parts.append(value[last:start])
            parts.append(self._replacements[kind])
            last = end
        parts.append(value[last:])
        return "".join(parts)

    def native_spec(self) -> dict[str, Any] | None:
        # the core runs the recognizers' patterns and calls their ``confirm`` on each candidate
        recognizers = []
        for kind in self._kinds:
            found = recognizer(kind)
            if not found.by_pattern:  # the known names: the core searches the name set
                continue
            flags = found.pattern.flags & ~re.UNICODE
            if flags & ~re.IGNORECASE:
                return None  # a flag the core does not mirror: Python scrubs
            recognizers.append({
                "pattern": for_the_core(found.pattern.pattern),
                "ignore_case": bool(flags & re.IGNORECASE),
                "required": found.required, "min_digits": found.min_digits,
                "required_any": (for_the_core(found.required_any.pattern)
                                 if found.required_any is not None else None),
                # the core remembers the answers itself: the validator, not the cached one
                "confirm": found.confirm if found.validates else None, "whole": found.whole,
                "replacement": self._replacements[kind]})
        names = None
        if self._names is not None:
            if isinstance(self._names.names, PyNameSet):
                return None  # a set the core cannot read: Python scrubs
            kind = next(k for k in self._kinds if not recognizer(k).by_pattern)
            names = [self._names.names, self._replacements[kind]]
        return {"kind": "scrub", "recognizers": recognizers, "names": names,
                # texts that the recognizers read normalised are Python's (pii/normalize.py)
                "defer_chars": characters_that_change(CORE_RANGES),
                "defer_pattern": OBFUSCATED}

    def measure(self) -> Localized:
        # the two salutation recognizers find the same thing: say it once
        shown = list(dict.fromkeys(recognizer(k).shown_as for k in self._kinds))
        return Localized("free text scrubbed of " + ", ".join(s.en for s in shown),
                         "Freitext bereinigt um " + ", ".join(s.de for s in shown))
