"""The broker under the tests is real: transactions, read_committed and group offsets work."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.helpers import consume

pytestmark = pytest.mark.kafka


def _consume_all(bootstrap: str, topic: str, *, group: str | None = None,
                 isolation: str = "read_committed", expect: int | None = None,
                 idle_s: float = 3.0) -> list[bytes]:
    return [m.value() for m in consume(bootstrap, [topic], group=group, isolation=isolation,
                                       expect=expect, idle_s=idle_s)]


def _txn_producer(bootstrap: str) -> Producer:
    producer = Producer({"bootstrap.servers": bootstrap,
                         "transactional.id": f"tx-{uuid.uuid4().hex}"})
    producer.init_transactions(30)
    return producer


def test_committed_transaction_is_read_back_with_read_committed(
        kafka_bootstrap: str, make_topic: Callable[..., str]) -> None:
    topic = make_topic("txn-commit")
    producer = _txn_producer(kafka_bootstrap)
    producer.begin_transaction()
    for i in range(10):
        producer.produce(topic, value=f"v{i}".encode())
    producer.commit_transaction(30)

    values = _consume_all(kafka_bootstrap, topic, expect=10)
    assert values == [f"v{i}".encode() for i in range(10)]


def test_aborted_transaction_is_invisible_to_read_committed(
        kafka_bootstrap: str, make_topic: Callable[..., str]) -> None:
    topic = make_topic("txn-abort")
    producer = _txn_producer(kafka_bootstrap)
    producer.begin_transaction()
    producer.produce(topic, value=b"aborted")
    producer.flush(30)
    producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, value=b"committed")
    producer.commit_transaction(30)

    committed = _consume_all(kafka_bootstrap, topic, expect=1, idle_s=2)
    uncommitted = _consume_all(kafka_bootstrap, topic, isolation="read_uncommitted",
                               expect=2, idle_s=2)
    assert committed == [b"committed"]
    assert uncommitted == [b"aborted", b"committed"]


def test_consumer_group_commits_and_resumes(
        kafka_bootstrap: str, make_topic: Callable[..., str]) -> None:
    topic = make_topic("group")
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(5):
        producer.produce(topic, value=f"a{i}".encode())
    producer.flush(30)

    group = f"resume-{uuid.uuid4().hex}"
    first = _consume_all(kafka_bootstrap, topic, group=group, expect=5)
    for i in range(3):
        producer.produce(topic, value=f"b{i}".encode())
    producer.flush(30)
    second = _consume_all(kafka_bootstrap, topic, group=group, expect=3)

    assert first == [f"a{i}".encode() for i in range(5)]
    assert second == [f"b{i}".encode() for i in range(3)]
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group})
    committed = consumer.committed([TopicPartition(topic, 0)], timeout=10)
    consumer.close()
    assert committed[0].offset == 8
