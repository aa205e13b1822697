"""The key topic's restore on a real broker: what a worker knows of the data keys after a
rebalance, and what it reads on while it runs."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from processor.datakeys import DATA_KEY_BYTES, DataKeyStore, WrappedKey, active_kek_id, kek_of
from processor.pipeline.key_topic import KeyTopicTail, read_key_records, write_key_records
from tests.helpers import demo_keks, demo_keys

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


def test_a_worker_reads_the_key_topic_whole_once_then_only_what_was_written_since(
        kafka_bootstrap: str, make_topic: Callable[..., str]) -> None:
    """A rebalance reads the records since the last read (not every subject's key again),
    and a tombstone that `erase` wrote outside the processor takes the key out of the running
    worker's store; a read longer ago than the tombstones are kept is whole again."""
    topic = make_topic("keys", config={"cleanup.policy": "compact"})
    maker = DataKeyStore(topic, demo_keks(), demo_keys(), "k2026a")
    first = [maker.data_key("contact", n) for n in (1, 2)]
    write_key_records(kafka_bootstrap, topic, {}, records_of(maker))
    worker = DataKeyStore(topic, demo_keks(), demo_keys(), "k2026a")
    tail = KeyTopicTail(worker, kafka_bootstrap, {}, stale_after_s=3600)

    whole, records = tail.read()
    assert whole
    worker.restore(records)
    assert len(worker) == 2 and worker.data_key("contact", 1) == first[0]

    third = maker.data_key("contact", 3)  # another worker's new subject, then an erasure
    write_key_records(kafka_bootstrap, topic, {}, records_of(maker))
    write_key_records(kafka_bootstrap, topic, {}, [(first[1][0], None)])
    whole, records = tail.read()
    read = list(records)
    assert not whole and [key_id for _, (key_id, _) in read] == [third[0], first[1][0]]
    assert worker.follow(read) == (1, 1)
    assert worker.data_key("contact", 3) == third
    worker.committed()
    assert first[1][0] not in dict(worker.pending())  # nothing pending before the next value
    made_again = worker.data_key("contact", 2)  # the erased subject's next value: a new key
    assert made_again[0] == first[1][0] and made_again[1] != first[1][1]
    worker.aborted()

    # a known id's latest record wins, as on the compacted topic; a known key re-wrapped by
    # a KEK that this worker does not hold yet (a rotation before its restart) is kept
    keks = demo_keks()
    other = os.urandom(DATA_KEY_BYTES)
    write_key_records(kafka_bootstrap, topic, {}, [
        (first[0][0], WrappedKey.wrap(active_kek_id(keks), kek_of(keks, active_kek_id(keks)),
                                      other)),
        (third[0], WrappedKey("kek-not-here-yet", b"\x01" * 72, 1))])
    assert worker.follow(tail.read()[1]) == (0, 0)
    assert worker.data_key("contact", 1) == (first[0][0], other)
    assert worker.data_key("contact", 3) == third
    # (the restart with the new KEK, as the rotation would leave it: a whole read opens all)
    write_key_records(kafka_bootstrap, topic, {}, [
        (third[0], WrappedKey.wrap(active_kek_id(keks), kek_of(keks, active_kek_id(keks)),
                                   third[1]))])
    assert worker.follow(tail.read()[1]) == (0, 0)

    whole, records = tail.read()
    assert not whole and list(records) == []  # nothing new
    tail.stale_after_s = 0  # the tombstones read since may be compacted away: read it whole
    whole, records = tail.read()
    worker.restore(records)
    assert whole and len(worker) == 2


def test_a_read_that_fails_half_way_is_done_again(
        kafka_bootstrap: str, make_topic: Callable[..., str]) -> None:
    """Where a read ends counts only once all of it is read: a store that a failed read left
    unchanged gets those records at the next read."""
    topic = make_topic("keys", config={"cleanup.policy": "compact"})
    maker = DataKeyStore(topic, demo_keks(), demo_keys(), "k2026a")
    maker.data_key("contact", 1)
    write_key_records(kafka_bootstrap, topic, {}, records_of(maker))
    tail = KeyTopicTail(DataKeyStore(topic, demo_keks(), demo_keys(), "k2026a"),
                        kafka_bootstrap, {}, stale_after_s=3600)
    list(tail.read()[1])
    maker.data_key("contact", 2)
    write_key_records(kafka_bootstrap, topic, {}, records_of(maker))
    whole, records = tail.read()
    next(records)  # the reader stops half-way (an error in the store, a broker gone)
    records.close()
    whole, records = tail.read()
    assert not whole and len(list(records)) == 1


def records_of(store: DataKeyStore) -> list[tuple[str, WrappedKey | None]]:
    """The store's new keys as key-topic records, and the store as if they committed."""
    records = [(key.decode(), WrappedKey.from_json("t", value) if value else None)
               for key, value in store.pending()]
    store.committed()
    return records
