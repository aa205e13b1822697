"""Read committed records (read_committed) by offset range: audit verify, erasures, scan, and
restoring the audit chain."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import orjson
from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import TopicMetadata

from processor import kafka_client

log = logging.getLogger(__name__)
T = TypeVar("T")
#: records read at a time (``read_chunks``)
CHUNK = 500
#: errors of a broker connection going away, or of a partition's leadership moving, that
#: librdkafka does not flag retriable (seen right after a broker restart: a new leader answers
#: OFFSET_NOT_AVAILABLE until its high watermark has caught up; a client whose metadata lost
#: the partition for a moment says _UNKNOWN_PARTITION)
TRANSIENT = frozenset({KafkaError._DESTROY_BROKER, KafkaError._TRANSPORT, KafkaError._TIMED_OUT,
                       KafkaError._ALL_BROKERS_DOWN, KafkaError.NOT_LEADER_FOR_PARTITION,
                       KafkaError.LEADER_NOT_AVAILABLE, KafkaError._WAIT_COORD,
                       KafkaError.OFFSET_NOT_AVAILABLE, KafkaError.FENCED_LEADER_EPOCH,
                       KafkaError.UNKNOWN_LEADER_EPOCH, KafkaError.REPLICA_NOT_AVAILABLE,
                       KafkaError._UNKNOWN_PARTITION})


def committed_reader(bootstrap: str, name: str, extra: dict[str, str]) -> Consumer:
    """A consumer that only assigns partitions and never commits offsets."""
    return Consumer({"bootstrap.servers": bootstrap, "group.id": f"crm-masker-reader-{name}",
                     "enable.auto.commit": False, "isolation.level": "read_committed",
                     # it reads ranges one partition after the other: a fetch that waits at the
                     # end of one (500 ms by default) holds up the next
                     "fetch.wait.max.ms": 20, **extra, "logger": kafka_client.KAFKA_LOG})


def partitions_of(client: Consumer | Producer, topic: str, timeout_s: float) -> list[int]:
    """The topic's partition ids. Inside a consumer's rebalance callback pass another client
    (the producer): ``list_topics`` on the consumer whose ``consume`` is running clears
    confluent-kafka's per-handle call state, and the next log or error callback of that
    ``consume`` aborts the process (``CallState_get: Assertion `cs != NULL' failed``)."""
    def query(left: float) -> TopicMetadata | None:
        metadata = client.list_topics(topic, timeout=left).topics.get(topic)
        if metadata is not None and metadata.error is not None \
                and metadata.error.code() in TRANSIENT:  # its leader moving: ask again
            raise KafkaException(metadata.error)
        return metadata

    metadata = patiently(query, timeout_s)
    if metadata is None or metadata.error is not None:
        raise RuntimeError(f"no topic {topic}")
    return sorted(metadata.partitions)


def patiently(call: Callable[[float], T], timeout_s: float) -> T:
    """``call(seconds left)``, again while it fails because a broker is away (restarting, its
    leadership moving), for up to ``timeout_s``: the processor's start-up and rebalance reads
    must ride out a broker restart, not stop on it. A refusal (no such topic, not
    authorized) is raised at once."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return call(max(1.0, deadline - time.monotonic()))
        except KafkaException as exc:
            err = exc.args[0]
            if not (err.retriable() or err.code() in TRANSIENT) or time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def watermarks(consumer: Consumer, topic: str, partition: int,
               timeout_s: float) -> tuple[int, int]:
    """(low, high) offsets of a partition, waiting out a broker that is away."""
    low, high = patiently(lambda left: consumer.get_watermark_offsets(
        TopicPartition(topic, partition), timeout=left), timeout_s)
    return int(low), int(high)


def committed(consumer: Consumer, partitions: list[TopicPartition],
              timeout_s: float = 30.0) -> list[TopicPartition]:
    """The group's committed offsets, waiting out a broker (or coordinator) that is away."""
    return list(patiently(lambda left: consumer.committed(partitions, timeout=left), timeout_s))


def replay(bootstrap: str, name: str, extra: dict[str, str],
           committed: list[TopicPartition], handle: Callable[[Message], object],
           timeout_s: float = 60.0) -> int:
    """Hand each committed record before the partitions' committed offsets to ``handle``,
    from their low watermarks (an internal topic's state, rebuilt as it was at the last
    commit); the number handed. No reader is started when nothing is committed."""
    if not any(tp.offset > 0 for tp in committed):
        return 0
    replayed = 0
    reader = committed_reader(bootstrap, name, extra)
    try:
        for tp in committed:
            low, _ = watermarks(reader, tp.topic, tp.partition, timeout_s)
            if tp.offset <= low:  # nothing kept before it
                continue
            for msg in read_partition(reader, tp.topic, tp.partition, low, tp.offset,
                                      timeout_s):
                handle(msg)
                replayed += 1
    finally:
        reader.close()
    return replayed


def read_partition(consumer: Consumer, topic: str, partition: int, start: int, end: int,
                   timeout_s: float) -> Iterator[Message]:
    """Records with offsets in [start, end) (see ``read_chunks``)."""
    for chunk in read_chunks(consumer, topic, partition, start, end, timeout_s):
        yield from chunk


def read_chunks(consumer: Consumer, topic: str, partition: int, start: int, end: int,
                timeout_s: float, size: int = CHUNK) -> Iterator[list[Message]]:
    """Records with offsets in [start, end), in lists of up to ``size``: what the consumer
    has fetched (a state's restore reads whole topics at every start; one call per record
    cost more than the record's own work). Transaction markers and aborted records take
    offsets but yield nothing, so the end is found by the consumer's position."""
    consumer.assign([TopicPartition(topic, partition, start)])
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # what is fetched, without waiting; else a short wait for the next record: a
        # partition that ends in transaction markers is done when that comes back empty at
        # the end position (a long wait cost 0.5 s per partition)
        msgs = consumer.consume(size, 0) or consumer.consume(1, 0.1)
        if not msgs:
            if consumer.position([TopicPartition(topic, partition)])[0].offset >= end:
                return
            continue
        read = [m for m in msgs if not m.error()]  # in offset order: one partition
        chunk = [m for m in read if (m.offset() or 0) < end]
        if chunk:
            deadline = time.monotonic() + timeout_s
            yield chunk
        if read and (read[-1].offset() or 0) >= end - 1:
            return
    raise RuntimeError(f"reading {topic}[{partition}] {start}..{end} timed out")


def read_to_the_end(consumer: Consumer, partitions: list[TopicPartition]) -> bool:
    """Every partition fetched at least once, and none read behind the end that its last
    fetch saw (for a read_committed consumer the last stable offset; transaction markers
    move the position on): a quiet spell is no end of input while a partition's first fetch
    has not come back (its offsets being looked up on a loaded machine, its leader moving) —
    a batch job (``run --exit-when-idle``) would stop with input left."""
    try:
        positions = consumer.position(partitions)
    except KafkaException:
        return False
    for tp in positions:
        _, end = consumer.get_watermark_offsets(tp, cached=True)
        if end < 0 or 0 <= tp.offset < end:  # never fetched, or records left
            return False
    return True


def committed_ranges(consumer: Consumer, topic: str, timeout_s: float,
                     ends: Consumer | None = None,
                     since: dict[int, int] | None = None) -> Iterator[tuple[int, int, int]]:
    """(partition, first offset, end offset) of each partition of ``topic`` that holds
    records; RuntimeError when the topic does not exist. The end is the last stable offset
    (a read_committed consumer's high watermark: no transaction open before it), or with
    ``ends`` (a read_uncommitted consumer) the high watermark itself. ``since``: the offset
    per partition where an earlier read ended (the first offset, when the log still holds
    it)."""
    for pid in partitions_of(consumer, topic, timeout_s):
        low, high = watermarks(consumer, topic, pid, timeout_s)
        if since is not None:
            start = since.get(pid, low)
            low = max(low, start) if start <= high else low  # beyond the end: a new log
        if ends is not None:
            stable, high = high, max(high, watermarks(ends, topic, pid, timeout_s)[1])
            if high > stable:  # an operator should know why a start or rebalance waits
                log.info("%s[%d]: waiting for the transactions open after offset %d to end "
                         "(a killed worker's ends when its successor starts, or at the "
                         "transaction timeout)", topic, pid, stable)
        if high > low or since is not None:
            yield pid, low, high


def read_messages(bootstrap: str, topic: str, extra: dict[str, str],
                  timeout_s: float = 30.0, settle_open: bool = False,
                  since: dict[int, int] | None = None) -> Iterator[tuple[str, Message]]:
    """Every committed record of ``topic``, tombstones included, as (location, message), in
    log order per partition.

    ``settle_open``: also the transactions open at the call, once they end (their records if
    committed, none if aborted), waiting up to ``timeout_s`` for each: a transaction that
    another process has committed is open here until the brokers have written its markers,
    which a broker's restart can delay by seconds.

    ``since``: read on from where an earlier read ended (offset per partition; a partition
    not in it from its start); each partition's end is written into it once it is read."""
    kafka_client.check_reachable(bootstrap, extra)
    consumer = committed_reader(bootstrap, topic, extra)
    ends = (Consumer({"bootstrap.servers": bootstrap, **extra, "group.id": "crm-masker-ends",
                      "isolation.level": "read_uncommitted", "logger": kafka_client.KAFKA_LOG})
            if settle_open else None)
    try:
        for pid, low, high in committed_ranges(consumer, topic, timeout_s, ends, since):
            if high > low:
                for msg in read_partition(consumer, topic, pid, low, high, timeout_s):
                    yield f"{topic}[{pid}]@{msg.offset()}", msg
            if since is not None:
                since[pid] = high
    except KafkaException as exc:
        raise RuntimeError(f"cannot read {topic}: {exc.args[0].str()}") from None
    finally:
        consumer.close()
        if ends is not None:
            ends.close()


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
