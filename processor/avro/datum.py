"""Avro datums ↔ the values Debezium's JSON converter writes.

Read without logical types, an Avro row already holds days, microseconds and decimal bytes;
only bytes differ from JSON, where Debezium writes them as base64. Converting them makes the
masking engine (and its pseudonyms) the same for both formats.
"""

from __future__ import annotations

import base64
from typing import Any


def to_base64(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None or not any(type(v) is bytes for v in row.values()):
        return row
    return {k: base64.b64encode(v).decode() if type(v) is bytes else v for k, v in row.items()}


def from_base64(row: dict[str, Any] | None, columns: frozenset[str]) -> dict[str, Any] | None:
    """``row`` with its bytes ``columns`` decoded back from base64 (a copy: the masked row may
    be shared between views)."""
    if row is None or not columns:
        return row
    return {k: base64.b64decode(v) if k in columns and type(v) is str else v
            for k, v in row.items()}


def envelope_to_json_values(envelope: dict[str, Any]) -> dict[str, Any]:
    for image in ("before", "after"):
        row = envelope.get(image)
        if row is not None:
            envelope[image] = to_base64(row)
    return envelope


def bytes_columns(record: dict[str, Any]) -> frozenset[str]:
    """Columns of a record schema whose type (or a branch of it) is bytes."""
    def is_bytes(t: Any) -> bool:
        if isinstance(t, list):
            return any(is_bytes(b) for b in t)
        if isinstance(t, dict):
            return t.get("type") == "bytes"
        return bool(t == "bytes")
    return frozenset(f["name"] for f in record["fields"] if is_bytes(f["type"]))
