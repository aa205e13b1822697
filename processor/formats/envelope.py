"""Debezium change-event envelopes in JSON: decode, unwrap ``{"schema", "payload"}``, check.

Also accepted: rows that Debezium's ``ExtractNewRecordState`` (the "unwrap" SMT) made of the
envelope: the row itself, with the metadata that ``add.fields`` adds as ``__``-columns
(``__op``, ``__source_ts_ms``, ``__deleted`` with ``delete.tombstone.handling.mode=rewrite``
…). A row without any such column is not told apart from a stray object, and is refused.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import orjson

from processor.errors import PoisonEvent
from processor.formats.json_types import SOURCE_FIELDS, TRANSACTION_FIELDS, TYPES, kind_of

OPS = frozenset({"c", "u", "d", "r", "t"})
ROW_OPS = frozenset({"c", "u", "r"})
#: source fields that identify nobody; everything else (e.g. MySQL's ``query``) is dropped
SOURCE_ALLOWLIST = tuple(name for name, _ in SOURCE_FIELDS)
#: Debezium's placeholder for a column whose value it does not have: an unchanged TOAST
#: column under REPLICA IDENTITY DEFAULT (text as it is; bytes and decimals as base64). Not
#: data: it is never masked, and left out of the published images.
UNAVAILABLE = "__debezium_unavailable_value"
UNAVAILABLE_MARKERS = (UNAVAILABLE, base64.b64encode(UNAVAILABLE.encode()).decode())
#: a column name that may be logged or printed: what a database identifier looks like,
#: nothing typed into a CRM field (a crafted event could name a column after a person)
PRINTABLE_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")
#: the ``__op`` values of an ExtractNewRecordState row (it has no truncates)
UNWRAPPED_OPS = ROW_OPS | {"d"}


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    op: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source: dict[str, Any]
    ts_ms: int | None
    transaction: dict[str, Any] | None
    #: Kafka Connect's schema of the value, when the JSON converter sent one (schemas.enable)
    schema: dict[str, Any] | None = None

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


def connect_schema(obj: Any) -> dict[str, Any] | None:
    """The schema of Kafka Connect's JSON converter with schemas enabled, else None."""
    if isinstance(obj, dict) and len(obj) == 2 and "payload" in obj and isinstance(
            obj.get("schema"), dict):
        return obj["schema"]
    return None


def parse_envelope(obj: Any) -> ChangeEvent:
    """Check the envelope's shape; the error names what is wrong, never a value."""
    payload = unwrap(obj)
    if (isinstance(payload, dict) and not {"op", "before", "after"} & payload.keys()
            and any(name.startswith("__") for name in payload)):
        return _unwrapped_row(payload, connect_schema(obj))
    if not isinstance(payload, dict) or "op" not in payload:
        raise PoisonEvent("not_envelope", "expected an object with op/before/after, or an "
                          "ExtractNewRecordState row with add.fields=op")
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
        schema=connect_schema(obj),
    )


def _unwrapped_row(payload: dict[str, Any], schema: dict[str, Any] | None) -> ChangeEvent:
    """A row of ExtractNewRecordState as the change event it came from: ``__op`` when
    ``add.fields`` has it (else a read), a delete when ``__deleted`` says so."""
    row = {name: value for name, value in payload.items() if not name.startswith("__")}
    op = payload.get("__op")
    if not isinstance(op, str) or op not in UNWRAPPED_OPS:
        op = "r"
    if payload.get("__deleted") in (True, "true"):
        op = "d"
    source_ts = payload.get("__source_ts_ms")
    ts_ms = payload.get("__ts_ms")
    return ChangeEvent(
        op=op, before=row if op == "d" else None, after=None if op == "d" else row,
        source=_reduced({"ts_ms": source_ts}, SOURCE_FIELDS, "source") if "__source_ts_ms"
        in payload else {},
        ts_ms=ts_ms if isinstance(ts_ms, int) and not isinstance(ts_ms, bool) else None,
        transaction=None, schema=schema)


def printable_column(name: str) -> str:
    """``name`` where it looks like a database identifier, else a stand-in: column names
    come from the events, and a crafted one could carry personal data into a log."""
    return name if PRINTABLE_COLUMN.fullmatch(name) else "(a name that is no identifier)"


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
