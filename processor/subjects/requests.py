"""Data-subject requests in the audit trail: who looked up, revealed or erased what, and why.

Each request is one record on the audit topic, hash-chained per requester like the
processor's transactions (``audit verify`` checks both). It names the subject only by its
pseudonyms and data key ids, never by the raw id or a revealed value.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from typing import Any

import orjson

from processor.errors import CrmMaskerError
from processor.governance.audit import ChainState, chained
from processor.kafka_client import deliver
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
    body = {"request": {"kind": request.kind, "requester": request.requester,
                        "reason": request.reason, **request.details}}
    return chained(body, chain, producer=request.producer, rules_version=validated.version,
                   rules_sha256=validated.sha256, now=now)


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
    deliver(bootstrap, extra, topic, [(request.producer.encode(), orjson.dumps(record))],
            "the audit record")
    return record
