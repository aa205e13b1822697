"""``debezium``: the masked Debezium envelope, as a consumer of Debezium's topics expects it."""

from __future__ import annotations

from typing import Any

from processor.formats.envelope import ChangeEvent
from processor.formats.views.base import VIEW_FORMATS, Row, ViewFormat


@VIEW_FORMATS.register
class DebeziumFormat(ViewFormat):
    name = "debezium"
    layout = "envelope"
    shows_before_of_updates = True

    def render(self, event: ChangeEvent, before: Row | None, after: Row | None) -> Row:
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

    def image(self, value: Row) -> Row | None:
        image = value["after"] if value.get("after") is not None else value.get("before")
        return image if isinstance(image, dict) else None

    def is_delete(self, value: Row) -> bool:
        return value.get("op") == "d"
