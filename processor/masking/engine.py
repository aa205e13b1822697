"""Mask one change event: route by topic, mask key and both images per view, render, tombstone.

Pure: no Kafka, no I/O. The offline ``mask`` command and the streaming processor both call
``MaskingEngine.process`` and differ only in where bytes come from and go to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson

from processor.errors import PoisonEvent
from processor.formats.decoded import Decoder, decode_row, decoder_of
from processor.formats.envelope import ChangeEvent, parse_envelope, unwrap
from processor.formats.envelope import connect_schema as schema_of
from processor.formats.logical_types import RowTypes, of_connect_envelope
from processor.masking import connect_schema
from processor.masking.compiler import CompiledRules, TableRoute, ViewPlan
from processor.masking.plan import ABSENT, FieldPlan


@dataclass(slots=True)
class OutputRecord:
    topic: str
    key: Any
    value: Any  # None: a tombstone


@dataclass(slots=True)
class Outcome:
    table: str
    op: str | None = None
    records: list[OutputRecord] = field(default_factory=list)
    #: why the event produced nothing on purpose (an input tombstone, a truncate)
    skipped: str | None = None
    unknown_fields: list[str] = field(default_factory=list)
    #: action → columns handled, for the fields-masked metric
    action_counts: dict[str, int] = field(default_factory=dict)
    #: the masked row images with the plan that made them (for the leak watch)
    masked_rows: list[tuple[FieldPlan, dict[str, Any]]] = field(default_factory=list)
    #: the parsed input (raw values: for anomaly detection only, never published)
    event: ChangeEvent | None = None
    #: the source's ``ts_ms`` (commit time in the CRM), for the end-to-end latency
    source_ts_ms: int | None = None
    #: a delete was propagated, under this masked key (for the audit trail)
    deleted: bool = False
    deleted_key: Any = None
    #: published columns left out because Debezium sent its placeholder, not a value
    unavailable: list[str] = field(default_factory=list)
    #: the data keys that this delete shredded (ids: the subject's pseudonyms)
    shredded: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SourceSchema:
    """The Kafka Connect schema of an event's key or value, and its JSON: the key of the
    caches of what the schema implies, written once per event."""

    part: str  # "key" or "value"
    schema: dict[str, Any]
    text: bytes

    @classmethod
    def of(cls, part: str, schema: dict[str, Any] | None) -> SourceSchema | None:
        if schema is None:
            return None
        try:
            return cls(part, schema, orjson.dumps(schema))
        except orjson.JSONEncodeError:  # deeper than orjson writes: no schema a view can carry
            raise PoisonEvent("unsupported_schema", f"the Connect schema of the {part}"
                              ) from None


class MaskingEngine:
    def __init__(self, compiled: CompiledRules) -> None:
        self.compiled = compiled
        self._routes = compiled.routes
        self._shows_before = compiled.plans_showing_before()
        #: masked Connect schemas by (view topic, key or value, the source schema's JSON)
        self._schemas: dict[tuple[str, str, bytes, frozenset[str]], dict[str, Any]] = {}
        #: the row types that a Connect schema names, by its JSON
        self._connect_types: dict[bytes, RowTypes] = {}
        #: plans as the row types of a schema read them, by (plan, types)
        self._typed: PairCache[FieldPlan, RowTypes, FieldPlan] = PairCache(
            lambda plan, types: plan.for_types(types))
        #: the ``bi`` format's decoders by (plan, types)
        self._decoder_cache: PairCache[FieldPlan, RowTypes | None, dict[str, Decoder]] = \
            PairCache(_bi_decoders)

    def route(self, topic: str) -> TableRoute:
        route = self._routes.get(topic)
        if route is None:
            raise PoisonEvent("unroutable", "no table in the rules reads this topic")
        return route

    def process(self, topic: str, key: Any, value: Any, types: RowTypes | None = None) -> Outcome:
        """Outputs for one input record (key and value already decoded from JSON or Avro);
        ``types``: the row's logical types as an Avro writer schema names them (a Connect
        schema in the event names its own)."""
        route = self.route(topic)
        if value is None:
            # Debezium's own tombstone: ours follow the masked delete, so this one is skipped.
            return Outcome(route.table, skipped="tombstone")
        event = parse_envelope(value)
        ts_ms = event.source.get("ts_ms")
        outcome = Outcome(route.table, op=event.op, event=event,
                          source_ts_ms=ts_ms if type(ts_ms) is int and -2**63 <= ts_ms < 2**63
                          else None)
        value_schema = SourceSchema.of("value", event.schema)
        if event.op == "t":  # every view forgets the table's rows: a masked truncate
            outcome.action_counts = route.action_counts
            for view in route.views:
                key, value = view.plan.truncate_key(), view.format.render(event, None, None)
                if value_schema is not None and not view.format.decodes_logical_types:
                    if key is not None:
                        key = {"schema": connect_schema.truncate_key(view.plan), "payload": key}
                    value = self._wrapped(view, value_schema, value)
                outcome.records.append(OutputRecord(view.topic, key, value))
            return outcome
        row = event.row
        names = self.compiled.names
        if names is not None and route.name_columns:  # learnt before this row is masked
            for image in (event.after, event.before):
                if image is not None:
                    names.add(image.get(column) for column in route.name_columns)
        avro = types is not None  # Avro records keep their logical types
        if types is None and value_schema is not None:
            types = self._types_of_connect(value_schema)
        key_schema = SourceSchema.of("key", schema_of(key))
        key = unwrap(key)
        masked: dict[int, tuple[Any, Any, Any]] = {}
        outcome.action_counts = route.action_counts
        for view in route.views:
            plan = view.plan if not types else self._plan_for(view.plan, types)
            done = masked.get(id(plan))
            if done is None:
                before = (event.before if event.op == "d" or id(plan) in self._shows_before
                          else None)
                done = self._mask(plan, key, before, event.after, row)
                masked[id(plan)] = done
                if not outcome.unknown_fields and row is not None:
                    outcome.unknown_fields = plan.unknown_fields(row)
                if row is not None and not outcome.unavailable:
                    outcome.unavailable = plan.unavailable(row)
                image = done[2] if done[2] is not None else done[1]
                if image is not None:
                    outcome.masked_rows.append((plan, image))
            masked_key, before, after = done
            value = view.format.render(event, before, after)
            if view.format.decodes_logical_types and not avro:  # plain JSON for BI tools
                value = decode_row(value, self._decoders(plan, types))
            else:
                if key_schema is not None and masked_key is not None:
                    masked_key = self._wrapped(view, key_schema, masked_key)
                value = self._with_schema(view, value_schema, value,
                                          frozenset(outcome.unavailable))
            outcome.records.append(OutputRecord(view.topic, masked_key, value))
            if event.op == "d" and masked_key is not None:
                outcome.records.append(OutputRecord(view.topic, masked_key, None))
        if event.op == "d" and outcome.records:
            outcome.deleted, outcome.deleted_key = True, outcome.records[0].key
        if event.op == "d" and route.shreds is not None:
            outcome.shredded = self.compiled.shred(route, event.before, key)
        return outcome

    def _types_of_connect(self, source: SourceSchema) -> RowTypes:
        found = self._connect_types.get(source.text)
        if found is None:
            if len(self._connect_types) > 10_000:
                self._connect_types.clear()
            found = self._connect_types[source.text] = of_connect_envelope(source.schema)
        return found

    def _decoders(self, plan: FieldPlan, types: RowTypes | None) -> dict[str, Decoder]:
        return self._decoder_cache.get(plan, types)

    def _plan_for(self, plan: FieldPlan, types: RowTypes) -> FieldPlan:
        """``plan`` as a schema's logical types read it (cached while ``types`` lives)."""
        return self._typed.get(plan, types)

    def _with_schema(self, view: ViewPlan, source: SourceSchema | None,
                     value: dict[str, Any], omit: frozenset[str] = frozenset()) -> dict[str, Any]:
        return value if source is None else self._wrapped(view, source, value, omit)

    def _wrapped(self, view: ViewPlan, source: SourceSchema, payload: Any,
                 omit: frozenset[str] = frozenset()) -> dict[str, Any]:
        """``payload`` as the JSON converter with schemas writes it, under the masked schema
        that ``source`` and the view's rules imply; without the columns ``omit`` that
        Debezium could not send this time (a sink keeps what it has of them)."""
        part = source.part
        try:
            cache_key = (view.topic, part, source.text, omit)
            masked = self._schemas.get(cache_key)
            if masked is None:
                if len(self._schemas) > 10_000:
                    self._schemas.clear()
                name = f"crm_masker.{view.view}.{view.plan.table}"
                masked = self._schemas[cache_key] = (
                    connect_schema.masked_key(view.plan, source.schema) if part == "key"
                    else connect_schema.value_schema(view.format, view.plan, source.schema,
                                                     name, omit))
        except Exception:  # a schema that is not Kafka Connect's: its part, never its text
            raise PoisonEvent("unsupported_schema", f"the Connect schema of the {part}") from None
        return {"schema": masked, "payload": payload}

    @staticmethod
    def _mask(plan: FieldPlan, key: Any, before: dict[str, Any] | None,
              after: dict[str, Any] | None, row: dict[str, Any] | None) -> tuple[Any, Any, Any]:
        if key is None and row is not None:  # no message key: take the key columns of the row
            key = {name: row[name] for name, _ in plan.key_fields if name in row} or None
        masked_after = plan.mask_row(after) if after is not None else None
        masked_before = (plan.mask_row(before, after, masked_after)
                         if before is not None else None)
        return plan.mask_key(key), masked_before, masked_after


A = TypeVar("A")
B = TypeVar("B")
V = TypeVar("V")


class PairCache(Generic[A, B, V]):
    """``make(a, b)`` remembered by the identity of ``a`` and ``b`` (plans and row types have
    no cheap equality, and one schema's types live as long as the schema is met). Each entry
    holds its objects, so their ids cannot be reused while it stands; bounded."""

    def __init__(self, make: Callable[[A, B], V], limit: int = 10_000) -> None:
        self._make = make
        self._limit = limit
        self._entries: dict[tuple[int, int], tuple[A, B, V]] = {}

    def get(self, a: A, b: B) -> V:
        found = self._entries.get((id(a), id(b)))
        if found is None or found[0] is not a or found[1] is not b:
            if len(self._entries) > self._limit:
                self._entries.clear()
            found = self._entries[(id(a), id(b))] = (a, b, self._make(a, b))
        return found[2]


def _bi_decoders(plan: FieldPlan, types: RowTypes | None) -> dict[str, Decoder]:
    """How the ``bi`` format decodes the published columns that keep their input's type:
    by the event's schema, else by the encodings that the rules declare."""
    named = types if types else plan.declared
    decoders = {}
    for column, outputs in plan.outputs:
        logical = named.get(column)
        decoder = decoder_of(logical) if logical is not None else None
        if decoder is not None and all(out is None for out in outputs
                                       if out not in ("null", ABSENT)):
            decoders[column] = decoder
    return decoders
