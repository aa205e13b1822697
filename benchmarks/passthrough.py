"""The baseline: a plain confluent-kafka consume → produce copy, transactional like crm-masker.

Same client settings (processor.pipeline.kafka_config), same batching, one transaction per
batch with the offsets; no decoding, no masking. Prints one JSON line with its rate.

With ``--shape RULES_DIR`` each input record is copied once per view of its table and every
copy carries crm-masker's policy and lineage headers: the records crm-masker writes, without
decoding or masking anything. The gap between the two runs is what the output's shape costs
the Kafka client; the gap to crm-masker is the masking.

    python -m benchmarks.passthrough [--shape RULES_DIR] BOOTSTRAP GROUP OUT_TOPIC TOPIC [TOPIC ...]
"""

from __future__ import annotations

import argparse
import json
import time

from confluent_kafka import Consumer, Message, Producer, TopicPartition

from processor.formats.headers import Header
from processor.pipeline import kafka_config
from processor.pipeline.records import Lineage, policy_headers
from processor.rules import load_validated

BATCH_EVENTS, BATCH_MS, IDLE_S = 5000, 200, 3.0


class Shape:
    """Copies and headers per input record: one plain copy, or crm-masker's record shape."""

    def __init__(self, rules_dir: str | None) -> None:
        self.copies: dict[str, int] = {}
        self.policy: list[Header] = []
        if rules_dir is not None:
            validated = load_validated(rules_dir)
            rules = validated.rules
            self.copies = {table.topic: sum(view.publishes(name) for view in rules.views.values())
                           for name, table in rules.tables.items()}
            self.policy = policy_headers(validated.version, validated.sha256)

    def records(self, msg: Message) -> tuple[int, list[Header] | None]:
        if not self.copies:
            return 1, msg.headers()
        topic = str(msg.topic())
        lineage = Lineage(topic, int(msg.partition() or 0), int(msg.offset() or 0))
        return self.copies.get(topic, 1), [*self.policy, *lineage.headers()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", metavar="RULES_DIR",
                        help="copy each record once per view, with crm-masker's headers")
    parser.add_argument("bootstrap")
    parser.add_argument("group")
    parser.add_argument("out_topic")
    parser.add_argument("topics", nargs="+")
    args = parser.parse_args()
    shape = Shape(args.shape)
    consumer = Consumer(kafka_config.consumer_config(args.bootstrap, args.group,
                                                     f"{args.group}-0", {}))
    producer = Producer(kafka_config.producer_config(args.bootstrap, f"{args.group}-tx", {}))
    producer.init_transactions(60)
    consumer.subscribe(args.topics)
    offsets: dict[tuple[str, int], int] = {}
    count, in_batch, batch_start, first, last = 0, 0, 0.0, 0.0, time.monotonic()
    cpu_first = cpu_last = 0.0  # CPU time of the process (all threads), as crm-masker logs it
    busy_from = busy_to = 0.0  # wall clock of the first and the last consumed batch
    assigned_at = None
    while True:
        messages = consumer.consume(500, 0.05)
        now = time.monotonic()
        if messages:
            cpu_last, busy_to = time.process_time(), time.time()
            cpu_first, busy_from = cpu_first or cpu_last, busy_from or busy_to
        if consumer.assignment() and assigned_at is None:
            assigned_at = last = now
        for msg in messages:
            if msg.error():
                continue
            if in_batch == 0:
                producer.begin_transaction()
                batch_start = now
            copies, headers = shape.records(msg)
            for _ in range(copies):
                while True:
                    try:
                        producer.produce(args.out_topic, value=msg.value(), key=msg.key(),
                                         headers=headers)
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
                      "events_per_s": count / max(1e-9, last - first),
                      "cpu_us_per_event": (cpu_last - cpu_first) * 1e6 / max(1, count),
                      "busy_from": busy_from, "busy_to": busy_to}))


if __name__ == "__main__":
    main()
