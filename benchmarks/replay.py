"""Produce finished events at a steady rate: the load of the latency benchmark.

Generating a realistic CRM event costs more CPU than masking it. On a small machine, a
generator that produces at the measured rate takes the core that the processor needs, and the
latency then shows the two fighting over the CPU. This replays the JSON lines that
`crm-masker generate --output FILE` wrote, encoded before the clock starts, at a few µs each,
the records of each millisecond together.

    python -m benchmarks.replay BOOTSTRAP FILE RATE

The producer stamps each record's CreateTime when it is produced, which is what the latency
is measured from.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson
from confluent_kafka import KafkaException, Producer

Record = tuple[str, bytes | None, bytes | None]


def load(path: Path) -> list[Record]:
    """The file's records as Kafka bytes."""
    records = []
    for line in path.read_bytes().splitlines():
        item = orjson.loads(line)
        key, value = item["key"], item["value"]
        records.append((item["topic"], None if key is None else orjson.dumps(key),
                        None if value is None else orjson.dumps(value)))
    return records


def replay(producer: Producer, records: list[Record], rate: float,
           tick_s: float = 0.001) -> float:
    """Produce each record when its turn comes (record i at i / rate seconds), those of a
    tick together: a sleep per record cost more CPU than the producing (at 19,000 records/s
    half a core, which the processor under test lacked). Returns the rate reached."""
    start = time.perf_counter()
    sent = 0
    while sent < len(records):
        elapsed = time.perf_counter() - start
        due = min(len(records), int(elapsed * rate) + 1)  # records whose time has come
        if due <= sent:
            time.sleep(max(tick_s, sent / rate - elapsed))
            continue
        for topic, key, value in records[sent:due]:
            while True:
                try:
                    producer.produce(topic, value, key)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.01)
        sent = due
        producer.poll(0)
    if producer.flush(60) > 0:
        raise KafkaException("records not delivered within 60 s")
    return len(records) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap")
    parser.add_argument("file", type=Path)
    parser.add_argument("rate", type=float)
    args = parser.parse_args()
    records = load(args.file)
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5,
                         "enable.idempotence": True})
    reached = replay(producer, records, args.rate)
    print(f"replayed {len(records):,} records at {reached:,.0f}/s", file=sys.stderr)


if __name__ == "__main__":
    main()
