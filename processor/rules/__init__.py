"""Rule sets: load (YAML with line numbers), check (pydantic + cross-field), compile (→ plans)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import orjson

from processor.errors import Problem, RuleSetInvalid
from processor.rules.checks import check
from processor.rules.loader import load_rules
from processor.rules.model import RuleSet


@dataclass(frozen=True)
class ValidatedRules:
    rules: RuleSet
    warnings: list[Problem]
    files: list[Path]

    @property
    def version(self) -> str:
        return self.rules.version

    @property
    def sha256(self) -> str:
        """Hash of the validated rule set (not of the file bytes: comments do not count)."""
        canonical = orjson.dumps(self.rules.model_dump(mode="json", by_alias=True),
                                 option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()


def validate(path: str | Path) -> tuple[ValidatedRules | None, list[Problem]]:
    """Every problem of the rule set at ``path``; the rules only when there is no error."""
    try:
        loaded = load_rules(path)
    except RuleSetInvalid as exc:
        return None, exc.problems
    rules, problems = check(loaded)
    problems = loaded.problems + problems
    problems.sort(key=lambda p: (p.file, p.line))
    if rules is None or any(p.severity == "error" for p in problems):
        return None, problems
    return ValidatedRules(rules, problems, loaded.files), problems


def load_validated(path: str | Path) -> ValidatedRules:
    """The rule set at ``path``, or RuleSetInvalid listing every error."""
    validated, problems = validate(path)
    if validated is None:
        raise RuleSetInvalid(problems)
    return validated
