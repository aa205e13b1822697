"""Writer schemas that refer to other registered schemas by name (Apicurio's Connect converter
registers Debezium's source block so) stand alone once their references are inlined."""

from __future__ import annotations

import io

import fastavro

from processor.avro.schema_registry import inline_references, parse

SOURCE = {"type": "record", "name": "Source", "namespace": "io.debezium.connector.postgresql",
          "fields": [{"name": "db", "type": "string"}, {"name": "lsn", "type": ["null", "long"]}]}
ENVELOPE = {"type": "record", "name": "Envelope", "namespace": "crm.public.users", "fields": [
    {"name": "before", "type": ["null", {"type": "record", "name": "Value",
                                         "fields": [{"name": "id", "type": "long"}]}]},
    {"name": "after", "type": ["null", "Value"]},
    {"name": "source", "type": "io.debezium.connector.postgresql.Source"},
    {"name": "op", "type": "string"}]}


def test_a_referenced_record_is_defined_at_its_first_use_and_named_after() -> None:
    twice = {**ENVELOPE, "fields": [*ENVELOPE["fields"], {
        "name": "origin", "type": ["null", "io.debezium.connector.postgresql.Source"]}]}
    inlined = inline_references(twice, {"io.debezium.connector.postgresql.Source": SOURCE})
    assert inlined["fields"][2]["type"] == SOURCE
    assert inlined["fields"][4]["type"] == ["null", "io.debezium.connector.postgresql.Source"]
    datum = {"before": None, "after": {"id": 7}, "source": {"db": "crm", "lsn": 1},
             "op": "c", "origin": None}
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parse(inlined), datum)
    assert fastavro.schemaless_reader(io.BytesIO(buf.getvalue()), parse(inlined), None) == datum


def test_names_that_are_not_references_and_field_names_are_left_alone() -> None:
    named = {"io.debezium.connector.postgresql.Source": SOURCE, "op": {"type": "int"}}
    inlined = inline_references(ENVELOPE, named)
    assert inlined["fields"][3] == {"name": "op", "type": "string"}
    assert inlined["fields"][1]["type"] == ["null", "Value"]
