"""A tamper-evident audit trail: one record per committed transaction, hash-chained per producer.

Each record says what one transaction did — input ranges, counts per table/op/action, deletes
propagated (by pseudonymous key), dead letters — and under which rule set, with no personal
data. It is written in the same transaction as the outputs, so it exists exactly when they do.
Each record carries the hash of the previous record of the same producer (its transactional
id): a removed, reordered or altered record breaks the chain, and ``verify`` finds where.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

GENESIS = "0" * 64
FORMAT_VERSION = 1


def record_hash(record: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the record without its own hash."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass
class ChainState:
    """Where a producer's chain stands: the last committed record's sequence and hash."""

    seq: int = 0
    last_hash: str = GENESIS


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


def chained(body: dict[str, Any], chain: ChainState, *, producer: str, rules_version: str,
            rules_sha256: str, now: float | None = None) -> dict[str, Any]:
    """``body`` as the next record of ``producer``'s chain: its place in the chain, the time,
    the rule set, and the hash over all of it. The processor's transactions and the data
    subjects' requests are chained alike, so ``verify`` checks both."""
    record: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "producer": producer,
        "seq": chain.seq + 1,
        "prev_hash": chain.last_hash,
        "time": round(now if now is not None else time.time(), 3),
        "rules": {"version": rules_version, "sha256": rules_sha256},
        **body,
    }
    record["hash"] = record_hash(record)
    return record


def build_record(audit: TransactionFacts, chain: ChainState, *, producer: str,
                 rules_version: str, rules_sha256: str, now: float | None = None) -> dict[str, Any]:
    """The next audit record of ``producer``'s chain (not yet committed)."""
    body: dict[str, Any] = {
        "inputs": [{"topic": t, "partition": p, "first_offset": lo, "last_offset": hi}
                   for (t, p), (lo, hi) in sorted(audit.ranges.items())],
        "counts": {
            "inputs": audit.inputs,
            "outputs": audit.outputs,
            "dlq": sum(audit.dlq.values()),
            "by_table_op": {f"{t}.{op}": n for (t, op), n in sorted(audit.ops.items())},
            "dlq_by_reason": dict(sorted(audit.dlq.items())),
            "fields_masked_by_action": dict(sorted(audit.fields_masked.items())),
            "alerts": sum(audit.anomalies.values()),
            **({"by_actor": audit.repartitioned} if audit.repartitioned else {}),
        },
        "deletes": [{"table": t, "key": k} for t, k in audit.deletes],
    }
    if audit.shredded:  # absent otherwise: the records before crypto-shredding hash alike
        body["shredded"] = [{"table": t, "data_key": k} for t, k in audit.shredded]
    return chained(body, chain, producer=producer, rules_version=rules_version,
                   rules_sha256=rules_sha256, now=now)


@dataclass
class ChainBreak:
    producer: str
    where: str
    problem: str


@dataclass
class VerifyReport:
    records: int = 0
    producers: int = 0
    inputs: int = 0
    outputs: int = 0
    dlq: int = 0
    deletes: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks


def verify(records: Iterable[tuple[str, dict[str, Any] | None]]) -> VerifyReport:
    """Check every producer's chain; ``records`` are (location, decoded record) in log order."""
    report = VerifyReport()
    chains: dict[str, ChainState] = {}
    for where, record in records:
        if not isinstance(record, dict) or "producer" not in record:
            report.breaks.append(ChainBreak("?", where, "not an audit record"))
            continue
        producer = str(record["producer"])
        chain = chains.setdefault(producer, ChainState())
        report.records += 1
        if record.get("hash") != record_hash(record):
            report.breaks.append(ChainBreak(producer, where, "content does not match its hash "
                                                              "(altered)"))
        elif record.get("seq") != chain.seq + 1:
            report.breaks.append(ChainBreak(producer, where, f"sequence {record.get('seq')} "
                                                              f"follows {chain.seq} (missing or "
                                                              "reordered records)"))
        elif record.get("prev_hash") != chain.last_hash:
            report.breaks.append(ChainBreak(producer, where, "previous hash does not match "
                                                              "(a record was removed)"))
        counts = record.get("counts", {})
        report.inputs += int(counts.get("inputs", 0))
        report.outputs += int(counts.get("outputs", 0))
        report.dlq += int(counts.get("dlq", 0))
        report.deletes += len(record.get("deletes", []))
        chains[producer] = ChainState(int(record.get("seq", 0)), str(record.get("hash", "")))
    report.producers = len(chains)
    return report
