"""``flat``: the row as Debezium's ExtractNewRecordState writes it (delete.handling.mode=rewrite):
the after image, or the before image of a delete, plus three columns."""

from __future__ import annotations

from processor.formats.envelope import ChangeEvent
from processor.formats.views.base import VIEW_FORMATS, AddedColumn, Row, ViewFormat


@VIEW_FORMATS.register
class FlatFormat(ViewFormat):
    name = "flat"
    layout = "row"
    added_columns = (AddedColumn("__op", "string", "string", False),
                     AddedColumn("__source_ts_ms", "int64", "long", True),
                     AddedColumn("__deleted", "boolean", "boolean", False))
    shows_before_of_updates = False

    def render(self, event: ChangeEvent, before: Row | None, after: Row | None) -> Row:
        deleted = event.op == "d"
        row = dict((before if deleted else after) or {})  # a truncate: no row, only its op
        row["__op"] = event.op
        row["__source_ts_ms"] = event.source.get("ts_ms", event.ts_ms)
        row["__deleted"] = deleted
        return row

    def image(self, value: Row) -> Row | None:
        added = {column.name for column in self.added_columns}
        return {name: item for name, item in value.items() if name not in added}

    def is_delete(self, value: Row) -> bool:
        return bool(value.get("__deleted"))
