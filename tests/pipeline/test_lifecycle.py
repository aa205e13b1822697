"""Life cycle against the real broker: workers, SIGTERM, fencing, topics, headers, HTTP."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from benchmarks.replay import load, replay
from processor.generator.sink import create_source_topics
from tests.helpers import free_port, http_get
from tests.pipeline.harness import (
    Namespace,
    actual_outputs,
    cli,
    expected_outputs,
    output_topics,
    read_topics,
    start_processor,
    stop,
)

pytestmark = pytest.mark.kafka


def wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_two_workers_share_the_work_and_sigterm_exits_cleanly(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    jsonl = tmp_path / "input.jsonl"
    ns.generate(kafka_bootstrap, 4000, 21, "--output", str(jsonl))
    proc = start_processor(ns, kafka_bootstrap, "--workers", "2")
    expected = expected_outputs(jsonl, ns)
    records = read_topics(kafka_bootstrap, output_topics(ns), expect=sum(expected.values()),
                          idle_s=30)
    log = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, log
    assert actual_outputs(records) == expected
    assert "[worker 0]" in log and "[worker 1]" in log
    assert log.count("stopped after") == 2


def test_http_endpoints_and_metrics_have_no_personal_labels(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    ns.generate(kafka_bootstrap, 1500, 5)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_processor(ns, kafka_bootstrap, metrics_port=port)
    try:
        wait_for(lambda: http_get(f"{base}/healthz")[0] == 200)
        wait_for(lambda: http_get(f"{base}/readyz")[0] == 200)
        wait_for(lambda: 'crm_masker_transactions_total{result="committed"}'
                 in http_get(f"{base}/metrics")[1])
        contacts = f'crm_masker_events_consumed_total{{topic="{ns.source_prefix}contacts"}}'
        # the first transactions need not hold every table (the access log waits for the users)
        wait_for(lambda: contacts in http_get(f"{base}/metrics")[1])
        _, text = http_get(f"{base}/metrics")
    finally:
        log = stop(proc)
    assert proc.returncode == 0, log
    assert 'crm_masker_ruleset_info{' in text and 'key_id="k2026a"' in text
    assert contacts in text
    labels = [line[line.index("{"):line.index("}") + 1] for line in text.splitlines()
              if line.startswith("crm_masker_") and "{" in line]
    assert len(labels) > 10
    for label in labels:  # names from the rules and fixed words only
        assert "@" not in label and "k2026a:" not in label and " " not in label


def test_second_instance_with_the_same_id_fences_the_first(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    ns.generate(kafka_bootstrap, 300, 1)
    first = start_processor(ns, kafka_bootstrap)
    time.sleep(6)
    second = start_processor(ns, kafka_bootstrap)
    try:
        first_log = first.communicate(timeout=90)[0].decode()
    finally:
        stop(second)
        if first.poll() is None:
            first.kill()
    assert first.returncode == 3, first_log
    assert "another instance" in first_log


def test_run_refuses_missing_topics_and_topics_check_reports_them(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = Namespace(tmp_path).create()
    check = cli("topics", "--rules", str(ns.rules), "--bootstrap-servers", kafka_bootstrap,
                "--check", check=False)
    assert check.returncode == 1 and "missing" in check.stderr
    proc = start_processor(ns, kafka_bootstrap)
    log = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 2
    assert "missing output topic" in log and "crm-masker topics" in log
    created = cli("topics", "--rules", str(ns.rules), "--bootstrap-servers", kafka_bootstrap)
    assert "created" in created.stdout
    again = cli("topics", "--rules", str(ns.rules), "--bootstrap-servers", kafka_bootstrap,
                "--check")
    assert again.returncode == 0 and "problem" not in again.stderr
    assert f"ok       {ns.dlq}" in again.stdout


def test_debezium_key_headers_are_masked_and_other_headers_dropped(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap, partitions=1)
    ns.generate(kafka_bootstrap, 1, 1, "--partitions", "1")
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    value = {"before": None, "after": {"id": 77, "segment": "retail"}, "op": "c", "ts_ms": 1,
             "source": {"ts_ms": 1, "table": "contacts"}}
    producer.produce(ns.source_prefix + "contacts", key=b'{"id": 77}', value=orjson.dumps(value),
                     headers=[("__debezium.newkey", b'{"id": 77}'),
                              ("__debezium.oldkey", b'{"id": 76}'),
                              ("x-crm-user", b"anna.schmidt@example.de")])
    producer.flush(30)
    proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "3")
    log = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode == 0, log
    records = [r for r in read_topics(kafka_bootstrap, output_topics(ns), idle_s=3)
               if r.topic.endswith("contacts")]
    assert len(records) == 2  # analytics and sales views
    for r in records:
        assert "x-crm-user" not in r.headers
        new_key = orjson.loads(r.headers["__debezium.newkey"])
        old_key = orjson.loads(r.headers["__debezium.oldkey"])
        assert new_key == r.key and new_key["id"].startswith("k2026a:")
        assert old_key["id"].startswith("k2026a:") and old_key != new_key
        assert b"anna.schmidt" not in r.raw and b'"id": 7' not in r.raw


@pytest.mark.parametrize("drained", [True, False])
def test_a_drained_input_is_committed_without_waiting_for_the_batch_limits(
        kafka_bootstrap: str, tmp_path: Path, drained: bool) -> None:
    """CDC arrives in bursts: once the processor has caught up (a poll returns less than a
    full batch), the open transaction commits, however far the count and time limits are
    (unless --no-commit-when-drained)."""
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    jsonl = tmp_path / "input.jsonl"
    ns.generate(kafka_bootstrap, 200, 8, "--output", str(jsonl))
    expected = expected_outputs(jsonl, ns)
    proc = start_processor(ns, kafka_bootstrap, "--batch-ms", "600000", "--batch-events",
                           "1000000", "--commit-when-drained" if drained
                           else "--no-commit-when-drained")
    try:
        running = read_topics(kafka_bootstrap, output_topics(ns), expect=sum(expected.values()),
                              idle_s=30 if drained else 8)
    finally:
        log = stop(proc)  # SIGTERM commits the open batch
    assert proc.returncode == 0, log
    if drained:
        assert actual_outputs(running) == expected
    else:
        assert running == []  # nothing before the limits (10 minutes, a million events)
        assert actual_outputs(read_topics(kafka_bootstrap, output_topics(ns))) == expected


def test_a_steady_trickle_is_committed_while_it_flows(kafka_bootstrap: str,
                                                       tmp_path: Path) -> None:
    """A steady trickle never leaves a poll empty. The processor still commits whenever a
    poll returns less than a full batch, so outputs are visible while the input still flows,
    with the count and time limits ten minutes and a million events away."""
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    create_source_topics(kafka_bootstrap, 3, {}, ns.source_prefix)
    jsonl = tmp_path / "trickle.jsonl"
    cli("generate", "--output", str(jsonl), "--events", "400", "--seed", "9", "--topic-prefix",
        ns.source_prefix)
    proc = start_processor(ns, kafka_bootstrap, "--batch-ms", "600000", "--batch-events",
                           "1000000")
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 0})
    trickle = threading.Thread(target=replay, args=(producer, load(jsonl), 40.0))  # 10 s
    try:
        trickle.start()
        first = read_topics(kafka_bootstrap, output_topics(ns), expect=1, idle_s=9)
        flowing = trickle.is_alive()
    finally:
        trickle.join()
        log = stop(proc)
    assert proc.returncode == 0, log
    assert first, "no output while the input flowed"
    assert flowing, "the first output came only after the trickle had ended"
