"""Output formats of a view, registered by name: ``debezium`` (masked envelope), ``flat``.

A format turns a masked change event into the record value; the engine never branches on the
format. ``flat`` follows Debezium's ExtractNewRecordState (delete.handling.mode=rewrite).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from processor.formats.envelope import ChangeEvent

ViewFormatFn = Callable[[ChangeEvent, dict[str, Any] | None, dict[str, Any] | None], dict[str, Any]]


def debezium_format(event: ChangeEvent, before: dict[str, Any] | None,
                    after: dict[str, Any] | None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "before": before,
        "after": after,
        "source": event.source,  # reduced to the typed allow-list by parse_envelope
        "op": event.op,
        "ts_ms": event.ts_ms,
    }
    if event.transaction is not None:
        value["transaction"] = event.transaction
    return value


#: the columns that the flat format adds to the row
FLAT_COLUMNS = ("__op", "__source_ts_ms", "__deleted")


def flat_format(event: ChangeEvent, before: dict[str, Any] | None,
                after: dict[str, Any] | None) -> dict[str, Any]:
    deleted = event.op == "d"
    row = dict((before if deleted else after) or {})  # a truncate: no row, only its op
    row["__op"] = event.op
    row["__source_ts_ms"] = event.source.get("ts_ms", event.ts_ms)
    row["__deleted"] = deleted
    return row


VIEW_FORMATS: dict[str, ViewFormatFn] = {"debezium": debezium_format, "flat": flat_format}


def published_image(view_format: str, value: dict[str, Any]) -> dict[str, Any] | None:
    """The masked row image inside a record value of this format (the after image, or the
    before image of a delete): what the leak watch inspects of a published record."""
    if view_format == "flat":
        return {name: item for name, item in value.items() if name not in FLAT_COLUMNS}
    image = value["after"] if value.get("after") is not None else value.get("before")
    return image if isinstance(image, dict) else None
