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
from collections.abc import Iterable, Iterator
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


def erasures(records: Iterable[dict[str, Any] | None], pseudonym: str | None = None
             ) -> Iterator[dict[str, Any]]:
    """The propagated deletes and the shredded data keys in audit records, one line each
    (``{"time", "table", "key" or "shredded", "producer", "rules_version"}``); only those of
    ``pseudonym`` when it is given. A subject request's shreddings name the table ``erase``."""
    for record in records:
        if record is None:
            continue
        seen = {"time": record["time"], "producer": record["producer"],
                "rules_version": record["rules"]["version"]}
        for delete in record.get("deletes", []):
            key = delete.get("key")
            if not pseudonym or pseudonym in orjson.dumps(key).decode():
                yield {"time": seen["time"], "table": delete.get("table"), "key": key,
                       "producer": seen["producer"], "rules_version": seen["rules_version"]}
        request = record.get("request") or {}
        shredded = [(s.get("table"), s.get("data_key")) for s in record.get("shredded", [])] + \
            [("erase", data_key) for data_key in request.get("shredded", [])]
        for table, data_key in shredded:
            if not pseudonym or pseudonym in str(data_key):
                yield {"time": seen["time"], "table": table, "shredded": data_key,
                       "producer": seen["producer"], "rules_version": seen["rules_version"]}


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
