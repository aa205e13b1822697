"""Masked Kafka Connect schemas, for events that came with one (the JSON converter with
``schemas.enable=true``): the outputs carry ``{"schema", "payload"}`` too, so a consumer that
reads the source with the same converter (a Connect sink) reads the views.

Derived as the masked Avro schemas are (avro/derive.py): dropped columns disappear, columns that
an action turns into text become strings, kept and generalised columns keep their schema (a
generalised ``io.debezium.time.Date`` is still one). Every row column is optional: a column
that Debezium could not send (its placeholder) is left out of the image.
"""

from __future__ import annotations

from typing import Any

from processor.formats.envelope import SOURCE_ALLOWLIST
from processor.formats.json_types import TRANSACTION_FIELDS
from processor.formats.views import AddedColumn, ViewFormat
from processor.masking.plan import ABSENT, FieldPlan, OutputType

#: an action's output type (Avro's names, see ``Action.output_type``) as a Connect type
CONNECT_TYPES = {"string": "string", "long": "int64", "int": "int32", "boolean": "boolean",
                 "double": "float64", "bytes": "bytes"}
Schema = dict[str, Any]
#: the members of a field's schema that say its type (logical name, decimal scale …)
TYPE_KEYS = ("type", "name", "version", "parameters", "items", "keys", "values", "fields")


def _fields(struct: Any) -> dict[str, Schema]:
    if not isinstance(struct, dict) or not isinstance(struct.get("fields"), list):
        return {}
    return {f["field"]: f for f in struct["fields"] if isinstance(f, dict) and "field" in f}


def _column(name: str, source: Schema, outputs: tuple[OutputType, ...], optional: bool) -> Schema:
    # what a column's schema says of its type; documentation and defaults are not copied
    kept = {k: v for k, v in source.items() if k in TYPE_KEYS}
    chosen: Schema | None = None
    for out in outputs:
        if out in ("null", ABSENT):
            continue
        schema = kept if out is None else {"type": CONNECT_TYPES.get(out, "string")}
        if chosen is None:
            chosen = schema
        elif chosen != schema:  # a condition whose two actions write different types
            chosen = {"type": "string"}
    return {**(chosen or kept), "optional": optional, "field": name}


def masked_row(plan: FieldPlan, row: Any, name: str, omit: frozenset[str] = frozenset()
               ) -> Schema:
    """The struct of a masked row: the published columns that the source's row has, but for
    ``omit`` (columns that Debezium could not send in this event: a sink that reads them as
    null would overwrite the value that it has, one that misses them keeps it)."""
    source = _fields(row)
    return {"type": "struct", "optional": True, "name": name,
            "fields": [_column(column, source[column], outputs, True)
                       for column, outputs in plan.outputs if column in source
                       and column not in omit]}


def masked_key(plan: FieldPlan, key: Any) -> Schema:
    source = _fields(key)
    outputs = dict(plan.outputs)
    return {"type": "struct", "optional": False, "name": f"crm_masker.{plan.table}.Key",
            "fields": [_column(column, source[column], outputs.get(column, (None,)),
                               bool(source[column].get("optional", False)))
                       for column, _ in plan.key_fields if column in source]}


def truncate_key(plan: FieldPlan) -> Schema:
    """The key schema of a truncate's record (Debezium sends no key with a truncate): the key
    columns, optional, of the type that the view's actions give them."""
    outputs = dict(plan.outputs)
    fields = []
    for column, _ in plan.key_fields:
        types = [t for t in outputs.get(column, ("string",)) if t not in (None, "null", ABSENT)]
        fields.append({"type": CONNECT_TYPES.get(types[0] if types else "string", "string"),
                       "optional": True, "field": column})
    return {"type": "struct", "optional": False, "name": f"crm_masker.{plan.table}.Key",
            "fields": fields}


def _reduced(struct: Schema, keep: tuple[str, ...], field: str) -> Schema:
    fields = _fields(struct)
    return {**{k: v for k, v in struct.items() if k != "fields"}, "field": field,
            "fields": [fields[name] for name in keep if name in fields]}


def debezium_envelope(plan: FieldPlan, envelope: Any, name: str,
                      omit: frozenset[str] = frozenset()) -> Schema:
    """The masked envelope: both images, the source reduced to the allow-list, op, ts_ms, and
    the transaction block when the source has one."""
    source = _fields(envelope)
    image = source.get("before") or source.get("after") or envelope  # or an unwrapped row
    row = masked_row(plan, image, f"{name}.Value", omit)
    fields: list[Schema] = [{**row, "field": "before"}, {**row, "field": "after"}]
    if "source" in source:
        fields.append(_reduced(source["source"], SOURCE_ALLOWLIST, "source"))
    fields += [{"type": "string", "optional": False, "field": "op"},
               {"type": "int64", "optional": True, "field": "ts_ms"}]
    if "transaction" in source:
        fields.append(_reduced(source["transaction"],
                               tuple(n for n, _ in TRANSACTION_FIELDS), "transaction"))
    return {"type": "struct", "optional": False, "name": f"{name}.Envelope", "fields": fields}


def row_with(added: tuple[AddedColumn, ...], plan: FieldPlan, envelope: Any,
             name: str, omit: frozenset[str] = frozenset()) -> Schema:
    """A row layout's schema: the masked row plus the format's added columns; an unwrapped
    input's row schema is its own (its added columns are replaced)."""
    source = _fields(envelope)
    image = source.get("after") or source.get("before") or envelope
    row = masked_row(plan, image, f"{name}.Value", omit)
    names = {column.name for column in added}
    row["fields"] = [f for f in row["fields"] if f["field"] not in names] + [
        {"type": column.connect_type, "optional": column.optional, "field": column.name}
        for column in added]
    return row


def value_schema(view_format: ViewFormat, plan: FieldPlan, envelope: Any, name: str,
                 omit: frozenset[str] = frozenset()) -> Schema:
    """The masked value schema of a view in ``view_format``, from its layout; ``omit``: see
    ``masked_row``."""
    if view_format.layout == "envelope":
        return debezium_envelope(plan, envelope, name, omit)
    return row_with(view_format.added_columns, plan, envelope, name, omit)
