"""Avro end to end on the real broker with a real schema registry (Apicurio Registry from
Maven Central jars, or SCHEMA_REGISTRY_URL): generator and processor through the CLI, the
drift test with the processor in this process (to read its drift counter)."""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import fastavro
import orjson
import pytest
from confluent_kafka import Producer
from prometheus_client import REGISTRY

from processor.avro import derive
from processor.avro.schema_registry import SchemaRegistry, client_from_options, without_logical_types
from processor.avro.wire import frame
from processor.generator.avro_source import AvroSourceEncoder, key_schema, value_schema
from processor.generator.sink import create_source_topics, write_events
from processor.generator.stream import CrmStream, GeneratedRecord
from processor.masking.engine import MaskingEngine
from processor.pipeline.runner import Processor, RunSettings
from tests.helpers import DEMO_KEYS, as_debezium_json, consume, engine, read_avro
from tests.pipeline.harness import Namespace, cli, output_topics, start_processor, unsealed

pytestmark = pytest.mark.kafka


def run_processor(ns: Namespace, bootstrap: str, registry: SchemaRegistry) -> int:
    settings = RunSettings(bootstrap, group_id=f"{ns.ns}-masker", transactional_id=f"{ns.ns}-tx",
                           batch_max_ms=100, exit_when_idle_s=4)
    return Processor(engine(ns.rules), settings, registry=registry).run()


def decoded_outputs(bootstrap: str, topics: list[str], registry: SchemaRegistry,
                    expect: int) -> list[tuple[str, Any, Any, bool]]:
    """(topic, key, value, was Avro) of every committed view record, Avro read with the schema
    registered under the id in its frame, bytes as base64 like Debezium's JSON."""
    def read(data: bytes | None) -> tuple[Any, bool]:
        if data is None:
            return None, False
        if data[0] != 0:
            return orjson.loads(data), False
        return as_debezium_json(read_avro(data, registry.client)), True

    out = []
    for msg in consume(bootstrap, topics, expect=expect):
        key, _ = read(msg.key())
        value, avro = read(msg.value())
        out.append((msg.topic(), key, value, avro))
    return out


def found_pseudonyms(ns: Namespace, contact: int) -> set[str]:
    """The contact's pseudonyms under each key id (as `subject` computes them)."""
    from processor.datakeys import subject_pseudonym
    from processor.keys import load_keys

    keys = load_keys(DEMO_KEYS)
    return {subject_pseudonym(keys.secret(k), k, "contact", contact) for k in keys.key_ids}


def canon(topic: str, key: Any, value: Any) -> tuple[str, bytes, bytes]:
    opts = orjson.OPT_SORT_KEYS  # sealed under this run's own data keys: see unsealed
    return topic, orjson.dumps(key, option=opts), unsealed(orjson.dumps(value, option=opts))


def json_path(eng: MaskingEngine, records: list[GeneratedRecord]) -> Counter[tuple[str, bytes, bytes]]:
    """What the JSON path makes of the same generated events."""
    out: Counter[tuple[str, bytes, bytes]] = Counter()
    for r in records:
        for o in eng.process(r.topic, r.key, r.value).records:
            out[canon(o.topic, o.key, o.value)] += 1
    return out


def test_avro_events_of_every_table_give_the_json_paths_outputs_as_avro(
        kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path) -> None:
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    registry = SchemaRegistry(client_from_options(schema_registry_url))
    ns.generate(kafka_bootstrap, 3000, 11, "--format", "avro",
                "--schema-registry-url", schema_registry_url)
    records = list(CrmStream(seed=11, topic_prefix=ns.source_prefix).events(3000))
    # a JSON event on an Avro topic (mixed formats) and two broken frames
    json_record = next(r for r in CrmStream(seed=99, topic_prefix=ns.source_prefix).events(10)
                       if r.table == "users")
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(json_record.topic, key=orjson.dumps(json_record.key),
                     value=orjson.dumps(json_record.value))
    producer.produce(json_record.topic, key=None, value=b"\x00\x00\x01")
    producer.produce(json_record.topic, key=None, value=frame(424242, b"\x02\x02"))
    assert producer.flush(30) == 0

    eng = engine(ns.rules)
    expected = json_path(eng, records)
    json_expected = json_path(eng, [json_record])
    proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "4",
                           "--schema-registry-url", schema_registry_url)
    log = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == 0, log
    assert f"processed {len(records) + 3} input records" in log

    total = sum(expected.values()) + sum(json_expected.values())
    got = decoded_outputs(kafka_bootstrap, output_topics(ns), registry, total)
    avro_out = Counter(canon(t, k, v) for t, k, v, avro in got if avro or v is None)
    json_out = Counter(canon(t, k, v) for t, k, v, avro in got if not avro and v is not None)
    assert json_out == json_expected  # the JSON event came out as JSON
    # tombstones carry an Avro key; the JSON event has none
    assert avro_out == expected

    # the registered masked schemas are the ones derived from the source schema and the rules
    for route in eng.compiled.routes.values():
        for view in route.views:
            ns_name = derive.namespace(view.view, route.table)
            derived = derive.value_schema(view.format, view.plan, value_schema(route.table), ns_name)
            latest = registry.client.get_latest_version(f"{view.topic}-value")
            assert json.loads(latest.schema.schema_str) == derived, view.topic
            derived_key = derive.masked_key(view.plan, key_schema(route.table), ns_name)
            latest_key = registry.client.get_latest_version(f"{view.topic}-key")
            assert json.loads(latest_key.schema.schema_str) == derived_key, view.topic

    dlq = [orjson.loads(m.value())["reason"] for m in consume(kafka_bootstrap, [ns.dlq], expect=2)]
    assert sorted(dlq) == ["avro_truncated", "unknown_schema_id"]

    # an Art. 15 look-up reads Avro views with the registry, and says so when it cannot
    contact = next(r.value["after"]["id"] for r in records
                   if r.table == "contacts" and r.value and r.value["op"] in "cr")
    sales = f"{ns.ns}.bi.sales.contacts"
    pseudonyms = found_pseudonyms(ns, contact)
    images = [(orjson.loads(v), n) for (t, _, v), n in expected.items() if t == sales]
    expected_sales = sum(n for value, n in images if value is not None
                         and (value["after"] or value["before"])["id"] in pseudonyms)
    lookup = ["subject", "--rules", str(ns.rules), "--keys", str(DEMO_KEYS), "--allow-demo-keys",
              "--bootstrap-servers", kafka_bootstrap, "--id", f"contact={contact}", "--reason",
              "Art. 15", "--format", "json", "--topic", sales]
    found = cli(*lookup, "--schema-registry-url", schema_registry_url)
    held = orjson.loads(found.stdout)["held"]
    assert [h["records"] for h in held] == [expected_sales] and expected_sales > 0
    blind = cli(*lookup, check=False)
    assert blind.returncode == 1 and "could not be read" in blind.stderr


def test_new_source_column_never_reaches_a_view_and_the_subject_stays_compatible(
        kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path) -> None:
    """Mid-stream, the users table gains a column (a new writer schema, registered by the
    connector): the column is dropped, counted as drift, and the views' subjects keep one
    schema version, so BI consumers see no change."""
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    registry = SchemaRegistry(client_from_options(schema_registry_url))
    stream = CrmStream(seed=5, topic_prefix=ns.source_prefix)
    users = [r for r in stream.events(800) if r.table == "users" and r.value is not None][:40]
    topic = users[0].topic
    create_source_topics(kafka_bootstrap, 1, {}, ns.source_prefix)  # the processor reads them all
    encoder = AvroSourceEncoder(registry)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for r in users[:20]:  # the old schema
        producer.produce(topic, key=encoder.encode_key(topic, "users", r.key),
                         value=encoder.encode_value(topic, "users", r.value))

    v2 = value_schema("users")
    row = derive.row_record(v2)
    row["fields"].append({"name": "nickname", "type": ["null", "string"], "default": None})
    # the registry itself checks the evolution: FULL, as a connector's subject would be set
    registry.client.set_compatibility(f"{topic}-value", "FULL")
    v2_id = registry.register(f"{topic}-value", v2)
    parsed = fastavro.parse_schema(without_logical_types(v2))
    secret = f"Spitzname-{uuid.uuid4().hex[:8]}"
    for r in users[20:]:
        value = dict(r.value)
        for image in ("before", "after"):
            if value[image] is not None:
                value[image] = {**value[image], "nickname": secret}
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, value)
        producer.produce(topic, key=encoder.encode_key(topic, "users", r.key),
                         value=frame(v2_id, buf.getvalue()))
    assert producer.flush(30) == 0

    def drift() -> float:
        return REGISTRY.get_sample_value("crm_masker_unknown_fields_total", {"table": "users"}) or 0

    before = drift()
    assert run_processor(ns, kafka_bootstrap, registry) == 40
    assert drift() - before >= 20  # one unknown column per new-schema event

    view_topics = [t for t in output_topics(ns) if t.endswith(".users") or "users" in t]
    outputs = consume(kafka_bootstrap, view_topics, expect=40 * len(view_topics))
    assert len(outputs) >= 40
    for msg in outputs:
        assert secret.encode() not in (msg.value() or b"")
        assert b"nickname" not in (msg.value() or b"")
    for view_topic in view_topics:
        versions = registry.client.get_versions(f"{view_topic}-value")
        assert versions == [1], (view_topic, versions)
        schema = registry.client.get_latest_version(f"{view_topic}-value").schema.schema_str
        assert "nickname" not in (schema or "")


def test_registry_refusing_a_masked_schema_stops_the_processor_without_dead_letters(
        kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path) -> None:
    """A view subject set to FULL that already holds an unrelated schema: the registry refuses
    the derived one; the processor exits 2 naming the subject, and nothing is committed, so
    the input is processed again once the subject is sorted out."""
    ns = Namespace(tmp_path).create()
    ns.topics(kafka_bootstrap)
    registry = SchemaRegistry(client_from_options(schema_registry_url))
    users = [r for r in CrmStream(seed=2, topic_prefix=ns.source_prefix).events(600)
             if r.table == "users" and r.value is not None][:5]
    create_source_topics(kafka_bootstrap, 1, {}, ns.source_prefix)
    view = next(v for v in engine(ns.rules).compiled.routes[users[0].topic].views)
    subject = f"{view.topic}-value"
    registry.client.set_compatibility(subject, "FULL")
    registry.register(subject, {"type": "record", "name": "Other", "fields": [
        {"name": "required_elsewhere", "type": "long"}]})
    write_events(iter(users), len(users), bootstrap=kafka_bootstrap,
                 topic_prefix=ns.source_prefix, avro=AvroSourceEncoder(registry))
    proc = start_processor(ns, kafka_bootstrap, "--exit-when-idle", "4",
                           "--schema-registry-url", schema_registry_url)
    log = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == 2, log
    assert f"schema registry refused the masked schema for {subject}" in log
    assert consume(kafka_bootstrap, [ns.dlq, view.topic], idle_s=3) == []
