"""When a consumer has read its partitions to the end (``run --exit-when-idle``), on a real
broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from processor.pipeline.topic_reader import read_to_the_end

pytestmark = pytest.mark.kafka


def test_the_end_is_reached_only_after_a_fetch_and_the_last_record_and_marker(
        kafka_bootstrap: str, make_topic: Callable[..., str]) -> None:
    """Before its first fetch a partition is not at its end (no end is known yet: a quiet
    spell then is no end of input); with records left it is not either; after the last
    record — and a transaction's commit marker behind it — it is."""
    plain, transactional = make_topic("plain"), make_topic("txn")
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(3):
        producer.produce(plain, str(i).encode())
    producer.flush(30)
    writer = Producer({"bootstrap.servers": kafka_bootstrap,
                       "transactional.id": f"test-end-{uuid.uuid4().hex[:8]}"})
    writer.init_transactions(30)
    writer.begin_transaction()
    writer.produce(transactional, b"committed")
    writer.commit_transaction(30)  # its marker is the partition's last offset

    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": uuid.uuid4().hex,
                         "isolation.level": "read_committed", "enable.auto.commit": False,
                         "fetch.wait.max.ms": 50})
    partitions = [TopicPartition(plain, 0, 0), TopicPartition(transactional, 0, 0)]
    try:
        consumer.assign(partitions)
        assert not read_to_the_end(consumer, partitions)  # nothing fetched yet
        first = consumer.consume(1, 10)
        assert len(first) == 1 and not first[0].error()
        assert not read_to_the_end(consumer, partitions)  # records left
        read = 1
        deadline = time.monotonic() + 20
        while not read_to_the_end(consumer, partitions):
            assert time.monotonic() < deadline, "the end was never reached"
            read += sum(1 for m in consumer.consume(10, 0.2) if not m.error())
        assert read == 4
    finally:
        consumer.close()
