"""Data-subject rights against the real broker: Art. 15 look-ups, audited reveals, and
crypto-shredding that reaches copies taken before the erasure."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from processor.datakeys import KeyTopicView, WrappedKey
from processor.pipeline.key_topic import read_key_records, write_key_records
from tests.helpers import DEMO_KEK, DEMO_KEYS
from tests.pipeline.harness import (
    Namespace,
    Read,
    cli,
    drained,
    lineage,
    read_topics,
    start_processor,
)

pytestmark = pytest.mark.kafka
KEYS = ["--keys", str(DEMO_KEYS), "--allow-demo-keys"]
#: the views that publish each table whose rows name a contact, and the column that does
CONTACT_COLUMNS = {"contacts": "id", "contracts": "contact_id", "activities": "contact_id"}


@dataclass
class Run:
    ns: Namespace
    bootstrap: str
    #: source events of the contact tables: (table, op, image) with the published image
    events: list[tuple[str, str, dict[str, Any]]]
    sales: list[Read]  # the sales view of contacts, where phone is encrypted

    def subject(self, *args: str) -> dict[str, Any]:
        done = cli("subject", "--rules", str(self.ns.rules), *KEYS, "--bootstrap-servers",
                   self.bootstrap, "--format", "json", *args)
        result: dict[str, Any] = orjson.loads(done.stdout)
        return result

    def reveal(self, *args: str, kek: Path | None = DEMO_KEK) -> Any:
        """``crm-masker reveal``; ``kek`` None: without any KEK file (nor its variable)."""
        env = {k: v for k, v in os.environ.items() if k != "CRM_MASKER_KEK_FILE"}
        return subprocess.run(
            [sys.executable, "-m", "processor", "reveal", "--rules", str(self.ns.rules),
             "--bootstrap-servers", self.bootstrap,
             *(["--kek-file", str(kek), "--allow-demo-keys"] if kek else []), *args],
            capture_output=True, text=True, env=env, timeout=120)

    def audit(self) -> list[dict[str, Any]]:
        return [orjson.loads(m.value) if isinstance(m.value, bytes) else m.value
                for m in read_topics(self.bootstrap, [self.ns.audit], idle_s=2)]


def views_of(ns: Namespace) -> dict[str, list[str]]:
    from processor.rules import load_validated

    rules = load_validated(ns.rules).rules
    return {table: [view.topic.format(table=table) for view in rules.views.values()
                    if view.publishes(table)] for table in CONTACT_COLUMNS}


@pytest.fixture(scope="module")
def run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    ns = Namespace(tmp_path_factory.mktemp("rights")).create()
    ns.topics(kafka_bootstrap)
    ns.generate(kafka_bootstrap, 4000, 21)
    proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "3")
    log = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == 0, log
    events = []
    for record in read_topics(kafka_bootstrap, [ns.source_prefix + t for t in CONTACT_COLUMNS],
                              idle_s=2):
        value = record.value.get("payload", record.value) if record.value else None
        if value is None or value["op"] == "t":
            continue
        image = value["after"] if value["op"] != "d" else value["before"]
        events.append((record.topic.removeprefix(ns.source_prefix), value["op"], image))
    sales = read_topics(kafka_bootstrap, [f"{ns.ns}.bi.sales.contacts"], idle_s=2)
    yield Run(ns, kafka_bootstrap, events, sales)


def expected_records(run: Run, contact: int) -> Counter[str]:
    """Per view topic, the records that name ``contact``, from the source events: one per
    event of its rows and per view that publishes the table (tombstones name nobody)."""
    views = views_of(run.ns)
    found: Counter[str] = Counter()
    for table, _, image in run.events:
        if image.get(CONTACT_COLUMNS[table]) == contact:
            found.update(views[table])
    return found


def test_a_subject_lookup_finds_every_record_of_the_subject_and_no_other(run: Run) -> None:
    deleted = {image["id"] for table, op, image in run.events if table == "contacts" and op == "d"}
    per_contact = Counter(image.get(CONTACT_COLUMNS[t]) for t, _, image in run.events)
    live = [c for c, _ in per_contact.most_common() if c is not None and c not in deleted]
    for contact in (live[0], live[1], sorted(deleted)[0]):
        answer = run.subject("--id", f"contact={contact}", "--reason", "Art. 15 request, test")
        held = {h["topic"]: h for h in answer["held"]}
        assert {t: h["records"] for t, h in held.items()} == expected_records(run, contact)
        assert len(held) >= 2
        pseudonyms = set(answer["pseudonyms"]["contact"])
        assert len(pseudonyms) == 2  # the active and the retired key id
        for h in held.values():  # the latest record is the subject's, and no one else's
            column = CONTACT_COLUMNS[h["table"]]
            assert h["latest"][column] in pseudonyms and h["columns"] == [column]
        contacts = held[f"{run.ns.ns}.bi.sales.contacts"]
        assert contacts["deleted"] == (contact in deleted)
        assert [k.split("/")[1] for k in contacts["encrypted_under"]] == \
            sorted(p for p in pseudonyms if p.startswith("k2026a:"))
    # each look-up is in the audit trail, with who and why, and the chain holds
    lookups = [r for r in run.audit() if r.get("request", {}).get("kind") == "subject_lookup"]
    assert len(lookups) >= 3
    assert lookups[-1]["request"]["reason"] == "Art. 15 request, test"
    assert lookups[-1]["request"]["requester"] and lookups[-1]["producer"].startswith("request/")
    verify = cli("audit", "verify", "--rules", str(run.ns.rules), "--bootstrap-servers",
                 run.bootstrap)
    assert "chain intact" in verify.stdout


def test_a_lookup_by_email_writes_no_raw_value_anywhere(run: Run) -> None:
    email = next(image["email"] for table, op, image in run.events
                 if table == "contacts" and op in "cr" and image.get("consent_marketing")
                 and image.get("email"))
    answer = run.subject("--email", email, "--reason", "the customer asked", "--requester",
                         "dpo@example.com")
    assert any(h["table"] == "contacts" for h in answer["held"])
    assert email not in orjson.dumps(answer["held"]).decode()
    raw = b"".join(orjson.dumps(r) for r in run.audit())
    assert email.encode() not in raw and email.strip().lower().encode() not in raw
    assert b"dpo@example.com" in raw  # the requester is named


def source_image(bootstrap: str, record: Read) -> dict[str, Any]:
    """The unmasked row that a view record came from (by its lineage headers)."""
    found = read_topics(bootstrap, [lineage(record)[0]], idle_s=1)
    source = next(r for r in found if (r.topic, r.partition, r.offset) == lineage(record))
    value = source.value.get("payload", source.value)
    image: dict[str, Any] = value["after"] or value["before"]
    return image


def source_phone(run: Run, record: Read) -> str:
    phone: str = source_image(run.bootstrap, record)["phone"]
    return phone


def ciphertext(record: Read) -> str:
    image = record.value["after"] or record.value["before"]
    text: str = image["phone"]
    assert text.startswith("enc:phone:contact/")
    return text


def test_reveal_needs_the_kek_is_audited_and_stops_at_the_erasure(run: Run) -> None:
    deleted_keys = {r.raw_key for r in run.sales if r.value is None}
    live = [r for r in run.sales if r.value is not None and r.raw_key not in deleted_keys
            and (r.value["after"] or {}).get("phone")]
    gone = [r for r in run.sales if r.value is not None and r.raw_key in deleted_keys
            and r.value["op"] != "d" and (r.value["after"] or {}).get("phone")]
    assert live and gone
    # the security team reveals a live subject's number
    done = run.reveal("--reason", "fraud case 17", ciphertext(live[0]))
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["value"] == source_phone(run, live[0])
    # without the KEK file: refused, nothing printed
    refused = run.reveal("--reason", "curious", ciphertext(live[0]), kek=None)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "reveal needs the KEK file" in refused.stderr
    # a copy taken before the subject's erasure (a warehouse row) no longer opens
    copied = run.reveal("--reason", "warehouse row", ciphertext(gone[0]))
    assert copied.returncode == 1 and "was shredded" in copied.stderr
    assert orjson.loads(copied.stdout)["value"] is None
    # records: every ciphertext of a JSON line replaced; an erased one by null
    lines = tmp_lines(run, [live[1].value, gone[0].value])
    both = run.reveal("--reason", "export check", "--records", str(lines))
    revealed = [orjson.loads(line) for line in both.stdout.splitlines()]
    assert revealed[0]["after"]["phone"] == source_phone(run, live[1])
    assert revealed[1]["after"]["phone"] is None and both.returncode == 1
    # each reveal is audited: who, why, which data keys — never the number
    reveals = [r["request"] for r in run.audit() if r.get("request", {}).get("kind") == "reveal"]
    assert [r["reason"] for r in reveals][-3:] == ["fraud case 17", "warehouse row",
                                                   "export check"]
    assert reveals[-3]["data_keys"] == [ciphertext(live[0]).split(":", 2)[2].rsplit(":", 1)[0]]
    assert source_phone(run, live[0]).encode() not in orjson.dumps(reveals)


def tmp_lines(run: Run, values: list[Any]) -> Path:
    path = run.ns.root / f"records-{time.monotonic_ns()}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in values))
    return path


def test_erase_shreds_a_subject_outside_the_crm_and_the_audit_lists_it(run: Run) -> None:
    deleted_keys = {r.raw_key for r in run.sales if r.value is None}
    live = [r for r in run.sales if r.value is not None and r.raw_key not in deleted_keys
            and (r.value["after"] or {}).get("phone")]
    record = live[-1]
    key_id = ciphertext(record).split(":", 2)[2].rsplit(":", 1)[0]
    contact = source_image(run.bootstrap, record)["id"]
    assert run.reveal("--reason", "before", ciphertext(record)).returncode == 0
    done = cli("erase", "--rules", str(run.ns.rules), *KEYS, "--bootstrap-servers",
               run.bootstrap, "--id", f"contact={contact}", "--reason", "Art. 17 by letter")
    assert f"shredded {key_id}" in done.stdout.splitlines()
    after = run.reveal("--reason", "after", ciphertext(record))
    assert after.returncode == 1 and "was shredded" in after.stderr
    other = next(r for r in live if ciphertext(r).split(":")[3] != key_id.split(":")[1])
    assert run.reveal("--reason", "another subject", ciphertext(other)).returncode == 0
    erasures = cli("audit", "erasures", "--rules", str(run.ns.rules), "--bootstrap-servers",
                   run.bootstrap)
    listed = [orjson.loads(line) for line in erasures.stdout.splitlines()]
    assert any(e.get("table") == "erase" and e.get("shredded") == key_id for e in listed)
    # the processor shredded the subjects whose rows the CRM deleted, in the same transaction
    assert sum(1 for e in listed if e.get("table") == "contacts" and "shredded" in e) >= \
        2 * len({r.raw_key for r in run.sales if r.value is None})


def test_rotation_rewraps_the_keys_and_a_shredded_key_is_compacted_away(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    ns = Namespace(tmp_path).create()
    ruleset = ns.rules / "ruleset.yaml"
    # short compaction settings: a shredded key must be gone within seconds
    ruleset.write_text(ruleset.read_text().replace("shred_within: P1D", "shred_within: PT4S"))
    kek = tmp_path / "kek.yaml"
    cli("keys", "new", "--output", str(kek), "--key-id", "kek1")
    ns.topics(kafka_bootstrap)
    ns.generate(kafka_bootstrap, 800, 3)
    proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "3", "--kek-file", str(kek))
    log = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == 0, log
    before = list(read_key_records(kafka_bootstrap, ns.data_keys, {}))
    assert before and {w.kek_id for _, (_, w) in before if w} == {"kek1"}
    rotated = cli("keys", "rotate", "--rules", str(ns.rules), "--kek-file", str(kek),
                  "--bootstrap-servers", kafka_bootstrap, "--key-id", "kek2")
    assert "new KEK kek2" in rotated.stdout
    view = KeyTopicView(read_key_records(kafka_bootstrap, ns.data_keys, {}))
    assert view.live and {w.kek_id for _, w in view.live.values()} == {"kek2"}
    # the old KEK may leave the file: every data key opens with the new one alone
    from processor.keys import load_keys

    only_new = load_keys(kek)
    only_new = type(only_new)({"kek2": only_new.secrets["kek2"]}, source="kek2 only")
    sales = read_topics(kafka_bootstrap, [f"{ns.ns}.bi.sales.contacts"], idle_s=2)
    erased = {r.raw_key for r in sales if r.value is None}
    record = next(r for r in sales if r.value is not None and r.raw_key not in erased
                  and (r.value["after"] or {}).get("phone"))
    assert str(view.reveal(only_new, ciphertext(record))).startswith("+")
    # erase that subject: its key is tombstoned, then compacted away entirely
    key_id = ciphertext(record).split(":", 2)[2].rsplit(":", 1)[0]
    subject_ids = [k for k in view.live if k.startswith("contact/")]
    raw_id = source_image(kafka_bootstrap, record)["id"]
    cli("erase", "--rules", str(ns.rules), *KEYS, "--bootstrap-servers", kafka_bootstrap,
        "--id", f"contact={raw_id}", "--reason", "Art. 17")
    deadline = time.monotonic() + 120
    while True:
        time.sleep(2)
        # later writes roll the segment that holds the tombstone, so the cleaner can take it
        cli("erase", "--rules", str(ns.rules), *KEYS, "--bootstrap-servers", kafka_bootstrap,
            "--id", "contact=999999999", "--reason", "roll the segment")
        left = [k for _, (k, _) in read_key_records(kafka_bootstrap, ns.data_keys, {})
                if k == key_id]
        if not left:
            break
        assert time.monotonic() < deadline, f"{len(left)} record(s) of {key_id} still there"
    assert len(subject_ids) > 1
    remaining = KeyTopicView(read_key_records(kafka_bootstrap, ns.data_keys, {}))
    assert key_id not in remaining.live and key_id not in remaining.shredded
    assert set(subject_ids) - {key_id} <= set(remaining.live)


def test_an_erasure_outside_the_crm_reaches_the_running_workers(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    """`erase` tombstones a subject's keys while a worker runs: the worker reads the key
    topic on (`--follow-keys-every`) and drops the key, so the subject's next value gets a new
    key, which `reveal` opens — not the shredded one, under which it could never be revealed
    (nor told apart from the values of before the erasure: the same key seals alike)."""
    from confluent_kafka import Producer

    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    ns.generate(kafka_bootstrap, 400, 5)
    sales_topic = f"{ns.ns}.bi.sales.contacts"
    proc = start_processor(ns, kafka_bootstrap, "--follow-keys-every", "0.5", "--batch-ms", "50")
    lines: list[str] = []  # the processor's log, as it comes
    out = proc.stdout
    assert out is not None
    reader = threading.Thread(target=lambda: lines.extend(
        line.decode(errors="replace") for line in iter(out.readline, b"")), daemon=True)
    reader.start()

    def logged(text: str) -> bool:
        return any(text in line for line in lines)

    try:
        deadline = time.monotonic() + 180
        while not drained(kafka_bootstrap, f"{ns.ns}-masker",
                          [ns.source_prefix + t for t in CONTACT_COLUMNS]):
            assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.5)
        sales = read_topics(kafka_bootstrap, [sales_topic], idle_s=2)
        deleted = {r.raw_key for r in sales if r.value is None}
        record = next(r for r in reversed(sales) if r.value is not None
                      and r.raw_key not in deleted and (r.value["after"] or {}).get("phone"))
        before = ciphertext(record)
        key_id = before.split(":", 2)[2].rsplit(":", 1)[0]
        topic, partition, offset = lineage(record)
        source = next(r for r in read_topics(kafka_bootstrap, [topic], idle_s=1)
                      if (r.partition, r.offset) == (partition, offset))
        cli("erase", "--rules", str(ns.rules), *KEYS, "--bootstrap-servers", kafka_bootstrap,
            "--id", f"contact={source_image(kafka_bootstrap, record)['id']}", "--reason", "letter")
        while not logged("1 subject key(s) shredded on"):  # the idle worker's next read
            assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        producer = Producer({"bootstrap.servers": kafka_bootstrap})
        producer.produce(topic, orjson.dumps(source.value), source.raw_key, partition=partition)
        assert producer.flush(30) == 0
        again = read_topics(kafka_bootstrap, [sales_topic], expect=len(sales) + 1, idle_s=30)
        assert len(again) == len(sales) + 1
        # a key that the worker's KEK file cannot unwrap (wrapped by a KEK added elsewhere):
        # one warning, the worker runs on, and its next read is whole
        write_key_records(kafka_bootstrap, ns.data_keys, {}, [
            ("contact/k2026a:stranger", WrappedKey("kek-elsewhere", b"\x01" * 72, 1))])
        while not logged("does not hold); trying again, whole"):
            assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        time.sleep(1)
        assert proc.poll() is None, "".join(lines)
    finally:
        proc.terminate()
        proc.wait(60)
        reader.join(10)
    log = "".join(lines)
    after = ciphertext(again[-1])
    assert after.split(":", 2)[2].rsplit(":", 1)[0] == key_id and after != before, log
    revealed = subprocess.run(
        [sys.executable, "-m", "processor", "reveal", "--rules", str(ns.rules),
         "--bootstrap-servers", kafka_bootstrap, "--kek-file", str(DEMO_KEK),
         "--allow-demo-keys", "--reason", "test", after], capture_output=True, text=True,
        timeout=120)
    assert revealed.returncode == 0, revealed.stderr
    assert orjson.loads(revealed.stdout)["value"] == source_image(kafka_bootstrap, record)["phone"]
