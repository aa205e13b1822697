"""The internal topics' packed records: the items in order, under the size limit, and each
actor's items in the partition that Kafka's own partitioner gives the actor."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from processor.pipeline.kafka_config import producer_config
from processor.pipeline.packed import packed, partition_of, unpacked
from tests.helpers import consume
from tests.pipeline.harness import Namespace, start_processor, stop


def test_items_come_back_in_order_and_no_record_is_over_the_limit() -> None:
    items = [orjson.dumps({"a": i, "pad": "x" * (i % 50)}) for i in range(1000)]
    records = list(packed(items, limit=2_000))
    assert len(records) > 10 and all(len(r) <= 2_000 for r in records)
    assert [item for r in records for item in unpacked(r)] == [orjson.loads(i) for i in items]
    # an item over the limit goes alone; no items, no record
    assert list(packed([b'"' + b"y" * 3_000 + b'"'], limit=2_000)) == [
        b'["' + b"y" * 3_000 + b'"]']
    assert list(packed([])) == []


def test_a_record_written_before_packing_is_one_item() -> None:
    assert unpacked(b'{"u": ["7", "sales", true, null], "src": ["t", 0, 1]}') == [
        {"u": ["7", "sales", True, None], "src": ["t", 0, 1]}]
    assert unpacked(None) == [None]
    with pytest.raises(orjson.JSONDecodeError):
        unpacked(b"not json")


@pytest.mark.kafka
def test_an_actor_keeps_the_partition_that_the_producer_gives_its_key(
        kafka_bootstrap: str, make_topic: Callable[..., str]) -> None:
    """Before packing, by-actor records were keyed by the actor and partitioned by the
    processor's producer (murmur2_random): packed, they must land where those went."""
    topic = make_topic("by-actor", partitions=7)
    config = producer_config(kafka_bootstrap, "packed-test", {})
    del config["transactional.id"]
    producer = Producer(config)
    # every length modulo 4 (murmur2's tail), non-ASCII, long (an empty key is placed at
    # random: no actor has one)
    keys = [str(i).encode() for i in range(300)] + [b"a", b"ab", b"abc", "Jürgen".encode(),
                                                    b"user-0042", b"x" * 101]
    delivered: dict[bytes, int] = {}

    def done(err: object, msg: object) -> None:
        assert err is None, err
        delivered[msg.key()] = msg.partition()  # type: ignore[attr-defined]

    for key in keys:
        producer.produce(topic, b"{}", key, on_delivery=done)
    assert producer.flush(30) == 0
    assert len(set(delivered.values())) == 7
    assert {key: partition_of(key, 7) for key in delivered} == delivered


@pytest.mark.kafka
def test_packed_records_stay_under_a_lowered_message_max_bytes(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    """A deployment may lower the producer's message.max.bytes: a packed record over it would
    be refused, and the transaction redone for ever. The packing keeps under it."""
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    ns.generate(kafka_bootstrap, 3000, 4)
    limit = 20_000
    proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "2",
                           "--kafka-option", f"message.max.bytes={limit}")
    try:
        log = proc.communicate(timeout=120)[0].decode()
    except subprocess.TimeoutExpired:  # a refused record: the transaction redone for ever
        raise AssertionError(stop(proc)[-3000:]) from None
    assert proc.returncode == 0, log
    assert "aborting" not in log, log[-3000:]
    internal = [f"{ns.ns}.crm.internal.kpi-facts", f"{ns.ns}.crm.internal.access-by-actor"]
    values = [msg.value() or b"" for msg in consume(kafka_bootstrap, internal)]
    items = [item for value in values for item in unpacked(value)]
    assert len(items) > 1_000 and len(items) > 5 * len(values)  # packed, many per record
    assert max(len(value) for value in values) <= limit
