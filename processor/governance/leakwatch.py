"""Leak watch: look for personal data in what is published, where the rules say there is none.

A column declared ``business`` that in fact holds e-mail addresses passes every masking rule.
The leak watch samples published rows and runs the free-text detectors (scrub's recognizers:
e-mail, phone, IBAN, card, tax id, names …) over the string values that the rules published in
clear or only in part
(keep, mask, truncate …: not pseudonymised, not scrubbed). Findings are counted by table and
column — the suspect value itself is never kept, logged or returned.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from processor.datakeys import CIPHERTEXT
from processor.pii.recognizers import find_all

#: a pseudonym as pseudonymize writes it: never a leak
PSEUDONYM = re.compile(r"^[\w.-]+:[0-9a-f]{8,64}$")


def suspects(row: dict[str, Any], fields: Iterable[str]) -> list[tuple[str, str]]:
    """(column, kind) for each watched column whose string value looks like personal data."""
    found = []
    for name in fields:
        value = row.get(name)
        if isinstance(value, str) and len(value) >= 5 and not PSEUDONYM.match(value):
            kinds = {kind for _, _, kind in find_all(value)}
            found += [(name, kind) for kind in sorted(kinds)]
    return found


class Sampler:
    """Every n-th call says yes: a deterministic share, so replays and tests are repeatable."""

    def __init__(self, share: float) -> None:
        self.every = 0 if share <= 0 else max(1, round(1 / min(share, 1.0)))
        self.count = 0

    def __call__(self) -> bool:
        yes = bool(self.peek(1))
        self.skip(1)
        return yes

    def peek(self, calls: int) -> range:
        """Which of the next ``calls`` calls (counted from 0) will say yes; see ``skip``."""
        if not self.every:
            return range(0)
        return range(self.every - self.count - 1, calls, self.every)

    def skip(self, calls: int) -> None:
        """Make ``calls`` calls at once (their answers: ``peek``)."""
        if self.every:
            self.count = (self.count + calls) % self.every


def scan_values(records: Iterable[Any]) -> Counter[tuple[str, str]]:
    """For ``crm-masker scan``: (column path, kind) counts over all string values of decoded
    records (flat rows or Debezium envelopes), skipping metadata, pseudonyms and
    ciphertexts (encrypt)."""
    found: Counter[tuple[str, str]] = Counter()
    for record in records:
        for path, value in _strings(record, ""):
            if len(value) >= 5 and not PSEUDONYM.match(value) and not CIPHERTEXT.match(value):
                for kind in {kind for _, _, kind in find_all(value)}:
                    found[(path, kind)] += 1
    return found


def _strings(obj: Any, path: str) -> Iterable[tuple[str, str]]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("source", "transaction") or str(key).startswith("__"):
                continue
            child = str(key) if path in ("", "before", "after") else f"{path}.{key}"
            yield from _strings(value, child)
    elif isinstance(obj, list):
        for value in obj:
            yield from _strings(value, path)
    elif isinstance(obj, str):
        yield path, obj
