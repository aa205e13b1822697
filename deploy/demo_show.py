"""Show one contact as it sits in PostgreSQL, as Debezium sent it, and as the views publish it,
and what the demo's processor published."""

from __future__ import annotations

import json
import sys
import time
import uuid

from confluent_kafka import Consumer, TopicPartition


def latest(bootstrap: str, topic: str, predicate: object = None) -> dict | None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"demo-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    for pid in meta.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, pid), timeout=10)
        if high <= low:
            continue
        consumer.assign([TopicPartition(topic, pid, max(low, high - 50))])
        found = None
        deadline = time.time() + 5
        while time.time() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() or msg.value() is None:
                if msg is None:
                    break
                continue
            value = json.loads(msg.value())
            payload = value.get("payload", value)
            if (payload.get("op") == "c") if "op" in payload else (value.get("__op") == "c"):
                found = {"key": json.loads(msg.key()), "headers": {
                    k: v.decode() for k, v in msg.headers() or []}, "value": value}
        if found:
            consumer.close()
            return found
    consumer.close()
    return None


def totals(bootstrap: str, topics: list[str]) -> dict[str, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "demo-totals"})
    out = {}
    for topic in topics:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        out[topic] = sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                         for p in meta.partitions)
    consumer.close()
    return out


def in_postgres(url: str, contact_id: int) -> dict | None:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM contacts WHERE id = %s", (contact_id,)).fetchone()


def main() -> None:
    bootstrap = sys.argv[1]
    postgres = sys.argv[2] if len(sys.argv) > 2 else None
    after = latest(bootstrap, "bi.analytics.contacts")
    if after:
        src = after["headers"]["crm_masker.source.topic"]
        partition = int(after["headers"]["crm_masker.source.partition"])
        offset = int(after["headers"]["crm_masker.source.offset"])
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"d-{uuid.uuid4().hex}"})
        consumer.assign([TopicPartition(src, partition, offset)])
        msg = consumer.poll(10)
        consumer.close()
        if msg is not None and not msg.error():
            event = json.loads(msg.value())
            event = event.get("payload", event)
            row = postgres and in_postgres(postgres, event["after"]["id"])
            if row:
                print(f"\n== a contact in PostgreSQL (contacts, id {row['id']}; it may have "
                      "changed since)")
                print(json.dumps(row, indent=2, ensure_ascii=False, default=str))
            print(f"\n== as Debezium sent it ({src}, partition {partition}, offset {offset})")
            print(json.dumps(event["after"], indent=2, ensure_ascii=False))
        print("\n== the same contact AFTER masking (bi.analytics.contacts)")
        print(json.dumps(after["value"], indent=2, ensure_ascii=False))
        print("headers:", json.dumps(after["headers"], indent=2))
    topics = ["bi.analytics.contacts", "bi.analytics.activities", "bi.sales.contacts",
              "sec.audit.audit_log", "crm.dlq", "bi.kpi.activities_per_day",
              "bi.kpi.contacts_by_segment"]
    print("\n== records per topic (including transaction markers)")
    for topic, count in totals(bootstrap, topics).items():
        print(f"  {topic:<28}{count:>10,}")


if __name__ == "__main__":
    main()
