"""The reference CRM's source schemas as Debezium's AvroConverter registers them, and an
encoder that writes generated events in the Confluent wire format (``generate --format avro``).
``schemas/`` holds the same schemas as files (``python -m processor.generator.avro_source schemas``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from processor.avro.codec import AvroOutput
from processor.avro.connect import to_avro
from processor.avro.schema_registry import SchemaRegistry
from processor.generator import model


def value_schema(table: str) -> dict[str, Any]:
    return to_avro(model.envelope_schema(table))


def key_schema(table: str) -> dict[str, Any]:
    return to_avro(model.key_schema(table))


class AvroSourceEncoder:
    """Encodes generated records (Debezium JSON values) as Avro, registering the source
    schemas under ``<topic>-key`` and ``<topic>-value`` on first use."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry
        self._writers: dict[tuple[str, str], AvroOutput] = {}

    def _writer(self, topic: str, table: str, field: str) -> AvroOutput:
        found = self._writers.get((topic, field))
        if found is None:
            schema = key_schema(table) if field == "key" else value_schema(table)
            found = self._writers[(topic, field)] = AvroOutput.registered(
                self.registry, f"{topic}-{field}", schema,
                rows=("",) if field == "key" else ("before", "after"))
        return found

    def encode_key(self, topic: str, table: str, key: dict[str, Any]) -> bytes:
        return self._writer(topic, table, "key").encode(key)

    def encode_value(self, topic: str, table: str, value: dict[str, Any]) -> bytes:
        return self._writer(topic, table, "value").encode(value)


def write_schema_files(directory: Path) -> list[Path]:
    """``<table>-key.avsc`` and ``<table>-value.avsc`` for every table of the reference model."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for table in model.TABLES:
        for field, schema in (("key", key_schema(table)), ("value", value_schema(table))):
            path = directory / f"{table}-{field}.avsc"
            path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
            written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schema_files(Path(sys.argv[1] if len(sys.argv) > 1 else "schemas")):
        print(path)
