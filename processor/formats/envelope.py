"""Debezium change-event envelopes in JSON: decode, unwrap ``{"schema", "payload"}``, check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from processor.errors import PoisonEvent
from processor.formats.json_types import SOURCE_FIELDS, TRANSACTION_FIELDS, TYPES, kind_of

OPS = frozenset({"c", "u", "d", "r", "t"})
ROW_OPS = frozenset({"c", "u", "r"})
#: source fields that identify nobody; everything else (e.g. MySQL's ``query``) is dropped
SOURCE_ALLOWLIST = tuple(name for name, _ in SOURCE_FIELDS)


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    op: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source: dict[str, Any]
    ts_ms: int | None
    transaction: dict[str, Any] | None

    @property
    def row(self) -> dict[str, Any] | None:
        """The row the change is about: the after image, or the before image of a delete."""
        return self.after if self.after is not None else self.before


def unwrap(obj: Any) -> Any:
    """The payload of Kafka Connect's JSON converter with schemas enabled, else ``obj``."""
    if isinstance(obj, dict) and len(obj) == 2 and "payload" in obj and "schema" in obj:
        return obj["payload"]
    return obj


def decode_json(data: bytes | str | None, what: str = "value") -> Any:
    """orjson: rejects NaN, invalid UTF-8, lone surrogates and nesting deeper than 1,024.

    It reads integers beyond 64 bits as floats; the actions that need exact numbers
    (pseudonymize) reject such floats, so an id never loses digits silently.
    """
    if data is None:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise PoisonEvent("not_json", what) from None


def parse_envelope(obj: Any) -> ChangeEvent:
    """Check the envelope's shape; the error names what is wrong, never a value."""
    payload = unwrap(obj)
    if not isinstance(payload, dict) or "op" not in payload:
        raise PoisonEvent("not_envelope", "expected an object with op/before/after")
    op = payload["op"]
    if not isinstance(op, str) or op not in OPS:
        raise PoisonEvent("unknown_op", "op must be one of c, u, d, r, t")
    before, after = payload.get("before"), payload.get("after")
    if not isinstance(before, dict | None) or not isinstance(after, dict | None):
        raise PoisonEvent("not_envelope", "before/after must be objects or null")
    if (op in ROW_OPS and after is None) or (op == "d" and before is None):
        raise PoisonEvent("not_envelope", f"op {op} without its row image")
    source = payload.get("source")
    ts_ms = payload.get("ts_ms")
    transaction = payload.get("transaction")
    return ChangeEvent(
        op=op, before=before, after=after,
        source=_reduced(source, SOURCE_FIELDS, "source") if isinstance(source, dict) else {},
        ts_ms=ts_ms if isinstance(ts_ms, int) and not isinstance(ts_ms, bool) else None,
        transaction=(_reduced(transaction, TRANSACTION_FIELDS, "transaction")
                     if isinstance(transaction, dict) else None),
    )


def _reduced(block: dict[str, Any], fields: tuple[tuple[str, str], ...],
             what: str) -> dict[str, Any]:
    """The allow-listed members of a metadata block, each of its declared type: they are
    published unmasked, so a member of another type is a dead letter, never copied."""
    out = {}
    for name, type_name in fields:
        if name in block:
            value = block[name]
            if kind_of(value) not in TYPES[type_name]:
                raise PoisonEvent("invalid_metadata", f"{what}.{name} is not {type_name}")
            out[name] = value
    return out
