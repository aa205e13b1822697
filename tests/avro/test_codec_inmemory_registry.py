"""Avro in and out through the codec: unit tests with confluent_kafka's IN-MEMORY schema
registry client (``mock://``), no server. The broker tests in tests/pipeline/test_avro_pipeline.py
run against a real registry (Apicurio, deploy/schema-registry/)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema

from processor.avro.codec import RecordCodec
from processor.avro.schema_registry import SchemaRegistry, client_from_options
from processor.avro.wire import frame
from processor.errors import PoisonEvent
from processor.generator.avro_source import AvroSourceEncoder, value_schema
from processor.generator.stream import CrmStream
from processor.masking.engine import MaskingEngine
from tests.helpers import as_debezium_json, engine, read_avro


def in_memory_registry() -> SchemaRegistry:
    return SchemaRegistry(client_from_options(f"mock://{uuid.uuid4().hex}"))


def json_outputs(eng: MaskingEngine, records: list[Any]) -> list[tuple[str, Any, Any]]:
    codec = RecordCodec(None)
    out = []
    for r in records:
        import orjson
        decoded = codec.decode(orjson.dumps(r.key), None if r.value is None else
                               orjson.dumps(r.value), None)
        outcome = eng.process(r.topic, decoded.key, decoded.value)
        out += [(o.topic, o.key, o.value) for o in outcome.records]
    return out


def test_avro_outputs_equal_json_outputs_for_every_table() -> None:
    """Same generated data as JSON and as Avro → the same masked records (same pseudonyms,
    same generalised dates and decimals), decoded from Avro with the registered schemas."""
    records = list(CrmStream(seed=7).events(1500))
    eng = engine()
    registry = in_memory_registry()
    source = AvroSourceEncoder(registry)
    codec = RecordCodec(registry)
    views = {topic: {v.topic: v for v in route.views} for topic, route in eng.compiled.routes.items()}
    avro_out, expected = [], []
    for r in records:
        key = source.encode_key(r.topic, r.table, r.key)
        value = None if r.value is None else source.encode_value(r.topic, r.table, r.value)
        decoded = codec.decode(key, value, None)
        outcome = eng.process(r.topic, decoded.key, decoded.value)
        for o in outcome.records:
            view = views[r.topic][o.topic]
            k = codec.encode_key(decoded, view, o.key)
            v = codec.encode_value(decoded, view, o.value)
            avro_out.append((o.topic, read_avro(k, registry.client) if k else None,
                             read_avro(v, registry.client) if v else None))
        # the JSON form of the same record next: both meet the subject's data key before
        # its erasure shreds it (encrypt)
        expected += json_outputs(eng, [r])
    assert len(avro_out) == len(expected) > 1500
    for (topic, key, value), (etopic, ekey, evalue) in zip(avro_out, expected, strict=True):
        assert topic == etopic and key == ekey
        assert as_debezium_json(value) == evalue  # decimals: Avro bytes, JSON base64
    assert {t for t, _, _ in avro_out} == set(eng.compiled.output_topics)


def test_masked_schema_types_follow_the_actions() -> None:
    """Dropped columns gone, pseudonyms strings, generalised dates still dates (logical type),
    kept decimals still decimals, nullability kept."""
    eng = engine()
    registry = in_memory_registry()
    source = AvroSourceEncoder(registry)
    codec = RecordCodec(registry)
    record = next(r for r in CrmStream(seed=3).events(3000)
                  if r.table == "contacts" and r.value is not None)
    decoded = codec.decode(source.encode_key(record.topic, "contacts", record.key),
                           source.encode_value(record.topic, "contacts", record.value), None)
    route = eng.compiled.routes[record.topic]
    view = next(v for v in route.views if v.format.name == "debezium")
    outcome = eng.process(record.topic, decoded.key, decoded.value)
    out = next(o for o in outcome.records if o.topic == view.topic)
    data = codec.encode_value(decoded, view, out.value)
    codec.encode_key(decoded, view, out.key)
    import json
    schema = json.loads(registry.client.get_latest_version(f"{view.topic}-value").schema.schema_str)
    row = schema["fields"][0]["type"][1]
    fields = {f["name"]: f for f in row["fields"]}
    assert "health_notes" not in fields and "street" not in fields
    assert fields["id"]["type"] == "string"  # pseudonymised, was long, not nullable
    assert fields["email"]["type"] == ["null", "string"]
    birth = next(b for b in fields["birth_date"]["type"] if b != "null")
    assert birth["logicalType"] == "date"
    assert data is not None
    read = read_avro(data, registry.client, logical=True)
    assert read["after"]["birth_date"] is None or read["after"]["birth_date"].month == 1
    key_schema = json.loads(registry.client.get_latest_version(f"{view.topic}-key").schema.schema_str)
    assert key_schema["fields"] == [{"name": "id", "type": "string"}]


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x00\x00\x01", "avro_truncated"),
    (b"\x00", "avro_truncated"),
    (frame(987654, b"\x02"), "unknown_schema_id"),
])
def test_bad_avro_frames_are_poison_with_a_reason(data: bytes, reason: str) -> None:
    codec = RecordCodec(in_memory_registry())
    with pytest.raises(PoisonEvent) as err:
        codec.decode(None, data, None)
    assert err.value.reason == reason


def test_body_that_does_not_match_its_schema_is_poison_without_the_value() -> None:
    registry = in_memory_registry()
    schema_id = registry.register("t-value", value_schema("users"))
    codec = RecordCodec(registry)
    secret = "Erika.Mustermann@example.de"
    with pytest.raises(PoisonEvent) as err:
        codec.decode(None, frame(schema_id, b"\x02\x04" + secret.encode()[:3]), None)
    assert err.value.reason == "avro_undecodable" and secret[:3] not in str(err.value)


def test_avro_without_a_registry_is_poison_and_json_still_works() -> None:
    codec = RecordCodec(None)
    with pytest.raises(PoisonEvent) as err:
        codec.decode(None, frame(1, b""), None)
    assert err.value.reason == "no_schema_registry"
    assert codec.decode(b'{"id": 1}', b'{"op": "c"}', None).value == {"op": "c"}


def test_header_carried_schema_guid_is_read() -> None:
    """The newer framing: no prefix, the schema's GUID in the __value_schema_id header."""
    registry = in_memory_registry()
    registered = registry.client.register_schema_full_response(
        "h-value", Schema(__import__("json").dumps(value_schema("users")), "AVRO"))
    record = next(r for r in CrmStream(seed=1).events(20) if r.table == "users")
    plain = AvroSourceEncoder(registry).encode_value(record.topic, "users", record.value)[5:]
    header = b"\x01" + uuid.UUID(registered.guid).bytes
    decoded = RecordCodec(registry).decode(None, plain, [("__value_schema_id", header)])
    assert decoded.value["after"]["id"] == record.value["after"]["id"]
    assert decoded.value_writer is not None
