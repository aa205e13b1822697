"""`crm-masker run` against the real broker: masking, tombstones, DLQ, crash safety."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from benchmarks.pipeline import masker_result
from benchmarks.profile import profiled
from processor.generator.sink import create_source_topics
from processor.rules import load_validated
from tests.helpers import require_native_core
from tests.pipeline.harness import (
    Namespace,
    Read,
    actual_outputs,
    assert_ciphertexts_reveal,
    assert_exactly_once,
    crash_and_finish,
    expected_outputs,
    leaked,
    lineage,
    output_topics,
    read_topics,
    start_processor,
    unsealed,
)

pytestmark = pytest.mark.kafka
PROTECTED = {"identifier", "personal", "special"}


def raw_personal_values(jsonl: Path, ns: Namespace) -> set[bytes]:
    """Values of protected, not-justified fields in the input, long enough to be telling."""
    rules = load_validated(ns.rules).rules
    by_topic = {t.topic: t for t in rules.tables.values()}
    found: set[bytes] = set()
    public: set[bytes] = set()  # e.g. a city: personal in contacts, business in accounts
    for line in jsonl.read_bytes().splitlines():
        record = orjson.loads(line)
        table = by_topic[record["topic"]]
        for image in ("before", "after"):
            row = (record["value"] or {}).get(image) or {}
            for name, value in row.items():
                rule = table.fields[name]
                if not isinstance(value, str) or len(value) < 6:
                    continue
                if (rule.field_class in PROTECTED and not rule.justification
                        and rule.action != "generalize"):
                    found.add(value.encode())
                elif rule.action == "keep":
                    public.add(value.encode())
    return found - public


def setup(tmp_path: Path, bootstrap: str, events: int, seed: int,
          rate: float = 0.0) -> tuple[Namespace, Path]:
    ns = Namespace(tmp_path).create()
    ns.topics(bootstrap, partitions=3)
    jsonl = tmp_path / "input.jsonl"
    ns.generate(bootstrap, events, seed, "--output", str(jsonl), "--rate", str(rate))
    return ns, jsonl


def assert_tombstones_follow_deletes(records: list[Read]) -> int:
    by_partition: dict[tuple[str, int], list[Read]] = {}
    for r in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        by_partition.setdefault((r.topic, r.partition), []).append(r)
    tombstones = 0
    for seq in by_partition.values():
        for prev, cur in itertools.pairwise(seq):
            if cur.value is None:
                tombstones += 1
                assert prev.key == cur.key
                assert prev.value is not None
                assert prev.value.get("__deleted") is True or prev.value.get("op") == "d"
    return tombstones


def test_generated_stream_is_published_exactly_as_the_rules_say(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    ns, jsonl = setup(tmp_path, kafka_bootstrap, events=6000, seed=7)
    started = time.time()
    # profiled: the outputs below are exact with the stage clocks on as well
    proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "4", "--profile")
    log = proc.communicate(timeout=180)[0].decode()
    assert proc.returncode == 0, log

    expected = expected_outputs(jsonl, ns)
    records = read_topics(kafka_bootstrap, output_topics(ns), expect=sum(expected.values()))
    assert actual_outputs(records) == expected
    assert assert_tombstones_follow_deletes(records) > 0
    # every record says where it came from and which rules made it
    version = load_validated(ns.rules).version
    for r in records:
        assert r.headers["crm_masker.rules.version"].decode() == version
        assert lineage(r)[0].startswith(ns.source_prefix)
    secrets = raw_personal_values(jsonl, ns)
    assert len(secrets) > 1000
    found = leaked(secrets, records)
    assert not found, f"{len(found)} raw personal values reached a view"
    assert "rule set version" in log and b"base64:" not in log.encode()
    # the closing line that `make bench-pipeline` reads: events, rate, CPU, the busy stretch
    summary = masker_result(log)
    assert summary["events"] == 6000 and summary["events_per_s"] > 0
    assert summary["cpu_us_per_event"] > 0
    assert started < summary["busy_from"] < summary["busy_to"] < time.time()
    # `make bench-profile` reads the stages: each that ran, CPU within wall, the work > 0
    stages = {row["stage"]: row for row in profiled(log)}
    assert {"consume", "mask", "produce", "account", "commit"} <= set(stages), log[-3000:]
    assert stages["mask"]["cpu_us"] > 0 and stages["commit"]["wall_us"] > 0
    for row in stages.values():
        if row["wall_us"] == row["wall_us"]:  # not nan: a timed stage
            assert 0 <= row["cpu_us"] <= row["wall_us"] * 1.05 + 0.05, row
    # the rows add up to the process's CPU over the whole run, which holds the busy stretch
    assert sum(row["cpu_us"] for row in stages.values()) >= summary["cpu_us_per_event"] * 0.95


def test_native_and_python_engines_publish_the_same_records(kafka_bootstrap: str,
                                                            tmp_path: Path) -> None:
    """The same input through `run --engine native` and `--engine python`: the same records,
    with byte-equal keys (Kafka partitions and compacts by them) in the same partitions."""
    require_native_core()
    published = {}
    engines = (("native", "masking engine: native core"), ("python", "masking engine: Python"))
    spaces = {engine: setup(tmp_path / engine, kafka_bootstrap, events=3000, seed=11)[0]
              for engine, _ in engines}
    # both at once: their idle waits and commits overlap
    procs = {engine: start_processor(ns, kafka_bootstrap, "--exit-when-idle", "4", "--engine",
                                     engine) for engine, ns in spaces.items()}
    for engine, says in engines:
        ns, proc = spaces[engine], procs[engine]
        log = proc.communicate(timeout=180)[0].decode()
        assert proc.returncode == 0 and says in log, log
        records = read_topics(kafka_bootstrap, output_topics(ns))
        # each run makes its own random data keys (encrypt): equal up to the sealed bytes,
        # and each run's ciphertexts open to their inputs' values
        assert assert_ciphertexts_reveal(ns, kafka_bootstrap, records) > 100
        published[engine] = Counter(
            (r.topic.removeprefix(ns.ns), r.partition, r.raw_key,
             unsealed(orjson.dumps(r.value))) for r in records)
    assert sum(published["native"].values()) > 3000
    assert published["native"] == published["python"]


def test_sigkill_three_times_still_yields_each_output_exactly_once(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap, partitions=3)
    jsonl = tmp_path / "input.jsonl"
    # events keep flowing while the processor is killed
    generator = subprocess.Popen(
        [sys.executable, "-m", "processor", "generate", "--bootstrap-servers", kafka_bootstrap,
         "--events", "30000", "--seed", "11", "--rate", "3500", "--topic-prefix",
         ns.source_prefix, "--output", str(jsonl)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    crash_and_finish(ns, kafka_bootstrap, generator, seed=5)

    assert_exactly_once(ns, kafka_bootstrap, jsonl, 30000)


def _envelope(op: str, after: Any) -> bytes:
    return orjson.dumps({"before": None, "after": after, "op": op, "ts_ms": 1,
                         "source": {"ts_ms": 1, "table": "contacts"}})


def test_poison_inputs_go_to_the_dlq_with_reason_and_processing_goes_on(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = Namespace(tmp_path).create()
    ruleset = ns.rules / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text().replace("max_event_bytes: 1048576",
                                                   "max_event_bytes: 20000"))
    ns.topics(kafka_bootstrap, partitions=1)
    contacts = ns.source_prefix + "contacts"
    unruled = ns.source_prefix + "invoices"
    ns.generate(kafka_bootstrap, 1, 1, "--partitions", "1")
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(unruled, 1, 1)])[unruled].result(30)
    good = {"id": 1, "first_name": "Annabelle", "email": "annabelle@example.de"}
    poison = [
        (b"not json: Annabelle", "not_json"),
        (b'{"name": "Annabelle"}', "not_envelope"),
        (_envelope("x", good), "unknown_op"),
        (b'{"op": "c", "after": ' + b'"' + b"Annabelle" * 3000 + b'"}', "oversized"),
        (b"\xff\xfe Annabelle", "not_json"),
        (b'{"op": "c", "after": {"id": NaN}}', "not_json"),
        (b"[" * 2000 + b"]" * 2000, "not_json"),
        (b'{"op": "c", "after": {"id": 123456789012345678901234567890}}', "number_out_of_range"),
        (b'{"op": "c", "after": {"first_name": "\\ud800Annabelle"}}', "not_json"),
        (_envelope("c", {**good, "birth_date": "Annabelle"}), "invalid_field_value"),
        # under max_event_bytes, but its masked record is over the producer's message.max.bytes
        # (15,000 here): Kafka would refuse it, and the transaction would be redone for ever
        (_envelope("c", {**good, "notes": "Annabelle " + "x" * 12_000}), "oversized_output"),
    ]
    for i, (value, _) in enumerate(poison):
        producer.produce(contacts, key=orjson.dumps({"id": 100 + i}), value=value)
        producer.produce(contacts, key=orjson.dumps({"id": 200 + i}),
                         value=_envelope("c", {**good, "id": 200 + i}))
    producer.produce(unruled, key=b'{"id": 1}', value=_envelope("c", good))
    producer.flush(30)

    proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "4",
                           "--kafka-option", "message.max.bytes=15000")
    log = proc.communicate(timeout=180)[0].decode()
    assert proc.returncode == 0, log
    assert "aborting" not in log

    dlq = read_topics(kafka_bootstrap, [ns.dlq], expect=len(poison))
    reasons = [r.headers["crm_masker.dlq.reason"].decode() for r in
               sorted(dlq, key=lambda r: r.offset)]
    assert reasons == [reason for _, reason in poison], (reasons, log[-3000:])
    for r in dlq:
        assert b"Annabelle" not in r.raw, "the DLQ must not copy raw personal data"
        assert r.value["source"]["topic"] == contacts
        assert lineage(r)[0] == contacts
    views = read_topics(kafka_bootstrap, output_topics(ns), idle_s=3)
    # the generated snapshot user + every good contact after a poison one, in both contact views
    good_ids = {lineage(r)[2] for r in views if r.topic.endswith("contacts")}
    assert len(good_ids) == len(poison)
    assert not any(unruled in lineage(r)[0] for r in views + dlq)
    assert "Annabelle" not in log


def test_a_restarted_worker_knows_the_names_that_an_earlier_run_learnt(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    """The contact row goes by in the first run; the note that names her comes after a
    restart, in a run that never sees her row again (its offsets are committed): the name
    set read back from the contacts topic at start finds her (a first name that is not a common
    one: the first-name detector would find her without it)."""
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    create_source_topics(kafka_bootstrap, 1, {}, ns.source_prefix)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})

    def send(table: str, row: dict[str, Any]) -> None:
        producer.produce(f"{ns.source_prefix}{table}", key=orjson.dumps({"id": row["id"]}),
                         value=orjson.dumps({"op": "c", "before": None, "after": row,
                                             "source": {"ts_ms": 1}, "ts_ms": 2}))
        assert producer.flush(30) == 0

    def run() -> str:
        proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "3")
        try:
            log = proc.communicate(timeout=120)[0].decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(proc.communicate()[0].decode()[-3000:]) from None
        assert proc.returncode == 0, log
        return log

    send("contacts", {"id": 1, "first_name": "Zdenka", "last_name": "Kowalczyk"})
    run()
    send("activities", {"id": 7, "contact_id": 1, "subject": "Rückruf bei Zdenka Kowalczyk"})
    log = run()
    assert "known names: 1 records of the name tables read, 2 name tokens known" in log, log
    subjects = [r.value["subject"] for r in read_topics(kafka_bootstrap,
                                                        [f"{ns.ns}.bi.analytics.activities"])]
    assert subjects == ["Rückruf bei [NAME] [NAME]"]
