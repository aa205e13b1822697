"""The exception hierarchy. Messages say what to do and never carry a field value or a secret."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class CrmMaskerError(Exception):
    """Base of every error that crm-masker raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One finding about a rule set, located in its file."""

    file: str
    line: int
    path: str
    message: str
    hint: str = ""
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.severity}: {self.path}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class RuleSetInvalid(CrmMaskerError):
    """The rule set has errors; the processor refuses to start on it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(
            f"{len(errors)} error(s) in the rule set; run `crm-masker validate` to see them all"
        )


class KeyFileError(CrmMaskerError):
    """The pseudonym key file is missing, malformed, or lacks the key id the rules need."""


class PoisonEvent(CrmMaskerError):
    """An input event that cannot be processed; it goes to the DLQ with this reason.

    ``reason`` is a short machine-readable word (a metric label); ``detail`` names the part of
    the event at fault (a field *name*, never its value).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The known name closest to a misspelt one (for "did you mean …?"), or None."""
    found = difflib.get_close_matches(word, list(choices), n=1)
    return found[0] if found else None


def did_you_mean(word: str, choices: list[str]) -> str:
    """The hint for an unknown name: the closest known one, else all of them."""
    guess = closest(word, choices)
    return f"did you mean {guess!r}?" if guess else f"known: {', '.join(choices)}"
