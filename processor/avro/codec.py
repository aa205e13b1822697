"""Decode a record's key and value (JSON or Avro, told per message) and encode the outputs in
the input's format, with the masked schemas registered under the view topics' subjects."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import fastavro
import orjson

from processor.avro import derive
from processor.avro.datum import bytes_columns, envelope_to_json_values, from_base64, to_base64
from processor.avro.schema_registry import SchemaRegistry, WriterSchema, parse
from processor.avro.wire import frame, id_header, is_avro, split
from processor.errors import PoisonEvent
from processor.formats.envelope import decode_json
from processor.masking.compiler import ViewPlan

Headers = list[tuple[str, bytes | str | None]] | None


@dataclass(slots=True)
class Decoded:
    key: Any
    value: Any
    #: the writer schemas when the key/value came as Avro (outputs are then Avro too)
    key_writer: WriterSchema | None = None
    value_writer: WriterSchema | None = None


@dataclass(frozen=True)
class AvroOutput:
    """The registered masked schema of one view topic for one writer schema."""

    schema_id: int
    schema: dict[str, Any]
    parsed: Any
    rows: tuple[str, ...]  # the fields that hold a row ("" for the record itself)
    row_bytes: frozenset[str]

    @classmethod
    def registered(cls, registry: SchemaRegistry, subject: str, schema: dict[str, Any],
                   rows: tuple[str, ...]) -> AvroOutput:
        """Register ``schema`` under ``subject``; ``rows`` say where the rows are whose bytes
        columns arrive as base64 (the record itself, or an envelope's before/after)."""
        record = schema if rows == ("",) else derive.row_record(schema)
        return cls(registry.register(subject, schema), schema, parse(schema), rows,
                   bytes_columns(record))

    def encode(self, value: dict[str, Any]) -> bytes:
        if self.row_bytes:
            if "" in self.rows:
                value = from_base64(value, self.row_bytes) or value
            else:
                value = {**value, **{r: from_base64(value.get(r), self.row_bytes)
                                     for r in self.rows}}
        buf = io.BytesIO()
        try:
            fastavro.schemaless_writer(buf, self.parsed, value)
        except Exception:  # names the schema, never the value
            raise PoisonEvent("avro_encode", f"output does not fit schema {self.schema_id}"
                              ) from None
        return frame(self.schema_id, buf.getvalue())


def encode_json(obj: Any, what: str) -> bytes:
    """orjson, whose refusals (an integer beyond 64 bits, nesting over 254 levels) are a
    dead letter that names the part, not the value."""
    try:
        return orjson.dumps(obj)
    except orjson.JSONEncodeError:
        raise PoisonEvent("unencodable_output", f"the masked {what} cannot be written as JSON"
                          ) from None


class RecordCodec:
    def __init__(self, registry: SchemaRegistry | None) -> None:
        self.registry = registry
        self._outputs: dict[tuple[str, str, int | str], AvroOutput] = {}

    # -- input ------------------------------------------------------------------------------
    def decode(self, key: bytes | None, value: bytes | None, headers: Headers) -> Decoded:
        out = Decoded(None, None)
        if key is not None:
            out.key, out.key_writer = self._decode(key, headers, "key")
        if value is not None:
            out.value, out.value_writer = self._decode(value, headers, "value")
            if out.value_writer is not None and isinstance(out.value, dict):
                envelope_to_json_values(out.value)
        if out.key_writer is not None and isinstance(out.key, dict):
            out.key = to_base64(out.key)
        return out

    def _decode(self, data: bytes, headers: Headers, field: str) -> tuple[Any, WriterSchema | None]:
        header = id_header(headers, field) if headers else None
        if not is_avro(data, header):
            return decode_json(data, field), None
        if self.registry is None:
            raise PoisonEvent("no_schema_registry",
                              f"{field} is Avro; start with --schema-registry-url")
        ref, body = split(data, header, field)
        writer = self.registry.writer(ref)
        try:
            return fastavro.schemaless_reader(io.BytesIO(body), writer.parsed, None), writer
        except Exception:
            raise PoisonEvent("avro_undecodable",
                              f"{field} does not match its schema {writer.ref}") from None

    # -- output -----------------------------------------------------------------------------
    def encode_key(self, decoded: Decoded, view: ViewPlan, key: Any) -> bytes | None:
        if key is None:
            return None
        if decoded.key_writer is not None:
            return self._output(view, "key", decoded.key_writer).encode(key)
        if decoded.value_writer is not None:  # a truncate: its key is derived from the row
            return self._output(view, "truncate_key", decoded.value_writer).encode(key)
        return encode_json(key, "key")

    def encode_value(self, decoded: Decoded, view: ViewPlan, value: Any) -> bytes | None:
        if value is None:
            return None
        if decoded.value_writer is None:
            return encode_json(value, "value")
        return self._output(view, "value", decoded.value_writer).encode(value)

    def _output(self, view: ViewPlan, field: str, writer: WriterSchema) -> AvroOutput:
        cache_key = (view.topic, field, writer.ref)
        found = self._outputs.get(cache_key)
        if found is None:
            found = self._outputs[cache_key] = self._derive(view, field, writer)
        return found

    def _derive(self, view: ViewPlan, field: str, writer: WriterSchema) -> AvroOutput:
        assert self.registry is not None
        ns = derive.namespace(view.view, view.plan.table)
        rows: tuple[str, ...] = ("",)
        if field == "key":
            schema = derive.masked_key(view.plan, writer.schema, ns)
        elif field == "truncate_key":
            schema, field = derive.truncate_key(view.plan, writer.schema, ns), "key"
        else:
            schema = derive.value_schema(view.format, view.plan, writer.schema, ns)
            rows = derive.rows_of(view.format)
        return AvroOutput.registered(self.registry, f"{view.topic}-{field}", schema, rows)
