"""The baseline: a plain confluent-kafka consume → produce copy, transactional like crm-masker.

Same client settings (processor.pipeline.kafka_config), same batching, one transaction per
batch with the offsets; no decoding, no masking. Prints one JSON line with its rate.

    python -m benchmarks.passthrough BOOTSTRAP GROUP OUT_TOPIC TOPIC [TOPIC ...]
"""

from __future__ import annotations

import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from processor.pipeline import kafka_config

BATCH_EVENTS, BATCH_MS, IDLE_S = 5000, 200, 3.0


def main() -> None:
    bootstrap, group, out_topic, *topics = sys.argv[1:]
    consumer = Consumer(kafka_config.consumer_config(bootstrap, group, f"{group}-0", {}))
    producer = Producer(kafka_config.producer_config(bootstrap, f"{group}-tx", {}))
    producer.init_transactions(60)
    consumer.subscribe(topics)
    offsets: dict[tuple[str, int], int] = {}
    count, in_batch, batch_start, first, last = 0, 0, 0.0, 0.0, time.monotonic()
    assigned_at = None
    while True:
        messages = consumer.consume(500, 0.05)
        now = time.monotonic()
        if consumer.assignment() and assigned_at is None:
            assigned_at = last = now
        for msg in messages:
            if msg.error():
                continue
            if in_batch == 0:
                producer.begin_transaction()
                batch_start = now
            while True:
                try:
                    producer.produce(out_topic, value=msg.value(), key=msg.key(),
                                     headers=msg.headers())
                    break
                except BufferError:
                    producer.poll(0.05)
            offsets[(msg.topic(), msg.partition())] = msg.offset() + 1
            in_batch += 1
            count += 1
        if messages:
            first, last = first or now, now
        if in_batch and (in_batch >= BATCH_EVENTS or (now - batch_start) * 1000 >= BATCH_MS):
            producer.send_offsets_to_transaction(
                [TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(30)
            in_batch = 0
            offsets.clear()
        if assigned_at is not None and not in_batch and now - last >= IDLE_S:
            break
    consumer.close()
    print(json.dumps({"events": count, "seconds": last - first,
                      "events_per_s": count / max(1e-9, last - first)}))


if __name__ == "__main__":
    main()
