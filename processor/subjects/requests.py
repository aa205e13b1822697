"""Data-subject requests in the audit trail: who looked up, revealed or erased what, and why.

Each request is one record on the audit topic, hash-chained per requester like the
processor's transactions (``audit verify`` checks both). It names the subject only by its
pseudonyms and data key ids, never by the raw id or a revealed value.
"""

from __future__ import annotations

import getpass
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import KafkaException, Producer

from processor.errors import CrmMaskerError
from processor.governance.audit import FORMAT_VERSION, ChainState, record_hash
from processor.pipeline.audit_trail import last_record_of
from processor.rules import ValidatedRules

KINDS = ("subject_lookup", "reveal", "erase")


def requester_of(given: str | None, kafka: dict[str, str]) -> str:
    """Who asks: as given, else the Kafka principal (SASL user name), else the OS user."""
    return given or kafka.get("sasl.username") or getpass.getuser()


@dataclass
class Request:
    kind: str
    requester: str
    reason: str
    #: what the request concerned and found, without personal data (pseudonyms, counts)
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown request kind {self.kind!r}")
        if not self.reason.strip():
            raise CrmMaskerError("give the legal reason of the request with --reason (it goes "
                                 "to the audit trail)")

    @property
    def producer(self) -> str:
        return f"request/{self.requester}"


def request_record(request: Request, chain: ChainState, validated: ValidatedRules,
                   now: float | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "producer": request.producer,
        "seq": chain.seq + 1,
        "prev_hash": chain.last_hash,
        "time": round(now if now is not None else time.time(), 3),
        "rules": {"version": validated.version, "sha256": validated.sha256},
        "request": {"kind": request.kind, "requester": request.requester,
                    "reason": request.reason, **request.details},
    }
    record["hash"] = record_hash(record)
    return record


def write_request(request: Request, validated: ValidatedRules, bootstrap: str,
                  extra: dict[str, str]) -> dict[str, Any]:
    """Append ``request`` to its requester's chain on the audit topic; the record written."""
    topic = validated.rules.audit_topic
    try:
        last = last_record_of(bootstrap, topic, request.producer, extra)
    except RuntimeError as exc:
        raise CrmMaskerError(f"{exc}; the request is not made without its audit record"
                             ) from None
    chain = ChainState(int(last["seq"]), str(last["hash"])) if last else ChainState()
    record = request_record(request, chain, validated)
    failures: list[str] = []
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **extra})
    try:
        producer.produce(topic, key=request.producer.encode(), value=orjson.dumps(record),
                         on_delivery=lambda err, _msg: failures.append(str(err)) if err else None)
        left = producer.flush(30)
    except KafkaException as exc:
        raise CrmMaskerError(f"cannot write the audit record to {topic}: "
                             f"{exc.args[0].str()}") from None
    if left or failures:
        raise CrmMaskerError(f"the audit record did not reach {topic}"
                             + (f": {failures[0]}" if failures else ""))
    return record
