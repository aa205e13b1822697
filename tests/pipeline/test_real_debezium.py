"""The real CDC chain: a scripted CRM history in PostgreSQL, captured by the Debezium connector
on Kafka Connect, masked by `crm-masker run`; the views must end as the final table state
masked under the rules (computed here from PostgreSQL, apart from the stream).

The history: a snapshot, inserts, updates and deletes (the generator's, as SQL), a primary-key
change, a large unchanged text under REPLICA IDENTITY DEFAULT and FULL, a truncate, an added
column, a type change (timestamp → timestamp(0): milliseconds from then on). Each variant is a
connector setting that a deployment may choose.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import signal
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from deploy import debezium
from processor.avro.schema_registry import client_from_options
from processor.formats import debezium_types as dbz
from processor.formats.decoded import decoder_of
from processor.formats.envelope import UNAVAILABLE
from processor.formats.logical_types import LogicalType, RowTypes, of_connect_envelope
from processor.generator import model
from processor.generator.postgres import write_sql
from processor.generator.rows import UNKNOWN_FIRST, UNKNOWN_LAST
from processor.generator.stream import CrmStream
from processor.masking.compiler import compile_rules
from processor.masking.engine import MaskingEngine
from processor.pipeline.records import H_UNAVAILABLE
from processor.rules import load_validated
from tests.broker import REPO
from tests.cdc import NEW_TYPES_RULES, NEW_TYPES_SQL, CdcChain, add_contact_rules, rows
from tests.helpers import as_debezium_json, demo_keks, demo_keys, read_avro
from tests.pipeline.harness import (
    Namespace,
    Read,
    output_topics,
    read_topics,
    start_processor,
    stop,
    unsealed,
)

pytestmark = pytest.mark.kafka

SENTINEL_ID = 9_999_999
WAREHOUSE_SINK = REPO / "deploy" / "debezium" / "warehouse-sink.json"
#: the sentinel's id as Avro writes a long (zig-zag varint) after the row's union branch 1
AVRO_SENTINEL = b"\x02" + bytes([0xFE, 0xD9, 0xC4, 0x09])
#: a text that PostgreSQL keeps out of line (TOAST): long, and random enough not to compress
LARGE_TEXT = "".join(random.Random(7).choices(string.ascii_letters + "  ", k=24_000))
#: a note as business mails name people (a role, a particle, a double first name, a sign-off,
#: a bare first name and surname, a label, a glued salutation) and a date of birth: the
#: unknown names are the leak check's, the date must not get through
BIRTH_DATE = "12.03.1985"
#: identifiers as notes write them, which no column of the reference CRM holds
ADDRESS, SPELLED_EMAIL, PLATE = ("Lindenweg 4, 50667 Köln", "anna punkt weber at gmx punkt de",
                                 "M-AB 1234")
#: and what support notes and letters hold: a rare first name after a greeting, a health
#: insurance number, a password, a router's MAC address, a year of birth
GREETED, KVNR, SECRET, MAC = "Thorbjörn", "A123456780", "Sommer2024!", "00:1A:2B:3C:4D:5E"
#: and a forwarded mail's header with a rare first name, a caller's own name, a JSON record's
#: name in lower case (Debezium escapes its quotes), Swiss and parcel numbers
HEADER_FIRST, JSON_NAME, AHV, POST = ("Zdenka", UNKNOWN_LAST[6].lower(), "756.1234.5678.97",
                                      "12345678")
WRITTEN_NOTE = (f"Ansprechpartnerin Fr. {UNKNOWN_LAST[0]}, Gespräch mit Herrn von der "
                f"{UNKNOWN_LAST[4]}. Frau Ursula Ingrid {UNKNOWN_LAST[10]}, geb. {BIRTH_DATE}.\n"
                f"Telefonat mit {UNKNOWN_FIRST[8]} {UNKNOWN_LAST[5]}, Name: {UNKNOWN_LAST[9]}, "
                f"Hr.{UNKNOWN_LAST[11]}.\nNeue Anschrift: {ADDRESS}, Mail {SPELLED_EMAIL}, "
                f"Kennzeichen {PLATE}, Rückruf an T. {UNKNOWN_LAST[12]}.\n"
                f"Teilnehmer: {UNKNOWN_LAST[13]}, Anna.\nMoin {GREETED}, KVNR: {KVNR}, "
                f"Jahrgang 1958, Passwort: {SECRET}, MAC {MAC}, Eheleute {UNKNOWN_FIRST[3]} und "
                f"Ragnhild {UNKNOWN_LAST[1]}.\nVon: {UNKNOWN_LAST[2]}, {HEADER_FIRST}\n"
                f"Mein Name ist {UNKNOWN_FIRST[5]} {UNKNOWN_LAST[3]}. "
                f'{{"lastName":"{JSON_NAME}"}}, AHV {AHV}, Postnummer {POST}.\nViele Grüße\n'
                f"{UNKNOWN_FIRST[0]} {UNKNOWN_LAST[7]}")


def history(db: str, stream_records: Any) -> dict[str, Any]:
    """The changes after the snapshot; returns the ids that the checks look at, and the
    contracts as they were before their type change."""
    import psycopg

    write_sql(stream_records, 270, db)
    with psycopg.connect(db, autocommit=True) as conn:
        def one(query: str, *params: Any) -> int:
            row = conn.execute(query, params).fetchone()
            assert row is not None
            return int(row[0])

        ids: dict[str, Any] = {"moved": one("SELECT min(id) FROM contacts"),
               "toast_default": one("SELECT max(id) FROM contacts"),
               "account": one("SELECT min(id) FROM accounts")}
        conn.execute("UPDATE contacts SET id = id + 1000000 WHERE id = %s", (ids["moved"],))
        # an unchanged TOAST column under REPLICA IDENTITY DEFAULT: Debezium's placeholder
        conn.execute("UPDATE contacts SET notes = %s WHERE id = %s",
                     (LARGE_TEXT, ids["toast_default"]))
        conn.execute("UPDATE contacts SET city = 'Köln' WHERE id = %s", (ids["toast_default"],))
        # and under FULL (the old row is logged whole)
        conn.execute("ALTER TABLE contacts REPLICA IDENTITY FULL")
        ids["toast_full"] = one("SELECT max(id) FROM contacts WHERE id <> %s",
                                ids["toast_default"])
        conn.execute("UPDATE contacts SET notes = %s WHERE id = %s", (LARGE_TEXT, ids["toast_full"]))
        conn.execute("UPDATE contacts SET city = 'Bonn' WHERE id = %s", (ids["toast_full"],))
        conn.execute("UPDATE contacts SET notes = %s WHERE id = (SELECT min(id) FROM contacts)",
                     (WRITTEN_NOTE,))
        # the access log is truncated, then goes on
        conn.execute("TRUNCATE audit_log")
        conn.execute("INSERT INTO audit_log (id, user_id, action, object_type, record_count, "
                     "classification, occurred_at) VALUES (%s, 1, 'view', 'contact', 1, "
                     "'personal', now()::timestamp)", (SENTINEL_ID - 1,))
        # a column that no rule names: dropped, counted, logged by name
        conn.execute("ALTER TABLE accounts ADD COLUMN rating text")
        conn.execute("UPDATE accounts SET rating = 'A' WHERE id = %s", (ids["account"],))
        # a type change: Debezium now sends signed_at in milliseconds (io.debezium.time.
        # Timestamp), while the rule says microseconds; three contracts are signed again
        contracts_before = rows(db, "contracts")
        retyped = [r[0] for r in conn.execute(
            "SELECT id FROM contracts ORDER BY id LIMIT 3").fetchall()]
        conn.execute("ALTER TABLE contracts ALTER COLUMN signed_at TYPE timestamp(0)")
        conn.execute("UPDATE contracts SET signed_at = '2026-05-05 10:11:12' WHERE id = ANY(%s)",
                     (retyped,))
        conn.execute("INSERT INTO audit_log (id, user_id, action, object_type, record_count, "
                     "classification, occurred_at) VALUES (%s, 1, 'view', 'contact', 1, "
                     "'personal', now()::timestamp)", (SENTINEL_ID,))
    ids["retyped"] = retyped
    ids["contracts_before"] = contracts_before
    return ids


@dataclass(frozen=True)
class Variant:
    """Connector settings a deployment may choose, and what they mean for values and rules."""

    settings: dict[str, str] = field(default_factory=dict)
    decimals: str = "precise"  # decimal.handling.mode
    millis: bool = False  # time.precision.mode=connect: timestamps in milliseconds
    truncates: bool = True  # ExtractNewRecordState drops truncate events
    wrapped: bool = False  # the JSON converter with schemas
    avro: bool = False  # Avro through the schema registry (Apicurio's converter)

    @property
    def typed(self) -> bool:
        """Each event names its columns' types (the encoding follows a type change)."""
        return self.wrapped or self.avro

    @property
    def refuses_retyped(self) -> bool:
        """A timestamp(0) column sends milliseconds where the rule says microseconds: without
        a schema to say so, each such event is a dead letter naming the column."""
        return not (self.typed or self.millis)


UNWRAP = {"transforms": "unwrap",
          "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
          "transforms.unwrap.delete.tombstone.handling.mode": "rewrite",
          "transforms.unwrap.add.fields": "op,source.ts_ms"}
VARIANTS = {
    "default": Variant(),
    "schemas": Variant({"key.converter.schemas.enable": "true",
                        "value.converter.schemas.enable": "true"}, wrapped=True),
    "decimal-string": Variant({"decimal.handling.mode": "string"}, decimals="string"),
    "decimal-double": Variant({"decimal.handling.mode": "double"}, decimals="double"),
    "time-connect": Variant({"time.precision.mode": "connect"}, millis=True),
    "unwrap": Variant(UNWRAP, truncates=False),
    "avro": Variant(avro=True),
}


def avro_converters(registry_url: str) -> dict[str, str]:
    """Apicurio's Kafka Connect Avro converter for key and value, framed as Confluent's
    (magic byte, 4-byte id) with the ids that the registry's Confluent API serves."""
    settings = {"apicurio.registry.url": registry_url.split("/apis/")[0] + "/apis/registry/v2",
                "apicurio.registry.auto-register": "true", "apicurio.registry.find-latest": "true",
                "apicurio.registry.as-confluent": "true", "apicurio.registry.use-id": "contentId",
                "apicurio.registry.headers.enabled": "false"}
    out = {}
    for part in ("key", "value"):
        out[f"{part}.converter"] = "io.apicurio.registry.utils.converter.AvroConverter"
        out.update({f"{part}.converter.{k}": v for k, v in settings.items()})
    return out


def debezium_json(table: str, row: dict[str, Any], variant: Variant,
                  millis: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A PostgreSQL row as Debezium's JSON converter encodes it under ``variant``: written
    here from the column types and Debezium's documented mappings, not by Debezium.
    ``millis``: timestamp(0..3) columns (milliseconds in every variant)."""
    out: dict[str, Any] = {}
    for column, value in row.items():
        if column not in model.TABLES[table]:
            out[column] = value
        elif isinstance(value, datetime):
            micros = dbz.datetime_to_micros(value.replace(tzinfo=dbz.EPOCH.tzinfo))
            out[column] = micros // 1000 if variant.millis or column in millis else micros
        elif isinstance(value, date):
            out[column] = dbz.date_to_days(value)
        elif isinstance(value, Decimal):
            scale = int(model.TABLES[table][column][2]["scale"])
            out[column] = {"precise": dbz.encode_decimal(value, scale), "string": str(value),
                           "double": float(value)}[variant.decimals]
        else:
            out[column] = value
    return out


def expected_views(db: str, ns: Namespace, variant: Variant,
                   ids: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """view topic → masked key JSON → masked row: the final tables masked as a snapshot.

    The contracts are as they were before the type change (which rewrote every row, rounded
    to seconds, without a change event), but for the three signed again: those as now, in
    milliseconds, masked under the type their events named; without a schema their events
    were dead letters and the views keep them as before."""
    engine = MaskingEngine(compile_rules(load_validated(ns.rules), demo_keys(), demo_keks()))
    retyped = LogicalType("io.debezium.time.Timestamp")
    views: dict[str, dict[str, Any]] = {}
    for table in model.TABLES:
        final = rows(db, table)
        table_rows = ids["contracts_before"] if table == "contracts" else final
        for row_id, row in table_rows.items():
            types = None
            millis: frozenset[str] = frozenset()
            if table == "contracts" and row_id in ids["retyped"] and not variant.refuses_retyped:
                row, millis = final[row_id], frozenset({"signed_at"})
                types = {"signed_at": retyped} if variant.typed else None
            event = {"op": "r", "before": None,
                     "after": debezium_json(table, row, variant, millis),
                     "source": {}, "ts_ms": None}
            outcome = engine.process(f"{ns.source_prefix}{table}", {"id": row["id"]}, event,
                                     types)
            for record in outcome.records:
                image = {k: v for k, v in (record.value.get("after") or record.value).items()
                         if not k.startswith("__")}
                views.setdefault(record.topic, {})[orjson.dumps(record.key).decode()] = image
    return views


def replayed_views(records: list[Read]) -> dict[str, dict[str, Any]]:
    """The views as a consumer of them ends up: upserts by key, tombstones delete, a truncate
    (on every partition) empties its partition, and a column that Debezium could not send
    (named in the header; absent in JSON, null in Avro) keeps its last value."""
    views: dict[str, dict[str, Any]] = {}
    partition_of: dict[tuple[str, str], int] = {}
    for r in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        view = views.setdefault(r.topic, {})
        key = orjson.dumps(r.key).decode()
        op = r.value.get("op", r.value.get("__op")) if r.value is not None else None
        if op == "t":
            for gone in [k for k in view if partition_of[(r.topic, k)] == r.partition]:
                del view[gone]
            continue
        partition_of[(r.topic, key)] = r.partition
        if r.value is None:
            view.pop(key, None)
            continue
        if op == "d":
            view.pop(key, None)
            continue
        image = {k: v for k, v in (r.value.get("after") or r.value).items()
                 if not k.startswith("__")}
        unavailable = r.headers.get(H_UNAVAILABLE, b"").decode().split(",")
        old = view.get(key, {})
        view[key] = {**image, **{c: old[c] for c in unavailable if c in old}}
    return views


def wait_for_sentinel(bootstrap: str, ns: Namespace, timeout: float = 120) -> None:
    """Debezium has sent the whole history once the last insert is on its topic (which it
    creates: until then the topic is unknown). Its id is a long in JSON and in Avro."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"s-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "topic.metadata.refresh.interval.ms": 500})
    consumer.subscribe([f"{ns.source_prefix}audit_log"])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error() and msg.value() and (
                    b'"id":%d' % SENTINEL_ID in msg.value() or AVRO_SENTINEL in msg.value()):
                return
    finally:
        consumer.close()
    raise AssertionError("Debezium did not deliver the history")


@dataclass
class Captured:
    """A variant's history in PostgreSQL, captured by Debezium onto its topics."""

    ns: Namespace
    db: str
    ids: dict[str, Any]
    variant: Variant
    registry_url: str | None


def capture_variant(cdc: CdcChain, bootstrap: str, tmp_path: Path, variant: Variant,
                    registry_url: str | None = None) -> Captured:
    ns = Namespace(tmp_path).create()
    settings = dict(variant.settings)
    if variant.avro:
        assert registry_url
        settings.update(avro_converters(registry_url))
    if variant.wrapped:  # the warehouse test sinks the security view (a truncate) too
        ruleset = ns.rules / "ruleset.yaml"
        ruleset.write_text(ruleset.read_text().replace(
            "    tables: [users, audit_log]\n", "    tables: [users, audit_log]\n    partitions: 1\n"))
    if variant.millis:  # the rules say how timestamps are encoded where no schema does
        for path in ns.rules.rglob("*.yaml"):
            path.write_text(path.read_text().replace("micro_timestamp", "milli_timestamp"))
    db = cdc.database()
    stream = CrmStream(seed=11, users=12).events(420)
    write_sql(itertools.islice(stream, 150), 150, db)  # the snapshot
    connector = cdc.capture(db, ns.source_prefix.removesuffix(".public."), **settings)
    try:
        ids = history(db, stream)
        wait_for_sentinel(bootstrap, ns)
    finally:
        cdc.release(connector)
    return Captured(ns, db, ids, variant, registry_url)


def process_variant(captured: Captured, bootstrap: str) -> dict[str, Any]:
    """`crm-masker run` over the captured topics until idle; its outputs and dead letters."""
    ns, variant, registry_url = captured.ns, captured.variant, captured.registry_url
    ns.topics(bootstrap)
    processor_options = ["--schema-registry-url", str(registry_url)] if variant.avro else []
    proc = start_processor(ns, bootstrap, "--exit-when-idle", "2", *processor_options)
    try:
        log = proc.communicate(timeout=120)[0].decode()
    except subprocess.TimeoutExpired:
        log = stop(proc, signal.SIGKILL)
        raise AssertionError(f"the processor did not finish:\n{log[-4000:]}") from None
    assert proc.returncode == 0, log
    decode = None
    if variant.avro:
        client = client_from_options(str(registry_url))

        def decode(data: bytes) -> Any:
            return as_debezium_json(read_avro(data, client))
    records = read_topics(bootstrap, output_topics(ns), decode=decode)
    dlq = read_topics(bootstrap, [ns.dlq], idle_s=2)
    types: dict[tuple[str, str], RowTypes] = {}  # the last record's, by topic and key
    if variant.wrapped:
        for record in records:
            if isinstance(record.key, dict) and "payload" in record.key:
                record.key = record.key["payload"]
            if record.value is not None:
                assert set(record.value) == {"schema", "payload"}
                types[(record.topic, orjson.dumps(record.key).decode())] = \
                    of_connect_envelope(record.value["schema"])
                record.value = record.value["payload"]
    return {"ns": ns, "db": captured.db, "ids": captured.ids, "log": log, "records": records,
            "dlq": dlq, "types": types, "bootstrap": bootstrap}


@pytest.fixture(scope="module")
def variant_runs(cdc: CdcChain, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory,
                 request: pytest.FixtureRequest) -> Iterator[Callable[[str], dict[str, Any]]]:
    """Each variant's history, captured and masked once for the tests that read it. The
    captures of all variants run at once (each waits on Debezium most of its time), the
    processors one after the other, as the tests ask for them."""
    registry = request.getfixturevalue("schema_registry_url")
    done: dict[str, dict[str, Any]] = {}
    with ThreadPoolExecutor(len(VARIANTS)) as pool:
        captures = {name: pool.submit(capture_variant, cdc, kafka_bootstrap,
                                      tmp_path_factory.mktemp(name), variant,
                                      registry if variant.avro else None)
                    for name, variant in VARIANTS.items()}

        def run(name: str) -> dict[str, Any]:
            if name not in done:
                done[name] = process_variant(captures[name].result(), kafka_bootstrap)
            return done[name]
        yield run


def check(result: dict[str, Any], variant: Variant) -> None:
    ns, db, records, log = result["ns"], result["db"], result["records"], result["log"]
    dead = [r.value for r in result["dlq"]]
    if variant.refuses_retyped:  # the retyped contracts, each named, and nothing else
        assert [(d["reason"], d["detail"]) for d in dead] == [
            ("invalid_field_value", "contracts.signed_at")] * len(result["ids"]["retyped"])
    else:
        assert not dead, dead
    views, expected = replayed_views(records), expected_views(db, ns, variant, result["ids"])
    audit = f"{ns.ns}.sec.audit.audit_log"
    if not variant.truncates:  # the SMT dropped the truncate: the view keeps the old rows
        assert len(views.pop(audit)) > len(expected.pop(audit))
    assert set(views) == set(expected)
    for topic, rows_by_key in expected.items():
        got = views[topic]
        assert got.keys() == rows_by_key.keys(), topic
        for key, row in rows_by_key.items():  # encrypt seals under each side's own keys
            assert unsealed(orjson.dumps(got[key], option=orjson.OPT_SORT_KEYS)) == \
                unsealed(orjson.dumps(row, option=orjson.OPT_SORT_KEYS)), (topic, key)
    if variant.truncates:  # it reached every partition: only the rows written after it are left
        assert len(views[audit]) == 2
        truncates = [r for r in records if r.topic == audit and r.value and r.value["op"] == "t"]
        partitions = sorted(p for _, p in end_offsets(result["bootstrap"], [audit]))
        assert sorted(r.partition for r in truncates) == partitions and partitions
    # no placeholder, and no raw personal value, anywhere
    raw = b"".join(r.raw for r in records)
    assert UNAVAILABLE.encode() not in raw
    for contact in rows(db, "contacts").values():
        for column in ("email", "phone", "iban", "tax_id", "last_name"):
            if contact[column] and len(contact[column]) > 5:
                assert contact[column].encode() not in raw, column
    # no name of the CRM's people, nor of the people its notes mention after a salutation
    text = raw.decode("utf-8", "replace")
    names = {token for table, columns in (("contacts", ("first_name", "last_name")),
                                          ("users", ("full_name",)))
             for row in rows(db, table).values() for column in columns
             for token in re.findall(r"[^\W\d_]+", row[column] or "") if len(token) > 2}
    names |= set(UNKNOWN_FIRST) | set(UNKNOWN_LAST)
    assert len(names) > 30 and "[NAME]" in text  # the notes named people: all replaced
    leaked = sorted(n for n in names if re.search(rf"\b{re.escape(n)}\b", text))
    assert not leaked, leaked
    assert "[BIRTH_DATE]" in text and BIRTH_DATE not in text
    for found, written in (("[ADDRESS]", ADDRESS), ("[EMAIL]", SPELLED_EMAIL),
                           ("[LICENSE_PLATE]", PLATE), ("[KV_NUMBER]", KVNR),
                           ("[SECRET]", SECRET), ("[MAC_ADDRESS]", MAC),
                           ("[SV_NUMBER]", AHV), ("[POST_NUMBER]", POST)):
        assert found in text and written not in text, written
    assert "Jahrgang [BIRTH_DATE]" in text
    assert GREETED not in text and "Ragnhild" not in text
    assert HEADER_FIRST not in text and JSON_NAME not in text
    # the TOAST updates kept their notes in the views (the header said they were unavailable)
    unavailable = [r for r in records if H_UNAVAILABLE in r.headers]
    assert unavailable and all(r.headers[H_UNAVAILABLE] == b"notes" for r in unavailable)
    # the drifted column is named once in the log, not published
    assert log.count("schema drift: accounts.rating") == 1
    assert b"rating" not in raw


def end_offsets(bootstrap: str, topics: list[str]) -> dict[tuple[str, int], int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"e-{uuid.uuid4().hex}"})
    try:
        return {(topic, p): consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for topic in topics
                for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions}
    finally:
        consumer.close()


def committed_offsets(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    found = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
    return {(tp.topic, tp.partition): tp.offset for tp in found.result().topic_partitions}


def wait_for_sink(cdc: CdcChain, bootstrap: str, sink: str, topics: list[str],
                  group: str | None = None) -> None:
    """Until the sink (consumer group ``group``, Connect's own by default) has committed
    every record of ``topics``; its task must never fail."""
    # a partition's last offset is a transaction marker, which no consumer is given
    wanted = {tp: end - 1 for tp, end in end_offsets(bootstrap, topics).items() if end}
    committed: dict[tuple[str, int], int] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = debezium.status(cdc.connect_url, sink)
        failed = [[line for line in t.get("trace", "").splitlines() if "Caused by" in line]
                  or t.get("trace", "")[:2000] for t in status["tasks"] if t["state"] == "FAILED"]
        assert not failed, failed
        committed = committed_offsets(bootstrap, group or f"connect-{sink}")
        if all(committed.get(tp, -1) >= last for tp, last in wanted.items()):
            return
        time.sleep(1)
    raise AssertionError(f"the sink did not commit everything: {committed} of {wanted}")


def test_a_connect_sink_with_apicurios_avro_converter_reads_the_views(
        cdc: CdcChain, kafka_bootstrap: str, variant_runs: Callable[[str], dict[str, Any]],
        schema_registry_url: str, tmp_path: Path) -> None:
    """The Avro views, read by a real Kafka Connect sink with the source's converter
    (Apicurio's, with the registry): it converts every record, and its task never fails."""
    ns = variant_runs("avro")["ns"]
    topics = [f"{ns.ns}.bi.analytics.contacts", f"{ns.ns}.bi.sales.contacts",
              f"{ns.ns}.sec.audit.audit_log"]
    sink = f"sink-{ns.ns}"
    debezium.register(cdc.connect_url, sink, {
        "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
        "topics": ",".join(topics), "file": str(tmp_path / "sink.txt"), "tasks.max": "1",
        **avro_converters(schema_registry_url),
        "consumer.override.isolation.level": "read_committed",
        "consumer.override.auto.offset.reset": "earliest", "errors.tolerance": "none"})
    try:
        wait_for_sink(cdc, kafka_bootstrap, sink, topics)
    finally:
        debezium.delete(cdc.connect_url, sink)


#: the warehouse's tables: the sales view (the sink's own topics in compose) and the
#: security view (its access log is truncated in the history)
WAREHOUSE_VIEWS = {"bi.sales": ("contacts", "accounts", "contracts"),
                   "sec.audit": ("users", "audit_log")}


def warehouse_rows(url: str, table: str) -> dict[str, dict[str, Any]]:
    """The warehouse table by its key (the masked id), as the views' keys are written."""
    import psycopg
    from psycopg import sql
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as conn:
        found = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))).fetchall()
    return {orjson.dumps({"id": row["id"]}).decode(): row for row in found}


def in_sql(value: Any, logical: LogicalType | None) -> Any:
    """What a view's value is in SQL, read from its ``bi`` decoding (formats/decoded.py): the
    warehouse holds Debezium's own (Java) decoding of the same value."""
    decoder = decoder_of(logical) if logical is not None else None
    if decoder is None or value is None:
        return unsealed(orjson.dumps(value)) if isinstance(value, str) else value
    text = decoder(value)
    assert isinstance(text, str), (logical, value)
    if logical is not None and logical.name.endswith("Date"):
        return date.fromisoformat(text)
    if logical is not None and logical.name.endswith("Decimal"):
        return Decimal(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def test_the_warehouse_that_debeziums_jdbc_sink_fills_is_the_masked_crm(
        cdc: CdcChain, kafka_bootstrap: str,
        variant_runs: Callable[[str], dict[str, Any]]) -> None:
    """The Debezium JDBC sink connector (deploy/debezium/warehouse-sink.json) writes the
    ``debezium``-format views, with their Connect schemas, into a PostgreSQL database of its
    own: upserts, deletes, the access log's truncate. The warehouse then holds the masked
    final state of the CRM, value for value: each date, timestamp and decimal as the ``bi``
    format decodes it, and no raw personal value."""
    import psycopg

    result = variant_runs("schemas")
    ns, db, types = result["ns"], result["db"], result["types"]
    warehouse = cdc.warehouse()
    topics = [f"{ns.ns}.{view}.{table}" for view, tables in WAREHOUSE_VIEWS.items()
              for table in tables]
    spec = json.loads(WAREHOUSE_SINK.read_text())
    sink, group = f"warehouse-{ns.ns}", f"{ns.ns}.{spec['config']['consumer.override.group.id']}"
    debezium.register(cdc.connect_url, sink, {
        **spec["config"], **debezium.connection_settings(warehouse),
        "topics.regex": "|".join(re.escape(topic) for topic in topics),
        "consumer.override.group.id": group})
    try:
        wait_for_sink(cdc, kafka_bootstrap, sink, topics, group)
    finally:
        debezium.delete(cdc.connect_url, sink)

    expected = expected_views(db, ns, VARIANTS["schemas"], result["ids"])
    compared = set()
    for topic in topics:
        got = warehouse_rows(warehouse, topic.replace(".", "_"))
        want = expected[topic]
        assert got.keys() == want.keys(), topic  # deletes and the truncate applied
        for key, image in want.items():
            row = got[key]
            for column, value in image.items():
                logical = types.get((topic, key), {}).get(column)
                assert in_sql(row[column], None) == in_sql(value, logical), (topic, column)
                compared.add(logical.name if logical is not None else type(value).__name__)
            assert all(row[c] is None for c in set(row) - set(image)), (topic, key)
    assert {"io.debezium.time.Date", "io.debezium.time.MicroTimestamp",
            "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Decimal",
            "bool", "int", "str"} <= compared, compared
    assert len(expected[f"{ns.ns}.sec.audit.audit_log"]) == 2  # the rows after the truncate

    with psycopg.connect(warehouse) as conn:
        text = "\n".join(str(row[0]) for topic in topics for row in conn.execute(
            f'SELECT t::text FROM "{topic.replace(".", "_")}" t'))
    for contact in rows(db, "contacts").values():
        for column in ("email", "phone", "iban", "tax_id", "last_name", "first_name"):
            if contact[column] and len(contact[column]) > 4:
                assert contact[column] not in text, column


@pytest.mark.parametrize("name", VARIANTS)
def test_the_views_end_as_the_crm_masked(variant_runs: Callable[[str], dict[str, Any]],
                                         name: str) -> None:
    check(variant_runs(name), VARIANTS[name])


def test_the_other_postgres_types_are_masked_by_the_rules_that_validate_accepts(
        cdc: CdcChain, kafka_bootstrap: str, tmp_path: Path) -> None:
    """money, uuid, jsonb, an enum, an array and an interval, through the real connector
    under rules that `validate --postgres` accepts: no dead letter, each masked as its rule
    says (money bucketed as a decimal, the uuid pseudonymised, the JSON scrubbed)."""
    import psycopg

    ns = Namespace(tmp_path).create()
    add_contact_rules(ns.rules, NEW_TYPES_RULES)
    db = cdc.database()
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(NEW_TYPES_SQL)
    validated = subprocess.run([sys.executable, "-m", "processor", "validate", str(ns.rules),
                                "--strict", "--postgres", db], capture_output=True, text=True)
    assert validated.returncode == 0, validated.stderr
    write_sql(CrmStream(seed=3, users=4).events(60), 60, db)
    uuid_text = "5f0c6b4e-8a51-4a8e-9a4e-0d6b0c9f1e21"
    with psycopg.connect(db, autocommit=True) as conn:
        target = conn.execute("SELECT max(id) FROM contacts").fetchone()
        assert target is not None
        conn.execute(
            "UPDATE contacts SET loyalty = '1234.56', external_id = %s, prefs = %s, "
            "tier = 'gold', tags = ARRAY['newsletter', 'b2c'], callback_after = '2 days' "
            "WHERE id = %s",
            (uuid_text, '{"contact": "anna.becker@example.org", "channel": "mail"}', target[0]))
        conn.execute("INSERT INTO audit_log (id, user_id, action, object_type, record_count, "
                     "classification, occurred_at) VALUES (%s, 1, 'view', 'contact', 1, "
                     "'personal', now()::timestamp)", (SENTINEL_ID,))
    connector = cdc.capture(db, ns.source_prefix.removesuffix(".public."))
    try:
        wait_for_sentinel(kafka_bootstrap, ns)
    finally:
        cdc.release(connector)
    ns.topics(kafka_bootstrap)
    proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "2")
    log = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode == 0, log
    assert not read_topics(kafka_bootstrap, [ns.dlq], idle_s=2)
    records = read_topics(kafka_bootstrap, [f"{ns.ns}.bi.analytics.contacts"])
    updated = [r.value for r in records if r.value and r.value.get("tier") == "gold"]
    assert len(updated) == 1, log
    row = updated[0]
    assert dbz.decode_decimal(row["loyalty"], 2) == Decimal("1200.00")
    assert row["external_id"].startswith("k2026a:") and uuid_text not in row["external_id"]
    assert "anna.becker@example.org" not in row["prefs"] and '"channel": "mail"' in row["prefs"]
    assert row["tags"] == ["newsletter", "b2c"]
    assert "callback_after" not in row
    raw = b"".join(r.raw for r in records)
    assert uuid_text.encode() not in raw and b"anna.becker" not in raw
