"""Read committed records (read_committed) by offset range: audit verify, erasures, scan, and
restoring the audit chain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from processor import kafka_client


def committed_reader(bootstrap: str, name: str, extra: dict[str, str]) -> Consumer:
    """A consumer that only assigns partitions and never commits offsets."""
    return Consumer({"bootstrap.servers": bootstrap, "group.id": f"crm-masker-reader-{name}",
                     "enable.auto.commit": False, "isolation.level": "read_committed",
                     # it reads ranges one partition after the other: a fetch that waits at the
                     # end of one (500 ms by default) holds up the next
                     "fetch.wait.max.ms": 20, **extra, "logger": kafka_client.KAFKA_LOG})


def partitions_of(consumer: Consumer, topic: str, timeout_s: float) -> list[int]:
    metadata = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise RuntimeError(f"no topic {topic}")
    return sorted(metadata.partitions)


def read_partition(consumer: Consumer, topic: str, partition: int, start: int, end: int,
                   timeout_s: float) -> Iterator[Message]:
    """Records with offsets in [start, end). Transaction markers and aborted records take
    offsets but yield nothing, so the end is found by the consumer's position."""
    consumer.assign([TopicPartition(topic, partition, start)])
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # short polls: a partition that ends in transaction markers is done when a poll
        # comes back empty at the end position, and a long one cost 0.5 s per partition
        msg = consumer.poll(0.1)
        if msg is None:
            if consumer.position([TopicPartition(topic, partition)])[0].offset >= end:
                return
            continue
        if msg.error():
            continue
        offset = msg.offset() or 0
        if offset >= end:
            return
        deadline = time.monotonic() + timeout_s
        yield msg
        if offset >= end - 1:
            return
    raise RuntimeError(f"reading {topic}[{partition}] {start}..{end} timed out")


def committed_ranges(consumer: Consumer, topic: str,
                     timeout_s: float) -> Iterator[tuple[int, int, int]]:
    """(partition, first offset, end offset) of each partition of ``topic`` that holds
    records; RuntimeError when the topic does not exist."""
    for pid in partitions_of(consumer, topic, timeout_s):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, pid), timeout=timeout_s)
        if high > low:
            yield pid, low, high


def read_messages(bootstrap: str, topic: str, extra: dict[str, str],
                  timeout_s: float = 30.0) -> Iterator[tuple[str, Message]]:
    """Every committed record of ``topic``, tombstones included, as (location, message), in
    log order per partition."""
    kafka_client.check_reachable(bootstrap, extra)
    consumer = committed_reader(bootstrap, topic, extra)
    try:
        for pid, low, high in committed_ranges(consumer, topic, timeout_s):
            for msg in read_partition(consumer, topic, pid, low, high, timeout_s):
                yield f"{topic}[{pid}]@{msg.offset()}", msg
    except KafkaException as exc:
        raise RuntimeError(f"cannot read {topic}: {exc.args[0].str()}") from None
    finally:
        consumer.close()


def read_all(bootstrap: str, topic: str, extra: dict[str, str],
             timeout_s: float = 30.0) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """Every committed record of ``topic`` as (location, decoded JSON or None), in log order;
    tombstones are left out."""
    for where, msg in read_messages(bootstrap, topic, extra, timeout_s):
        value = msg.value()
        if value is None:
            continue
        try:
            record = orjson.loads(value)
        except orjson.JSONDecodeError:
            record = None
        yield where, record
