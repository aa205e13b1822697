"""Test helpers shared by unit and integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from processor.keys import KeyRing, load_keys
from processor.masking.engine import MaskingEngine
from processor.rules import load_validated
from processor.rules.compiler import compile_rules

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "rules"
DEMO_KEYS = REPO / "deploy" / "keys" / "demo-keys.yaml"


def demo_keys() -> KeyRing:
    return load_keys(DEMO_KEYS)


def engine(rules: Path = RULES, keys: KeyRing | None = None) -> MaskingEngine:
    return MaskingEngine(compile_rules(load_validated(rules), keys or demo_keys()))


def scalars(obj: Any) -> Iterator[Any]:
    """Every scalar value inside a decoded JSON document (not the mapping keys)."""
    if isinstance(obj, dict):
        for v in obj.values():
            yield from scalars(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from scalars(v)
    else:
        yield obj


def field_names(obj: Any) -> set[str]:
    """Every mapping key inside a decoded JSON document."""
    if isinstance(obj, dict):
        return set(obj).union(*(field_names(v) for v in obj.values()))
    if isinstance(obj, list):
        return set().union(*(field_names(v) for v in obj))
    return set()
