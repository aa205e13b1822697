"""The audit trail on the real broker: totals reconcile; a tampered copy fails verify."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from processor.pipeline.topic_reader import read_all
from tests.pipeline.harness import Namespace, cli, start_processor

pytestmark = pytest.mark.kafka


def copy_topic(bootstrap: str, source: str, target: str, drop: int | None = None,
               alter: int | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(target, 1, 1)])[target].result(30)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i, (_, record) in enumerate(read_all(bootstrap, source, {})):
        assert record is not None
        if i == drop:
            continue
        if i == alter:
            record["counts"]["dlq"] += 1
        producer.produce(target, key=record["producer"].encode(), value=orjson.dumps(record))
    producer.flush(30)


def test_audit_totals_equal_the_events_and_tampering_is_found(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    ns.generate(kafka_bootstrap, 3000, 3)
    for batch_ms in ("50", "80"):  # two runs: the second continues the first one's chain
        proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "2", "--batch-ms",
                               batch_ms, "--batch-events", "400")
        log = proc.communicate(timeout=180)[0].decode()
        assert proc.returncode == 0, log
        ns.generate(kafka_bootstrap, 500, 4)
    proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "2")
    assert proc.wait(180) == 0

    ok = cli("audit", "verify", "--rules", str(ns.rules), "--bootstrap-servers", kafka_bootstrap)
    assert "chain intact" in ok.stdout
    assert "inputs 4000," in ok.stdout  # 3000 + 2 × 500, each exactly once
    records = [r for _, r in read_all(kafka_bootstrap, ns.audit, {})]
    assert len(records) >= 8 and {r["producer"] for r in records if r} == {f"{ns.ns}-tx"}
    erasures = cli("audit", "erasures", "--rules", str(ns.rules), "--bootstrap-servers",
                   kafka_bootstrap)
    listed = [orjson.loads(line) for line in erasures.stdout.splitlines()]
    deletes = [e for e in listed if "key" in e]
    assert deletes and all(d["key"]["id"].startswith("k2026a:") for d in deletes)
    # each erased contact's data keys (encrypt) are listed as shredded, under every key id
    shredded = [e["shredded"] for e in listed if "shredded" in e]
    erased = sum(d["table"] == "contacts" for d in deletes)
    assert len(shredded) == 2 * erased and all(s.startswith("contact/k2026") for s in shredded)

    for kind in ("drop", "alter"):
        target = f"{ns.audit}.{kind}"
        copy_topic(kafka_bootstrap, ns.audit, target, **{kind: 4})
        bad = cli("audit", "verify", "--rules", str(ns.rules), "--bootstrap-servers",
                  kafka_bootstrap, "--topic", target, check=False)
        assert bad.returncode == 1, bad.stdout
        assert f"BROKEN at {target}[0]@4" in bad.stderr, bad.stderr
