"""Kafka record headers that decide how an input is read: the one list that the Python
engine, the native core's bridge and the Avro codec share."""

from __future__ import annotations

#: a header as confluent-kafka gives and takes it
Header = tuple[str, str | bytes | None]
#: Debezium headers that carry raw primary keys (on a primary-key change): masked, never copied
DEBEZIUM_KEY_HEADERS = ("__debezium.oldkey", "__debezium.newkey")
#: the schema ids of a record whose key or value came without Confluent's framing
KEY_ID_HEADER = "__key_schema_id"
VALUE_ID_HEADER = "__value_schema_id"
