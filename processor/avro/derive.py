"""Masked Avro schemas, derived from the source's writer schema and the compiled rules.

Dropped columns disappear, pseudonymised and other text-producing columns become strings,
kept and generalised columns keep their type (a generalised date is still a ``date``), and
nullability is kept. Only columns that both a rule publishes and the writer schema has are in
the result: a new source column (schema drift) changes nothing until a rule names it.
"""

from __future__ import annotations

import re
from typing import Any

from processor.errors import PoisonEvent
from processor.formats.envelope import SOURCE_ALLOWLIST
from processor.formats.json_types import TRANSACTION_FIELDS as TYPED_TRANSACTION_FIELDS
from processor.formats.views import AddedColumn, ViewFormat
from processor.masking.plan import ABSENT, FieldPlan, OutputType

TRANSACTION_FIELDS = tuple(name for name, _ in TYPED_TRANSACTION_FIELDS)


def namespace(view: str, table: str) -> str:
    return "crm_masker." + re.sub(r"[^A-Za-z0-9_.]", "_", f"{view}.{table}")


def _fields_of(record: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(record, dict) or record.get("type") != "record":
        raise PoisonEvent("unsupported_schema", f"{what} is not an Avro record")
    return list(record["fields"])


def _non_null(avro_type: Any) -> tuple[bool, list[Any]]:
    """(nullable, the other branches) of a field type."""
    if isinstance(avro_type, list):
        return "null" in avro_type, [t for t in avro_type if t != "null"]
    return avro_type == "null", [] if avro_type == "null" else [avro_type]


def _field(name: str, source_type: Any, outputs: tuple[OutputType, ...]) -> dict[str, Any]:
    nullable, base = _non_null(source_type)
    branches: list[Any] = []
    for out in outputs:
        if out is None:
            new = base
        elif out in ("null", ABSENT):
            nullable, new = True, []
        else:
            new = [out]
        branches.extend(b for b in new if b not in branches)
    if nullable:
        return {"name": name, "type": ["null", *branches], "default": None}
    return {"name": name, "type": branches[0] if len(branches) == 1 else branches}


def masked_row(plan: FieldPlan, source_row: Any, name: str) -> dict[str, Any]:
    """The record of a masked row: the published columns that the writer schema has."""
    source = {f["name"]: f["type"] for f in _fields_of(source_row, "the row")}
    ns, _, short = name.rpartition(".")
    return {"type": "record", "name": short, "namespace": ns,
            "fields": [_field(column, source[column], outputs)
                       for column, outputs in plan.outputs if column in source]}


def masked_key(plan: FieldPlan, source_key: Any, ns: str) -> dict[str, Any]:
    source = {f["name"]: f["type"] for f in _fields_of(source_key, "the key")}
    outputs = dict(plan.outputs)
    return {"type": "record", "name": "Key", "namespace": ns,
            "fields": [_field(column, source[column], outputs.get(column, (None,)))
                       for column, _ in plan.key_fields if column in source]}


def truncate_key(plan: FieldPlan, envelope: Any, ns: str) -> dict[str, Any]:
    """The key of a truncate's records (Debezium sends a truncate without a key): the key
    columns as the row has them, nullable, as every one is null."""
    source = {f["name"]: f["type"] for f in _fields_of(row_record(envelope), "the row")}
    outputs = dict(plan.outputs)
    fields = []
    for column, _ in plan.key_fields:
        if column in source:
            field = _field(column, source[column], outputs.get(column, (None,)))
            field["type"] = ["null", *_non_null(field["type"])[1]]
            fields.append({**field, "default": None})
    return {"type": "record", "name": "Key", "namespace": ns, "fields": fields}


def row_record(envelope: Any) -> Any:
    """The row record of a Debezium envelope (defined in ``before``, referred to in ``after``)."""
    for field in _fields_of(envelope, "the envelope"):
        if field["name"] in ("before", "after"):
            for branch in _non_null(field["type"])[1]:
                if isinstance(branch, dict):
                    return branch
    raise PoisonEvent("unsupported_schema", "the envelope has no before/after record")


def _reduced(record: Any, keep: tuple[str, ...], name: str) -> dict[str, Any]:
    fields = {f["name"]: f for f in _fields_of(record, name)}
    ns, _, short = name.rpartition(".")
    return {"type": "record", "name": short, "namespace": ns,
            "fields": [fields[k] for k in keep if k in fields]}


def debezium_envelope(plan: FieldPlan, envelope: Any, ns: str) -> dict[str, Any]:
    """The masked envelope: before/after, source reduced to the allow-list, op, ts_ms,
    and the transaction block (id and order only) when the source has one."""
    by_name = {f["name"]: f for f in _fields_of(envelope, "the envelope")}
    row = masked_row(plan, row_record(envelope), f"{ns}.Value")
    fields: list[dict[str, Any]] = [
        {"name": "before", "type": ["null", row], "default": None},
        {"name": "after", "type": ["null", f"{ns}.Value"], "default": None},
    ]
    source = by_name.get("source")
    if source is not None:
        nullable, (record, *_) = _non_null(source["type"])
        reduced = _reduced(record, SOURCE_ALLOWLIST, f"{ns}.Source")
        fields.append({"name": "source", "type": ["null", reduced] if nullable else reduced,
                       **({"default": None} if nullable else {})})
    fields.append({"name": "op", "type": "string"})
    fields.append({"name": "ts_ms", "type": ["null", "long"], "default": None})
    txn = by_name.get("transaction")
    if txn is not None:
        branches = [b for b in _non_null(txn["type"])[1] if isinstance(b, dict)]
        if branches:
            reduced = _reduced(branches[0], TRANSACTION_FIELDS, f"{ns}.Transaction")
            fields.append({"name": "transaction", "type": ["null", reduced], "default": None})
    return {"type": "record", "name": "Envelope", "namespace": ns, "fields": fields}


def row_with(added: tuple[AddedColumn, ...], plan: FieldPlan, envelope: Any,
             ns: str) -> dict[str, Any]:
    """A row layout: the masked row plus the format's added columns."""
    row = masked_row(plan, row_record(envelope), f"{ns}.Value")
    row["fields"] += [{"name": column.name, "type": ["null", column.avro_type], "default": None}
                      if column.optional else {"name": column.name, "type": column.avro_type}
                      for column in added]
    return row


def value_schema(view_format: ViewFormat, plan: FieldPlan, envelope: Any,
                 ns: str) -> dict[str, Any]:
    """The masked value schema of a view in ``view_format``, from its layout."""
    if view_format.layout == "envelope":
        return debezium_envelope(plan, envelope, ns)
    return row_with(view_format.added_columns, plan, envelope, ns)


def rows_of(view_format: ViewFormat) -> tuple[str, ...]:
    """Where a record of the layout holds row images (the codec's Avro row fields)."""
    return ("before", "after") if view_format.layout == "envelope" else ("",)
