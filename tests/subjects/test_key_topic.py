"""The key topic's restore on a real broker: what a worker knows of the data keys after a
rebalance."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from processor.datakeys import WrappedKey
from processor.pipeline.key_topic import read_key_records

pytestmark = pytest.mark.kafka


def open_transaction(bootstrap: str, topic: str, key_id: str) -> Producer:
    """A transaction that has written one data key record and is not ended yet."""
    producer = Producer({"bootstrap.servers": bootstrap,
                         "transactional.id": f"test-keys-{uuid.uuid4().hex[:8]}"})
    producer.init_transactions(30)
    producer.begin_transaction()
    record = WrappedKey("kek-1", b"\x01" * 72, 1).to_json()
    producer.produce(topic, record, key_id.encode())
    producer.flush(30)
    return producer


def test_a_key_restore_waits_for_the_transactions_open_at_its_start(
        kafka_bootstrap: str, make_topic: Callable[..., str]) -> None:
    """The partitions' earlier owner committed its last transaction at the rebalance, but the
    brokers may not have written its markers yet: up to the last stable offset, the new owner
    would not see that transaction's keys and would make a second key under the same id. The
    restore waits for what was open at its start: a committed key is read, an aborted one
    not."""
    topic = make_topic("keys", config={"cleanup.policy": "compact"})
    before = open_transaction(kafka_bootstrap, topic, "contact/k:before")
    before.commit_transaction(30)
    committing = open_transaction(kafka_bootstrap, topic, "contact/k:committed-late")
    aborting = open_transaction(kafka_bootstrap, topic, "contact/k:aborted")

    def end_both() -> None:
        committing.commit_transaction(30)
        aborting.abort_transaction(30)

    ender = threading.Timer(2.0, end_both)
    ender.start()
    try:
        keys = [key_id for _, (key_id, _) in read_key_records(kafka_bootstrap, topic, {})]
    finally:
        ender.join()
    assert keys == ["contact/k:before", "contact/k:committed-late"]
