"""The latency benchmark's load (benchmarks/replay.py) against the real broker: each record
at its turn, never before it, all of them delivered."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, Producer

from benchmarks.replay import replay

pytestmark = pytest.mark.kafka


def test_replay_produces_each_record_at_its_turn_and_never_early(
        kafka_bootstrap: str, make_topic: Callable[..., str]) -> None:
    topic = make_topic("replay")
    rate, count = 2000.0, 3000
    records = [(topic, None, str(i).encode()) for i in range(count)]
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 5})
    started = time.time()
    reached = replay(producer, records, rate)
    assert reached <= rate * 1.01  # not faster than asked

    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": topic,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    stamps: dict[int, float] = {}
    received = 0
    deadline = time.monotonic() + 60
    while len(stamps) < count and time.monotonic() < deadline:
        for msg in consumer.consume(500, 1.0):
            if not msg.error():
                stamps[int(msg.value())] = msg.timestamp()[1] / 1000
                received += 1
    consumer.close()
    assert sorted(stamps) == list(range(count)) and received == count  # every record, once
    # record i is produced at i / rate or later (CreateTime has ms resolution)
    early = [i for i, at in stamps.items() if at < started + i / rate - 0.002]
    assert not early, f"{len(early)} records before their turn, e.g. {early[:5]}"
    # (no check of the span from the first record to the last: a first record produced a few
    # ms late — a loaded machine — shortens it while every record is on time or later)
