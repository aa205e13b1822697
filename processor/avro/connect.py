"""Kafka Connect schemas → Avro schemas, as Confluent's AvroConverter registers them.

Optional fields become ``["null", T]`` with default null; Connect's logical names are kept as
``connect.name`` and mapped to Avro logical types (``date``, ``timestamp-micros``, ``decimal``)
so that BI consumers see real dates and decimals.
"""

from __future__ import annotations

from typing import Any

PRIMITIVES = {"int8": "int", "int16": "int", "int32": "int", "int64": "long",
              "float32": "float", "float64": "double", "boolean": "boolean",
              "string": "string", "bytes": "bytes"}
LOGICAL = {"io.debezium.time.Date": "date", "org.apache.kafka.connect.data.Date": "date",
           "io.debezium.time.MicroTimestamp": "timestamp-micros",
           "io.debezium.time.Timestamp": "timestamp-millis",
           "org.apache.kafka.connect.data.Timestamp": "timestamp-millis",
           "org.apache.kafka.connect.data.Decimal": "decimal"}


def to_avro(schema: dict[str, Any], defined: set[str] | None = None) -> Any:
    """The Avro schema of one Connect schema (struct, primitive or logical), not nullable.
    A struct met again (``before`` and ``after``) is referred to by its full name."""
    defined = set() if defined is None else defined
    ctype = schema["type"]
    if ctype == "struct":
        full_name = schema["name"]
        if full_name in defined:
            return full_name
        defined.add(full_name)
        namespace, _, name = full_name.rpartition(".")
        record: dict[str, Any] = {"type": "record", "name": name, "fields": [
            _field(f, defined) for f in schema["fields"]]}
        if namespace:
            record["namespace"] = namespace
        record["connect.name"] = full_name
        return record
    avro: dict[str, Any] = {"type": PRIMITIVES[ctype]}
    logical = schema.get("name")
    if logical:
        avro["connect.version"] = schema.get("version", 1)
        avro["connect.name"] = logical
        if logical in LOGICAL:
            avro["logicalType"] = LOGICAL[logical]
    params = schema.get("parameters") or {}
    if avro.get("logicalType") == "decimal":
        avro["scale"] = int(params.get("scale", 0))
        avro["precision"] = int(params.get("connect.decimal.precision", 64))
        avro["connect.parameters"] = dict(params)
    return avro if len(avro) > 1 else avro["type"]


def _field(schema: dict[str, Any], defined: set[str]) -> dict[str, Any]:
    avro = to_avro(schema, defined)
    if schema.get("optional", False):
        return {"name": schema["field"], "type": ["null", avro], "default": None}
    return {"name": schema["field"], "type": avro}
