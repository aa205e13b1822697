"""The audit trail on Kafka: restore a producer's chain, and add one record per transaction."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from confluent_kafka import KafkaException

from processor.governance.audit import ChainState, chained
from processor.pipeline.facts import TransactionFacts
from processor.pipeline.topic_reader import committed_reader, partitions_of, read_partition, watermarks

log = logging.getLogger(__name__)
SCAN_WINDOW = 2000


class AuditTrail:
    def __init__(self, topic: str, producer_id: str, rules_version: str, rules_sha256: str) -> None:
        self.topic = topic
        self.producer_id = producer_id
        self.rules_version = rules_version
        self.rules_sha256 = rules_sha256
        self.chain = ChainState()
        self.pending: ChainState | None = None

    def record(self, facts: TransactionFacts) -> tuple[bytes, bytes]:
        """Key and value of this transaction's audit record; the chain moves on at commit."""
        record = chained(facts.audit_body(), self.chain, producer=self.producer_id,
                         rules_version=self.rules_version, rules_sha256=self.rules_sha256)
        self.pending = ChainState(record["seq"], record["hash"])
        return self.producer_id.encode(), orjson.dumps(record)

    def committed(self) -> None:
        if self.pending is not None:
            self.chain, self.pending = self.pending, None

    def aborted(self) -> None:
        self.pending = None

    def restore(self, bootstrap: str, extra: dict[str, str], timeout_s: float = 30.0) -> None:
        """Continue the chain from this producer's last committed record on the audit topic.

        Call after ``init_transactions``: that aborts a crashed predecessor's open transaction,
        so what read_committed shows is final.
        """
        last = last_record_of(bootstrap, self.topic, self.producer_id, extra, timeout_s)
        if last is not None:
            self.chain = ChainState(int(last["seq"]), str(last["hash"]))
        log.info("audit chain of %s continues after seq %d", self.producer_id, self.chain.seq)


def last_record_of(bootstrap: str, topic: str, producer: str, extra: dict[str, str],
                   timeout_s: float = 30.0) -> dict[str, Any] | None:
    """The newest committed audit record keyed ``producer``, scanning back from the end."""
    consumer = committed_reader(bootstrap, f"audit-restore-{producer}", extra)
    key = producer.encode()
    try:
        for pid in partitions_of(consumer, topic, timeout_s):
            low, end = watermarks(consumer, topic, pid, timeout_s)
            while end > low:
                start = max(low, end - SCAN_WINDOW)
                found = None
                for msg in read_partition(consumer, topic, pid, start, end, timeout_s):
                    if msg.key() == key and msg.value() is not None:
                        found = msg.value()
                if found is not None:
                    return dict(orjson.loads(found))
                end = start
    except KafkaException as exc:
        raise RuntimeError(f"cannot read the audit topic {topic}: {exc.args[0].str()}") from None
    finally:
        consumer.close()
    return None
