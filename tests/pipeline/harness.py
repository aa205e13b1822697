"""Run the real processor against the real broker, in namespaced topics, and read back."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tests.helpers import DEMO_KEYS, RULES, consume

LINEAGE = ("crm_masker.source.topic", "crm_masker.source.partition", "crm_masker.source.offset")


@dataclass
class Namespace:
    """A copy of the shipped rules whose every topic carries a unique prefix."""

    root: Path
    ns: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")

    @property
    def rules(self) -> Path:
        return self.root / "rules"

    @property
    def source_prefix(self) -> str:
        return f"{self.ns}.crm.public."

    @property
    def dlq(self) -> str:
        return f"{self.ns}.crm.dlq"

    @property
    def audit(self) -> str:
        return f"{self.ns}.crm.audit.proc"

    @property
    def data_keys(self) -> str:
        return f"{self.ns}.crm.keys.subjects"

    def topics(self, bootstrap: str, partitions: int = 3) -> None:
        """Create the output topics that the namespaced rules imply."""
        cli("topics", "--rules", str(self.rules), "--bootstrap-servers", bootstrap,
            "--partitions", str(partitions))

    def generate(self, bootstrap: str, events: int, seed: int = 1, *extra: str) -> None:
        """Synthetic change events onto the namespaced source topics."""
        cli("generate", "--bootstrap-servers", bootstrap, "--events", str(events), "--seed",
            str(seed), "--topic-prefix", self.source_prefix, *extra)

    def create(self) -> Namespace:
        shutil.copytree(RULES, self.rules)
        for path in self.rules.rglob("*.yaml"):
            text = path.read_text().replace("crm.public.", self.source_prefix)
            for prefix in ('"bi.', '"sec.'):
                text = text.replace(prefix, f'"{self.ns}.{prefix[1:]}')
            text = text.replace("dlq_topic: crm.dlq", f"dlq_topic: {self.dlq}\n"
                                                      f"alert_topic: {self.ns}.crm.alerts\n"
                                                      f"audit_topic: {self.audit}")
            text = text.replace("topic: crm.keys.subjects", f"topic: {self.data_keys}")
            text = text.replace("by_actor_topic: crm.", f"by_actor_topic: {self.ns}.crm.")
            text = text.replace("facts_topic: crm.", f"facts_topic: {self.ns}.crm.")
            path.write_text(text)
        return self


def cli(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "processor", *args], capture_output=True,
                          text=True, check=check, timeout=timeout)


def start_processor(ns: Namespace, bootstrap: str, *extra: str, metrics_port: int = -1,
                    instance: str = "tx") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "processor", "run", "--rules", str(ns.rules), "--keys",
         str(DEMO_KEYS), "--allow-demo-keys", "--bootstrap-servers", bootstrap,
         "--group-id", f"{ns.ns}-masker", "--transactional-id", f"{ns.ns}-{instance}",
         "--metrics-port", str(metrics_port), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ})


def crash_and_finish(ns: Namespace, bootstrap: str, generator: subprocess.Popen[bytes],
                     seed: int, kills: int = 3, alive: tuple[float, float] = (2.0, 4.0),
                     extra: tuple[str, ...] = (), after_commit: bool = False,
                     committed_to: str | None = None) -> str:
    """SIGKILL the processor ``kills`` times at random moments while ``generator`` produces
    (``alive`` counted from the instance's first commit when ``after_commit``: of a record to
    ``committed_to``, by default its audit record), then let a last instance drain the input;
    returns the last instance's log."""
    import random

    rng = random.Random(seed)
    try:
        for _ in range(kills):
            sigkill_after(ns, bootstrap, rng.uniform(*alive), *extra,
                          after_commit=after_commit, committed_to=committed_to)
        assert generator.wait(120) == 0
    finally:
        if generator.poll() is None:
            generator.kill()
    final = start_processor(ns, bootstrap, "--exit-when-idle", "5", *extra)
    log = final.communicate(timeout=300)[0].decode()
    assert final.returncode == 0, log
    return log


def sigkill_after(ns: Namespace, bootstrap: str, alive_s: float, *extra: str,
                  after_commit: bool = False, committed_to: str | None = None) -> None:
    """A processor that runs for ``alive_s`` and is SIGKILLed, mid-transaction; with
    ``after_commit``, ``alive_s`` after its first commit (its audit record; or, for an
    internal topic that it reads back, ``committed_to``, its first commit of having read
    records of it: written alone, they are not yet state that a restart rebuilds): a start-up
    that a loaded machine makes slow cannot leave every instance without a commit."""
    import time

    def progress() -> int:
        if committed_to is None:
            return committed_records(bootstrap, ns.audit)
        return group_offsets(bootstrap, f"{ns.ns}-masker", committed_to)

    before = progress() if after_commit else 0
    proc = start_processor(ns, bootstrap, "--batch-ms", "100", *extra)
    deadline = time.monotonic() + 120
    while after_commit and progress() <= before:
        assert proc.poll() is None and time.monotonic() < deadline, stop(proc)
        time.sleep(0.2)
    time.sleep(alive_s)
    assert proc.poll() is None, stop(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


def group_offsets(bootstrap: str, group: str, topic: str) -> int:
    """The sum of ``group``'s committed offsets on the topic's partitions (0 where none)."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                       "enable.auto.commit": False})
    try:
        partitions = [TopicPartition(topic, p)
                      for p in reader.list_topics(topic, timeout=10).topics[topic].partitions]
        return sum(max(tp.offset, 0) for tp in reader.committed(partitions, timeout=10))
    except KafkaException:  # the group's coordinator is not known yet
        return 0
    finally:
        reader.close()


def committed_records(bootstrap: str, topic: str) -> int:
    """The sum of the topic's partitions' ends for a read_committed reader (the audit topic's
    moves at every commit of the processor; ``watermarks`` waits out a topic made a moment
    ago, whose leader is not known yet)."""
    from confluent_kafka import Consumer

    from processor.pipeline.topic_reader import partitions_of, watermarks

    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-commit-watch",
                       "isolation.level": "read_committed"})
    try:
        return sum(watermarks(reader, topic, pid, 30)[1]
                   for pid in partitions_of(reader, topic, 30))
    finally:
        reader.close()


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 60) -> str:
    if proc.poll() is None:
        proc.send_signal(sig)
    out, _ = proc.communicate(timeout=timeout)
    return out.decode(errors="replace")


@dataclass
class Read:
    topic: str
    partition: int
    offset: int
    key: Any
    value: Any
    headers: dict[str, bytes]
    raw: bytes
    raw_key: bytes | None = None


def read_topics(bootstrap: str, topics: list[str], expect: int | None = None,
                idle_s: float = 5.0, decode: Callable[[bytes], Any] | None = None,
                to_end: bool | None = None) -> list[Read]:
    """Everything committed on ``topics`` (read_committed), until ``expect``, the end of
    every partition or idle (see ``consume``); keys and values read as JSON, or with
    ``decode`` (Avro)."""
    out = []
    for msg in consume(bootstrap, topics, expect=expect, idle_s=idle_s, to_end=to_end):
        raw = (msg.key() or b"") + b"\x00" + (msg.value() or b"") + b"\x00" + b"".join(
            k.encode() + b"=" + (v or b"") for k, v in msg.headers() or [])
        key, value = msg.key(), msg.value()
        out.append(Read(msg.topic(), msg.partition(), msg.offset(),
                        decode(key) if decode and key is not None else _json_or_text(key),
                        None if value is None else decode(value) if decode else orjson.loads(value),
                        dict(msg.headers() or []), raw, key))
    return out


def lineage(record: Read) -> tuple[str, int, int]:
    h = record.headers
    return (h[LINEAGE[0]].decode(), int(h[LINEAGE[1]]), int(h[LINEAGE[2]]))


def expected_outputs(jsonl: Path, ns: Namespace) -> Counter[tuple[str, bytes, bytes]]:
    """What the engine produces offline for the same input: (topic, key, value) multiset."""
    result = cli("mask", "--rules", str(ns.rules), "--keys", str(DEMO_KEYS), "--allow-demo-keys",
                 "--input", str(jsonl))
    return Counter(_canon(orjson.loads(line)) for line in result.stdout.splitlines())


#: the sealed part of a ciphertext (``enc:<domain>:<data key id>:<sealed>``): offline, the
#: data keys are other random keys; ``assert_ciphertexts_reveal`` checks what it seals
SEALED = re.compile(rb'("enc:[^"]*):[A-Za-z0-9_-]+"')


def unsealed(value: bytes) -> bytes:
    """A record's JSON with each ciphertext's sealed part left out: two runs (or a run and
    the offline engine) seal under their own random data keys, alike up to that part."""
    return SEALED.sub(rb'\1"', value)


def _canon(record: dict[str, Any]) -> tuple[str, bytes, bytes]:
    opts = orjson.OPT_SORT_KEYS
    return (record["topic"], orjson.dumps(record["key"], option=opts),
            unsealed(orjson.dumps(record["value"], option=opts)))


def actual_outputs(records: list[Read]) -> Counter[tuple[str, bytes, bytes]]:
    return Counter(_canon({"topic": r.topic, "key": r.key, "value": r.value}) for r in records)


def assert_exactly_once(ns: Namespace, bootstrap: str, jsonl: Path, inputs: int,
                        log: str = "") -> int:
    """Every input's outputs published once, by lineage, equal to what the engine makes of
    the same input offline, and the audit chain intact and counting ``inputs``; returns the
    number of outputs."""
    expected = expected_outputs(jsonl, ns)
    records = read_topics(bootstrap, output_topics(ns), expect=sum(expected.values()))
    per_lineage = Counter((lineage(r), r.topic, r.value is None) for r in records)
    duplicates = {k: n for k, n in per_lineage.items() if n > 1}
    assert not duplicates, f"{len(duplicates)} inputs published twice"
    actual = actual_outputs(records)
    assert actual == expected, mismatch(ns, bootstrap, expected, actual, log)
    assert_ciphertexts_reveal(ns, bootstrap, records)
    # restarted producers continued the audit chain from their last committed record, and it
    # accounts for every input exactly once
    audit = cli("audit", "verify", "--rules", str(ns.rules), "--bootstrap-servers", bootstrap,
                check=False)
    assert audit.returncode == 0 and "chain intact" in audit.stdout, audit.stdout + audit.stderr
    assert f"inputs {inputs}," in audit.stdout, audit.stdout
    return sum(expected.values())


def mismatch(ns: Namespace, bootstrap: str, expected: Counter[tuple[str, bytes, bytes]],
             actual: Counter[tuple[str, bytes, bytes]], log: str) -> str:
    """What differs, by view topic, with the dead letters' reasons (a dead-lettered event's
    outputs are missing) and the end of the log."""
    missing, extra = expected - actual, actual - expected
    letters = Counter(str((r.value or {}).get("reason")) if isinstance(r.value, dict) else "?"
                      for r in read_topics(bootstrap, [ns.dlq], idle_s=2))
    return (f"missing {sum(missing.values())} {dict(Counter(t for t, _, _ in missing.elements()))}"
            f", extra {sum(extra.values())} {dict(Counter(t for t, _, _ in extra.elements()))}"
            f"; dead letters {dict(letters)}; e.g. missing {list(missing)[:2]}"
            f"; log:\n{log[-3000:]}")


def assert_ciphertexts_reveal(ns: Namespace, bootstrap: str, records: list[Read]) -> int:
    """Exactly once includes the key topic: every published ciphertext opens, with the data
    key that the key topic holds, to the value of its input (found by lineage) — or its
    subject was erased and its key shredded. Returns the number revealed."""
    from processor.datakeys import KeyTopicView, RevealError
    from processor.pipeline.key_topic import read_key_records
    from processor.rules import load_validated
    from processor.rules.encrypted import encrypted_fields
    from tests.helpers import demo_keks

    rules = load_validated(ns.rules).rules
    encrypted = {rules.tables[table].topic: column for table, column, _ in
                 encrypted_fields(rules)}
    sealed = [(r, column) for r in records if r.value is not None and lineage(r)[0] in encrypted
              for column in [encrypted[lineage(r)[0]]] if _image(r.value).get(column)
              and str(_image(r.value)[column]).startswith("enc:")]
    if not sealed:
        return 0
    sources = {(m.topic(), m.partition(), m.offset()): orjson.loads(m.value())
               for m in consume(bootstrap, sorted(encrypted)) if m.value() is not None}
    view = KeyTopicView(read_key_records(bootstrap, rules.data_keys.topic, {}))
    revealed = shredded = 0
    for record, column in sealed:
        source = sources[lineage(record)]
        source = source.get("payload", source)
        image = source["after"] if source.get("after") is not None else source["before"]
        try:
            assert view.reveal(demo_keks(), _image(record.value)[column]) == image[column]
            revealed += 1
        except RevealError as exc:  # only an erased subject's key may be missing
            assert "was shredded" in str(exc), (lineage(record), str(exc))
            shredded += 1
    assert revealed > 0, (revealed, shredded)
    return revealed


def _image(value: dict[str, Any]) -> dict[str, Any]:
    from processor.formats.envelope import unwrap

    value = unwrap(value)
    if "__op" in value:
        return value
    return (value.get("after") if value.get("after") is not None else value.get("before")) or {}


def output_topics(ns: Namespace) -> list[str]:
    """The view topics: the masked records."""
    from processor.rules import load_validated
    from processor.rules.topics import RuleTopics

    return sorted(set(RuleTopics.of(load_validated(ns.rules).rules).views.values()))


def leaked(secrets: set[bytes], records: list[Read]) -> set[bytes]:
    """The secrets found in the records: as a whole value anywhere, or inside free text."""
    from tests.helpers import scalars

    strings: set[bytes] = set()
    for r in records:
        for obj in (r.key, r.value):
            strings.update(s.encode() for s in scalars(obj) if isinstance(s, str))
        strings.update(v for v in r.headers.values() if v)
    text = b"\x00".join(s for s in strings if len(s) > 24)  # sentences, where a value could hide
    return {s for s in secrets if s in strings or s in text}


def _json_or_text(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data.decode(errors="replace")


def expected_alert_ids(ns: Namespace, jsonl: Path) -> set[str]:
    """The same detectors offline over the same input, in one order: the reference that
    the processor must match on any number of partitions and workers."""
    from processor.anomaly.engine import AnomalyEngine
    from processor.rules import load_validated

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


def drained(bootstrap: str, group: str, topics: list[str]) -> bool:
    """Whether ``group`` has committed every record of ``topics`` (read_committed: the
    transaction markers after the last record take offsets but hold nothing)."""
    import time

    from confluent_kafka import Consumer, KafkaException, TopicPartition

    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                       "isolation.level": "read_committed", "enable.auto.commit": False})
    try:
        partitions = [TopicPartition(topic, p) for topic in topics
                      for p in reader.list_topics(topic, timeout=10).topics[topic].partitions]
        committed = reader.committed(partitions, timeout=10)
        reader.assign([TopicPartition(tp.topic, tp.partition, max(tp.offset, 0))
                       for tp in committed])
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            msg = reader.poll(0.2)
            if msg is not None and not msg.error():
                return False  # a committed record after the group's offset
        return True
    except KafkaException:  # the group's coordinator is not known yet
        return False
    finally:
        reader.close()
