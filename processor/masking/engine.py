"""Mask one change event: route by topic, mask key and both images per view, render, tombstone.

Pure: no Kafka, no I/O. The offline ``mask`` command and the streaming processor both call
``MaskingEngine.process`` and differ only in where bytes come from and go to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from processor.errors import PoisonEvent
from processor.formats.envelope import ChangeEvent, parse_envelope, unwrap
from processor.masking.plan import FieldPlan
from processor.rules.compiler import CompiledRules, TableRoute


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


class MaskingEngine:
    def __init__(self, compiled: CompiledRules) -> None:
        self.compiled = compiled
        self._routes = compiled.routes
        self._shows_before = compiled.plans_showing_before()

    def route(self, topic: str) -> TableRoute:
        route = self._routes.get(topic)
        if route is None:
            raise PoisonEvent("unroutable", "no table in the rules reads this topic")
        return route

    def process(self, topic: str, key: Any, value: Any) -> Outcome:
        """Outputs for one input record (key and value already decoded from JSON)."""
        route = self.route(topic)
        if value is None:
            # Debezium's own tombstone: ours follow the masked delete, so this one is skipped.
            return Outcome(route.table, skipped="tombstone")
        event = parse_envelope(value)
        ts_ms = event.source.get("ts_ms")
        outcome = Outcome(route.table, op=event.op, event=event,
                          source_ts_ms=ts_ms if type(ts_ms) is int and -2**63 <= ts_ms < 2**63
                          else None)
        if event.op == "t":
            outcome.skipped = "truncate"
            return outcome
        row = event.row
        key = unwrap(key)
        masked: dict[int, tuple[Any, Any, Any]] = {}
        outcome.action_counts = route.action_counts
        for view in route.views:
            plan = view.plan
            done = masked.get(id(plan))
            if done is None:
                before = (event.before if event.op == "d" or id(plan) in self._shows_before
                          else None)
                done = self._mask(plan, key, before, event.after, row)
                masked[id(plan)] = done
                if not outcome.unknown_fields and row is not None:
                    outcome.unknown_fields = plan.unknown_fields(row)
                image = done[2] if done[2] is not None else done[1]
                if image is not None:
                    outcome.masked_rows.append((plan, image))
            masked_key, before, after = done
            outcome.records.append(OutputRecord(view.topic, masked_key,
                                                view.render(event, before, after)))
            if event.op == "d" and masked_key is not None:
                outcome.records.append(OutputRecord(view.topic, masked_key, None))
        if event.op == "d" and outcome.records:
            outcome.deleted, outcome.deleted_key = True, outcome.records[0].key
        return outcome

    @staticmethod
    def _mask(plan: FieldPlan, key: Any, before: dict[str, Any] | None,
              after: dict[str, Any] | None, row: dict[str, Any] | None) -> tuple[Any, Any, Any]:
        if key is None and row is not None:  # no message key: take the key columns of the row
            key = {name: row[name] for name, _ in plan.key_fields if name in row} or None
        masked_after = plan.mask_row(after) if after is not None else None
        masked_before = (plan.mask_row(before, after, masked_after)
                         if before is not None else None)
        return plan.mask_key(key), masked_before, masked_after
