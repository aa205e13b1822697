"""Anomaly alerts through the real processor: every incident alerted, exactly once, across kills."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from processor.rules import load_validated
from tests.anomaly.test_scenarios import matches
from tests.pipeline.harness import (
    Namespace,
    actual_outputs,
    crash_and_finish,
    drained,
    expected_alert_ids,
    expected_outputs,
    lineage,
    output_topics,
    read_topics,
    start_processor,
    stop,
)

pytestmark = pytest.mark.kafka
USERS = 100


def generate(ns: Namespace, bootstrap: str, tmp_path: Path, rate: int = 0,
             *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "processor", "generate", "--scenario", "access-days", "--users",
         str(USERS), "--bootstrap-servers", bootstrap, "--topic-prefix", ns.source_prefix,
         "--rate", str(rate), "--output", str(tmp_path / "input.jsonl"),
         "--ground-truth", str(tmp_path / "truth.json"), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def alerts_on_topic(ns: Namespace, bootstrap: str, expect: int) -> list[dict]:  # type: ignore[type-arg]
    # the processor has stopped: one more than expected shows an extra one by the end
    records = read_topics(bootstrap, [f"{ns.ns}.crm.alerts"], expect=expect, idle_s=5,
                          to_end=True)
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
    assert re.search(r"anomaly detectors of \d+ partition\(s\) rebuilt from", log)

    expected = expected_alert_ids(ns, tmp_path / "input.jsonl")
    ids = [a["alert_id"] for a in alerts_on_topic(ns, kafka_bootstrap, len(expected) + 1)]
    assert len(ids) == len(set(ids)), "an alert was raised twice"
    assert set(ids) == expected


def test_an_avro_access_log_rebuilds_the_detectors_after_each_kill(
        kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path) -> None:
    """The replay after a restart reads the access log as the processor does (Avro here): the
    detectors come back with their state, and every alert is raised once."""
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    registry = ("--schema-registry-url", schema_registry_url)
    generator = generate(ns, kafka_bootstrap, tmp_path, 2500, "--format", "avro", *registry)
    # each instance killed after its first commit of by-actor items (start-up restores the
    # audit chain, the keys, the names, the detectors and the KPIs, and reads the registry; the
    # first commits may hold only users rows: on a loaded machine a fixed lifetime, even one
    # counted from the first commit, ended some before any item): the replays have records
    log = crash_and_finish(ns, kafka_bootstrap, generator, seed=4, kills=2,
                           alive=(0.2, 1.5), extra=registry, after_commit=True,
                           committed_to=f"{ns.ns}.crm.internal.access-by-actor")
    rebuilt = [int(n) for n in re.findall(r"rebuilt from (\d+) committed records", log)]
    assert rebuilt and max(rebuilt) > 0, log[-2000:]
    expected = expected_alert_ids(ns, tmp_path / "input.jsonl")
    ids = [a["alert_id"] for a in alerts_on_topic(ns, kafka_bootstrap, len(expected) + 1)]
    assert len(ids) == len(set(ids)), "an alert was raised twice"
    assert set(ids) == expected and expected


def test_six_partitions_three_workers_a_rebalance_and_a_sigkill_give_the_same_alerts(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    """The access log and the users topic on 6 partitions each, read by 3 workers of one
    group: one starts alone, two join (a rebalance moves by-actor partitions and their
    detectors), one is SIGKILLed mid-run and comes back. Every alert of the single-partition
    reference is raised, each once, and every masked record is published once.

    librdkafka's group log is on (``debug=cgrp``): every rebalance callback is followed by log
    callbacks in the same ``consume``, which abort the process when the callback has used
    the consumer for metadata (confluent-kafka's ``CallState_get`` assertion); no worker
    may stop by itself."""
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap, partitions=6)
    generator = generate(ns, kafka_bootstrap, tmp_path, 2500, "--partitions", "6")

    def start(name: str) -> subprocess.Popen[bytes]:
        return start_processor(ns, kafka_bootstrap, "--batch-ms", "100", "--kafka-option",
                               "debug=cgrp", instance=name)

    workers = {"a": start("a")}
    logs: list[str] = []
    try:
        time.sleep(2.5)
        for name in "bc":  # two more join: the group rebalances
            workers[name] = start(name)
        time.sleep(3.0)
        assert workers["b"].poll() is None, stop(workers["b"])
        workers["b"].send_signal(signal.SIGKILL)  # in the middle of a transaction
        workers["b"].wait(30)
        workers["b"] = start("b")
        assert generator.wait(180) == 0
        deadline = time.monotonic() + 120
        while not drained(kafka_bootstrap, f"{ns.ns}-masker",
                          [ns.source_prefix + "audit_log", ns.source_prefix + "users",
                           f"{ns.ns}.crm.internal.access-by-actor"]):
            assert_alive(workers)
            assert time.monotonic() < deadline, "the group did not catch up"
            time.sleep(1)
        assert_alive(workers)
    finally:
        if generator.poll() is None:
            generator.kill()
        logs += [stop(proc) for proc in workers.values()]
    log = "\n".join(logs)
    rebuilt = re.findall(r"anomaly detectors of (\d+) partition\(s\) rebuilt", log)
    assert len(rebuilt) >= 3 and min(int(n) for n in rebuilt) < 6, log[-3000:]

    expected = expected_alert_ids(ns, tmp_path / "input.jsonl")
    alerts = alerts_on_topic(ns, kafka_bootstrap, len(expected) + 1)
    ids = [a["alert_id"] for a in alerts]
    assert len(ids) == len(set(ids)), "an alert was raised twice"
    assert set(ids) == expected and expected
    records = read_topics(kafka_bootstrap, output_topics(ns))
    assert actual_outputs(records) == expected_outputs(tmp_path / "input.jsonl", ns)


def assert_alive(workers: dict[str, subprocess.Popen[bytes]]) -> None:
    for name, proc in workers.items():
        assert proc.poll() is None, f"worker {name} stopped by itself:\n{stop(proc)[-3000:]}"


def set_max_message_bytes(bootstrap: str, topic: str, limit: int) -> None:
    from confluent_kafka.admin import (
        AdminClient,
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        ResourceType,
    )

    admin = AdminClient({"bootstrap.servers": bootstrap})
    entry = ConfigEntry("max.message.bytes", str(limit),
                        incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(30)


def export_after_the_day(jsonl: Path, records: int) -> dict[str, Any]:
    """An export by a sales user an hour after the day's last access, in a window of its own."""
    lines = [orjson.loads(line) for line in jsonl.read_bytes().splitlines()]
    sales = next(r["value"]["after"]["id"] for r in lines if r["topic"].endswith(".users")
                 and r["value"]["after"]["role"] == "sales" and r["value"]["after"]["active"])
    last = max((r for r in lines if r["topic"].endswith(".audit_log")),
               key=lambda r: r["value"]["after"]["occurred_at"])
    row = {**last["value"]["after"], "id": 10**9, "user_id": sales, "action": "export",
           "object_type": "contact", "record_count": records,
           "occurred_at": last["value"]["after"]["occurred_at"] + 3_600_000_000}
    value = {**last["value"], "after": row, "ts_ms": row["occurred_at"] // 1000}
    return {"topic": last["topic"], "key": {"id": row["id"]}, "value": value}


def test_an_abortable_error_redoes_the_batch_with_each_alert_and_output_once(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    """The day is processed; then the broker refuses the security view's batches (too large
    for the topic), so the next transaction fails with an abortable error, is aborted and
    redone from the committed offsets, at least twice, until the topic is fixed. It holds an
    export of 2,500 contacts by a sales user, over the 2,000 of `sales_mass_export`: each
    attempt raises the alert, and the aborted ones take it with them. Detectors that kept the
    aborted attempts' state would count the export again and, having fired, stay silent: the
    alert would be lost. They are rebuilt at each redo."""
    from confluent_kafka import Producer

    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    assert generate(ns, kafka_bootstrap, tmp_path).wait(300) == 0
    proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "6")
    assert proc.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(
        line.decode(errors="replace") for line in proc.stdout))  # type: ignore[union-attr]
    reader.start()
    access_log = ns.source_prefix + "audit_log"
    deadline = time.monotonic() + 120
    while not drained(kafka_bootstrap, f"{ns.ns}-masker", [access_log]):
        assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
        time.sleep(0.5)

    narrow = f"{ns.ns}.sec.audit.audit_log"
    set_max_message_bytes(kafka_bootstrap, narrow, 100)
    export = export_after_the_day(tmp_path / "input.jsonl", 2500)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(access_log, orjson.dumps(export["value"]), orjson.dumps(export["key"]))
    assert producer.flush(30) == 0
    while sum("aborting transaction" in line for line in lines) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
        time.sleep(0.1)
    set_max_message_bytes(kafka_bootstrap, narrow, 1_048_588)
    assert proc.wait(300) == 0, "".join(lines)
    reader.join(10)
    assert "MSG_SIZE_TOO_LARGE" in "".join(lines)

    inputs = tmp_path / "all.jsonl"
    inputs.write_bytes((tmp_path / "input.jsonl").read_bytes() + orjson.dumps(export) + b"\n")
    expected = expected_alert_ids(ns, inputs)
    alerts = alerts_on_topic(ns, kafka_bootstrap, len(expected) + 1)
    ids = [a["alert_id"] for a in alerts]
    assert len(ids) == len(set(ids)), "an alert was raised twice"
    assert set(ids) == expected, [a for a in alerts if a["alert_id"] not in expected]
    assert any(a["detector"] == "sales_mass_export" and a["observed"] == 2500 for a in alerts)
    records = read_topics(kafka_bootstrap, output_topics(ns))
    assert actual_outputs(records) == expected_outputs(inputs, ns)
    assert len({lineage(r) for r in records if r.topic == narrow}) == sum(
        1 for line in inputs.read_bytes().splitlines() if b".audit_log" in line)


def test_the_access_log_waits_until_the_group_has_committed_the_users_topic(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    """Kafka orders no two topics, and with many workers the users topic's partitions may
    belong to another one: a worker that starts reading the access log holds it (paused)
    until the group has committed every partition of the users topic up to its end as of
    that moment, so that each user row reaches the by-actor topic before the accesses."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    from processor.pipeline.anomaly_stage import AnomalyStage
    from processor.pipeline.kafka_config import consumer_config

    ns = Namespace(tmp_path).create()
    rules = load_validated(ns.rules).rules
    assert rules.anomaly is not None
    stage = AnomalyStage(rules, rules.anomaly)
    users, access = stage.by_actor.users_topic, stage.by_actor.access_topic
    assert users is not None
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for future in admin.create_topics([NewTopic(t, 3, 1) for t in (users, access)]).values():
        future.result(30)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for topic, count in ((users, 60), (access, 300)):
        for i in range(count):
            producer.produce(topic, b"x", str(i).encode(), partition=i % 3)
    assert producer.flush(30) == 0
    group = f"{ns.ns}-g"
    consumer = Consumer(consumer_config(kafka_bootstrap, group, f"{ns.ns}-i", {}))
    partitions = [TopicPartition(access, p, 0) for p in range(3)]
    consumer.assign(partitions)  # this worker owns the access log only
    stage.users_first.start(consumer, producer, partitions)

    def read_for(seconds: float) -> int:
        got, deadline = 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            got += sum(1 for m in consumer.consume(100, 0.2) if not m.error())
            stage.users_first.check(consumer)
        return got

    assert read_for(3) == 0, "accesses read before the users topic was committed"
    # another member of the group commits two of the three users partitions: still held
    other = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group})
    other.commit(offsets=[TopicPartition(users, 0, 20), TopicPartition(users, 1, 20)],
                 asynchronous=False)
    assert read_for(2) == 0
    other.commit(offsets=[TopicPartition(users, 2, 20)], asynchronous=False)
    other.close()
    assert read_for(5) == 300
    consumer.close()
