"""The logical type of each column as the source's schema names it, for events that carry a
schema (the JSON converter with ``schemas.enable=true``, or Avro through a registry).

Debezium says in the schema how a value is encoded: ``io.debezium.time.Timestamp`` is
milliseconds (a ``timestamp(0..3)`` column, or ``time.precision.mode=connect``),
``io.debezium.time.MicroTimestamp`` microseconds, a ``Decimal`` names its scale. Where an event
says so, that decides how an action reads the value, not the encoding the rule declares, so a
column altered in PostgreSQL keeps being masked right. Without a schema, the rule decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Avro's own logical types, as the Kafka Connect schema names they stand for
AVRO_LOGICAL = {"date": "io.debezium.time.Date",
                "timestamp-millis": "io.debezium.time.Timestamp",
                "timestamp-micros": "io.debezium.time.MicroTimestamp",
                "decimal": "org.apache.kafka.connect.data.Decimal"}


@dataclass(frozen=True)
class LogicalType:
    """A Kafka Connect schema name (``io.debezium.time.Date`` …) and its parameters."""

    name: str
    parameters: tuple[tuple[str, str], ...] = ()

    def parameter(self, key: str) -> str | None:
        return dict(self.parameters).get(key)


RowTypes = dict[str, LogicalType]


def _parameters(raw: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in raw.items()))


def of_connect_struct(struct: Any) -> RowTypes:
    """Column → logical type of a Connect struct schema's named fields."""
    out: RowTypes = {}
    fields = struct.get("fields") if isinstance(struct, dict) else None
    for f in fields if isinstance(fields, list) else ():
        if isinstance(f, dict) and isinstance(f.get("field"), str) and isinstance(f.get("name"), str):
            out[f["field"]] = LogicalType(f["name"], _parameters(f.get("parameters")))
    return out


def of_connect_envelope(envelope: Any) -> RowTypes:
    """The row's types of a Connect envelope schema (or of an unwrapped row's own)."""
    fields = envelope.get("fields") if isinstance(envelope, dict) else None
    for f in fields if isinstance(fields, list) else ():
        if isinstance(f, dict) and f.get("field") in ("after", "before"):
            return of_connect_struct(f)
    return of_connect_struct(envelope)


def _avro_type(branch: Any) -> LogicalType | None:
    if not isinstance(branch, dict):
        return None
    if isinstance(branch.get("connect.name"), str):
        return LogicalType(branch["connect.name"], _parameters(branch.get("connect.parameters")))
    name = AVRO_LOGICAL.get(str(branch.get("logicalType")))
    if name is None:
        return None
    params = {"scale": branch["scale"]} if "scale" in branch else {}
    return LogicalType(name, _parameters(params))


def of_avro_record(record: Any) -> RowTypes:
    """Column → logical type of an Avro record's fields (``connect.name`` as Connect's Avro
    converters write it, else Avro's own ``logicalType``)."""
    out: RowTypes = {}
    fields = record.get("fields") if isinstance(record, dict) else None
    for f in fields if isinstance(fields, list) else ():
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            continue
        declared = f.get("type")
        for branch in declared if isinstance(declared, list) else [declared]:
            found = _avro_type(branch)
            if found is not None:
                out[f["name"]] = found
                break
    return out


#: the logical type that a rule's ``encoding`` stands for (Debezium's names); the ISO and
#: plain-number encodings need no decoding
_OF_ENCODING = {"date": "io.debezium.time.Date", "micro_timestamp": "io.debezium.time.MicroTimestamp",
                "milli_timestamp": "io.debezium.time.Timestamp",
                "decimal": "org.apache.kafka.connect.data.Decimal"}


def of_encoding(encoding: str, scale: int | None = None) -> LogicalType | None:
    """The logical type of a rule's ``encoding`` (``decimal`` with its ``scale``)."""
    name = _OF_ENCODING.get(encoding)
    if name is None:
        return None
    return LogicalType(name, (("scale", str(scale)),) if scale is not None else ())
