"""What one transaction did: filled on the hot path, read at commit by the audit trail (its
record's body) and the Prometheus counters. The steps of a batch count into it through its
methods, whichever engine masked them."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from processor.formats.envelope import printable_column

if TYPE_CHECKING:
    from processor.masking.engine import Outcome
    from processor.masking.native import TopicTally

log = logging.getLogger(__name__)
#: schema drift is logged once per column, for at most this many columns
DRIFT_LOGGED_MAX = 1000


@dataclass
class TransactionFacts:
    """What one transaction did, filled on the hot path with plain counters; it becomes the
    audit record and, at commit, the Prometheus counters."""

    ranges: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    ops: Counter[tuple[str, str]] = field(default_factory=Counter)  # (table, op or skip reason)
    consumed: Counter[str] = field(default_factory=Counter)  # by source topic
    published: Counter[str] = field(default_factory=Counter)  # by output topic
    dlq: Counter[str] = field(default_factory=Counter)  # by reason
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    unknown_fields: Counter[str] = field(default_factory=Counter)  # by table
    #: events by the (shared) action counts of the plan that masked them; summed per action
    #: when read (``fields_masked``), so the hot path adds 1 instead of a dict per event
    masked_with: dict[int, list[Any]] = field(default_factory=dict)
    deletes: list[tuple[str, Any]] = field(default_factory=list)  # (table, masked key)
    #: data keys tombstoned by erasures (crypto-shredding): (table, data key id)
    shredded: list[tuple[str, str]] = field(default_factory=list)
    leak_rows: Counter[str] = field(default_factory=Counter)  # rows the leak watch inspected
    pii_suspected: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    anomalies: Counter[tuple[str, str]] = field(default_factory=Counter)  # (detector, severity)
    access_records: Counter[tuple[str, str]] = field(default_factory=Counter)  # (role, action)
    #: late access events that a windowed detector could not count, by detector
    late_missed: Counter[str] = field(default_factory=Counter)
    #: access events and user changes forwarded to the by-actor topic
    repartitioned: int = 0

    def count_masked(self, action_counts: dict[str, int], events: int = 1) -> None:
        """``events`` events masked with a plan whose columns use these actions."""
        if not action_counts or not events:
            return
        entry = self.masked_with.get(id(action_counts))
        if entry is None:
            self.masked_with[id(action_counts)] = [action_counts, events]  # keeps the dict alive
        else:
            entry[1] += events

    @property
    def fields_masked(self) -> Counter[str]:
        """Masked fields by action."""
        total: Counter[str] = Counter()
        for action_counts, events in self.masked_with.values():
            for action, columns in action_counts.items():
                total[action] += columns * events
        return total

    @property
    def outputs(self) -> int:
        return sum(self.published.values())

    def consumed_offset(self, topic: str, partition: int, offset: int) -> None:
        span = self.ranges.get((topic, partition))
        if span is None:
            self.ranges[(topic, partition)] = [offset, offset]
        else:
            span[1] = offset

    @property
    def inputs(self) -> int:
        return sum(self.ops.values()) + sum(self.dlq.values())

    def count_outcome(self, outcome: Outcome) -> None:
        """One event masked (or skipped on purpose) by the Python engine."""
        self.ops[(outcome.table, outcome.op or outcome.skipped or "?")] += 1
        if outcome.skipped:
            self.skipped[(outcome.table, outcome.skipped)] += 1
        if outcome.unknown_fields:
            self.unknown_fields[outcome.table] += len(outcome.unknown_fields)
            DRIFT.log(outcome.table, outcome.unknown_fields)
        if outcome.deleted:
            self.deletes.append((outcome.table, outcome.deleted_key))
        if outcome.shredded:
            self.shredded += [(outcome.table, data_key) for data_key in outcome.shredded]
        self.count_masked(outcome.action_counts)

    def count_tally(self, table: str, action_counts: dict[str, int], tally: TopicTally) -> None:
        """The events of one source topic that the native core masked in one call."""
        for op, events in tally.ops.items():
            self.ops[(table, op)] += events
        for reason, events in tally.skipped.items():
            self.skipped[(table, reason)] += events
        if tally.unknown_fields:
            self.unknown_fields[table] += tally.unknown_fields
            DRIFT.log(table, tally.unknown_names)
        self.count_masked(action_counts, tally.masked)
        self.published.update(tally.published)

    def audit_body(self) -> dict[str, Any]:
        """The audit record's body (``governance.audit.chained`` makes it a link of the chain):
        ranges and counts, masked keys of the deletes, shredded data keys; no personal data."""
        body: dict[str, Any] = {
            "inputs": [{"topic": t, "partition": p, "first_offset": lo, "last_offset": hi}
                       for (t, p), (lo, hi) in sorted(self.ranges.items())],
            "counts": {
                "inputs": self.inputs,
                "outputs": self.outputs,
                "dlq": sum(self.dlq.values()),
                "by_table_op": {f"{t}.{op}": n for (t, op), n in sorted(self.ops.items())},
                "dlq_by_reason": dict(sorted(self.dlq.items())),
                "fields_masked_by_action": dict(sorted(self.fields_masked.items())),
                "alerts": sum(self.anomalies.values()),
                **({"by_actor": self.repartitioned} if self.repartitioned else {}),
            },
            "deletes": [{"table": t, "key": k} for t, k in self.deletes],
        }
        if self.shredded:  # absent otherwise: the records before crypto-shredding hash alike
            body["shredded"] = [{"table": t, "data_key": k} for t, k in self.shredded]
        return body


class DriftLog:
    """Schema drift by name, once per column: no rule names it, so it is dropped."""

    def __init__(self) -> None:
        self._logged: set[tuple[str, str]] = set()

    def log(self, table: str, columns: list[str]) -> None:
        for column in columns:
            if (table, column) not in self._logged and len(self._logged) < DRIFT_LOGGED_MAX:
                self._logged.add((table, column))
                log.warning("schema drift: %s.%s has no rule; the column is dropped (add a rule "
                            "to publish it)", table, printable_column(column))


#: one per process: a column is reported once, not once per transaction
DRIFT = DriftLog()
