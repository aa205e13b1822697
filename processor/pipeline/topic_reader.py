"""Read a whole topic as committed (read_committed): for audit verify, erasures and scan."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, TopicPartition


def read_all(bootstrap: str, topic: str, extra: dict[str, str],
             timeout_s: float = 30.0) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """Every committed record of ``topic`` as (location, decoded JSON or None), in log order."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"crm-masker-reader-{topic}",
                         "enable.auto.commit": False, "isolation.level": "read_committed",
                         **extra})
    try:
        try:
            partitions = consumer.list_topics(topic, timeout=timeout_s).topics[topic].partitions
        except KeyError:
            raise RuntimeError(f"no topic {topic}") from None
        for pid in sorted(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, pid),
                                                       timeout=timeout_s)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, pid, low)])
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is None:
                    if consumer.position([TopicPartition(topic, pid)])[0].offset >= high:
                        break
                    continue
                if msg.error() or msg.value() is None:
                    continue
                deadline = time.monotonic() + timeout_s
                try:
                    record = orjson.loads(msg.value() or b"")
                except orjson.JSONDecodeError:
                    record = None
                yield f"{topic}[{pid}]@{msg.offset()}", record
                if (msg.offset() or 0) >= high - 1:
                    break
    except KafkaException as exc:
        raise RuntimeError(f"cannot read {topic}: {exc.args[0].str()}") from None
    finally:
        consumer.close()
