"""Anomaly alerts through the real processor: every incident alerted, exactly once, across kills."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from processor.anomaly.engine import AnomalyEngine
from processor.rules import load_validated
from tests.anomaly.test_scenarios import matches
from tests.pipeline.harness import (
    Namespace,
    crash_and_finish,
    read_topics,
    start_processor,
)

pytestmark = pytest.mark.kafka
USERS = 100


def expected_alert_ids(ns: Namespace, jsonl: Path) -> set[str]:
    """The same detectors offline over the same input."""
    rules = load_validated(ns.rules).rules
    assert rules.anomaly is not None
    engine = AnomalyEngine(rules.anomaly)
    table_of = {t.topic: name for name, t in rules.tables.items()}
    ids: set[str] = set()
    for line in jsonl.read_bytes().splitlines():
        record = orjson.loads(line)
        value = record["value"]
        if value is not None:
            ids |= {a.alert_id for a in engine.on_row(table_of[record["topic"]], value["op"],
                                                      value["after"] or value["before"])}
    return ids


def generate(ns: Namespace, bootstrap: str, tmp_path: Path, rate: int = 0) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "processor", "generate", "--scenario", "access-days", "--users",
         str(USERS), "--bootstrap-servers", bootstrap, "--topic-prefix", ns.source_prefix,
         "--rate", str(rate), "--output", str(tmp_path / "input.jsonl"),
         "--ground-truth", str(tmp_path / "truth.json")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def alerts_on_topic(ns: Namespace, bootstrap: str, expect: int) -> list[dict]:  # type: ignore[type-arg]
    records = read_topics(bootstrap, [f"{ns.ns}.crm.alerts"], expect=expect, idle_s=5)
    return [r.value for r in records]


def test_every_injected_incident_raises_its_alert(kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    assert generate(ns, kafka_bootstrap, tmp_path).wait(300) == 0
    proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "3")
    log = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == 0, log

    expected = expected_alert_ids(ns, tmp_path / "input.jsonl")
    alerts = alerts_on_topic(ns, kafka_bootstrap, len(expected))
    assert {a["alert_id"] for a in alerts} == expected
    truth = json.loads((tmp_path / "truth.json").read_text())
    from processor.anomaly.alerts import Alert

    objs = [Alert(**{k: v for k, v in a.items() if k in Alert.__dataclass_fields__}) for a in alerts]
    caught = [i for i in truth if any(matches(a, i) for a in objs)]
    false = [a for a in objs if not any(matches(a, i, any_detector=True) for i in truth)]
    precision = (len(objs) - len(false)) / len(objs)
    print(f"\nrecall {len(caught)}/{len(truth)} = {len(caught) / len(truth):.0%}, precision "
          f"{precision:.0%}, false alerts {len(false)} for {USERS} users and one day")
    assert len(caught) == len(truth)
    assert len(false) <= USERS / 100
    for alert in alerts:  # the security team learns who; BI never sees this topic
        assert alert["actor"] and alert["source"]["topic"].startswith(ns.source_prefix)


def test_sigkill_three_times_yields_the_same_alerts_each_once(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    generator = generate(ns, kafka_bootstrap, tmp_path, rate=2500)
    log = crash_and_finish(ns, kafka_bootstrap, generator, seed=9, alive=(1.5, 3.0))
    assert "anomaly detectors rebuilt from" in log

    expected = expected_alert_ids(ns, tmp_path / "input.jsonl")
    ids = [a["alert_id"] for a in alerts_on_topic(ns, kafka_bootstrap, len(expected) + 1)]
    assert len(ids) == len(set(ids)), "an alert was raised twice"
    assert set(ids) == expected


def test_an_access_log_with_several_partitions_is_refused(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    topic = ns.source_prefix + "audit_log"
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(30)
    proc = start_processor(ns, kafka_bootstrap)
    log = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode == 2, log
    assert f"anomaly detection needs topic {topic} to have one partition (it has 3)" in log
