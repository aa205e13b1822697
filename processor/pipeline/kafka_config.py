"""librdkafka settings for the processor's consumer and transactional producer.

Security and other client settings pass through unchanged: ``--kafka-option KEY=VALUE`` or
environment variables ``CRM_MASKER_KAFKA_<KEY>`` (``CRM_MASKER_KAFKA_SECURITY_PROTOCOL=SASL_SSL``
→ ``security.protocol``; ``__`` for an underscore: ``CRM_MASKER_KAFKA_LOG__LEVEL`` → ``log_level``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from processor.errors import CrmMaskerError
from processor.kafka_client import KAFKA_LOG

MESSAGE_MAX_BYTES = 1_000_000  # librdkafka's default message.max.bytes
TRANSACTION_TIMEOUT_MS = 60_000


#: settings that exactly-once rests on, or that have their own option: never overridden by
#: ``--kafka-option`` or ``CRM_MASKER_KAFKA_*`` (a wrong one loses or duplicates silently)
PROTECTED = {
    "isolation.level": "exactly-once reads committed inputs only",
    "enable.auto.commit": "offsets are committed in the producer's transaction",
    "enable.auto.offset.store": "offsets are committed in the producer's transaction",
    "transactional.id": "use --transactional-id",
    "enable.idempotence": "a transactional producer is idempotent",
    "acks": "a transactional producer needs acks=all",
    "group.id": "use --group-id",
    "group.instance.id": "it is the transactional id (static membership)",
    "bootstrap.servers": "use --bootstrap-servers",
}


def check_not_protected(extra: Mapping[str, str]) -> None:
    """A clear error for a pass-through setting that the processor must own."""
    for name in extra:
        if name in PROTECTED:
            raise CrmMaskerError(f"the client setting {name} cannot be changed: "
                                 f"{PROTECTED[name]}")


def consumer_config(bootstrap: str, group_id: str, instance_id: str,
                    extra: Mapping[str, str]) -> dict[str, Any]:
    check_not_protected(extra)
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        # Static membership (KIP-345): a restarted instance takes its partitions back at once
        # instead of waiting for the dead member's session to time out.
        "group.instance.id": instance_id,
        "session.timeout.ms": 15_000,
        "enable.auto.commit": False,          # offsets go into the producer's transaction
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",  # never process an aborted upstream write
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "range",
        # a source topic that Debezium creates later (a table's first row) joins the
        # subscription within this, not librdkafka's 5 minutes
        "topic.metadata.refresh.interval.ms": 10_000,
        **extra,
        "logger": KAFKA_LOG,
    }


def producer_config(bootstrap: str, transactional_id: str, extra: Mapping[str, str]) -> dict[str, Any]:
    check_not_protected(extra)
    return {
        "bootstrap.servers": bootstrap,
        "transactional.id": transactional_id,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "retry.backoff.ms": 20,               # librdkafka waits 100 ms by default on AddOffsets
        "compression.type": "lz4",
        "partitioner": "murmur2_random",      # same partitions as Java clients for the same key
        "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
        **extra,
        "logger": KAFKA_LOG,
    }


def transaction_call_timeout_s(extra: Mapping[str, str]) -> float:
    """How long one transactional call (commit, offsets) may take: half the transaction
    timeout, so that a retry still fits before the broker aborts the transaction; twice this,
    a call is taken for hung (the broker has aborted the transaction by then)."""
    try:
        return int(extra.get("transaction.timeout.ms", TRANSACTION_TIMEOUT_MS)) / 2000
    except ValueError:
        raise CrmMaskerError("transaction.timeout.ms must be a number of milliseconds") from None


def message_max_bytes(extra: Mapping[str, str]) -> int:
    """The largest record the producer sends (librdkafka refuses larger ones locally)."""
    try:
        return int(extra.get("message.max.bytes", MESSAGE_MAX_BYTES))
    except ValueError:
        raise CrmMaskerError("message.max.bytes must be a number of bytes") from None
