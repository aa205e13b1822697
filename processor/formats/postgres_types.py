"""What Debezium's PostgreSQL connector sends for a column of a given type, under the
connector's settings (``time.precision.mode``, ``decimal.handling.mode``,
``interval.handling.mode``), after its documented type mappings.

``validate --postgres`` reads the CRM's columns and asks each rule's action whether it is
defined for the values that Debezium will send (`Action.source_problem`), so a rule that would
dead-letter every event, or corrupt a value silently, is refused before the first event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from processor.errors import CrmMaskerError

#: Debezium's defaults for the settings that change an encoding
DEFAULT_SETTINGS = {"time.precision.mode": "adaptive", "decimal.handling.mode": "precise",
                    "interval.handling.mode": "numeric"}
#: value kinds, as an action sees them (JSON converter; Avro decodes to the same values)
TEXT, INTEGER, FLOAT, BOOLEAN, BYTES, ARRAY = "text", "integer", "float", "boolean", "bytes", "array"
DATE, MICRO_TS, MILLI_TS, ZONED_TS, TIME = ("date", "micro_timestamp", "milli_timestamp",
                                            "iso_timestamp", "time")
DECIMAL, DECIMAL_STRING, VARIABLE_DECIMAL, INTERVAL = ("decimal", "decimal_string",
                                                       "variable_decimal", "interval")
OTHER = "other"
#: PostgreSQL types (udt names) that Debezium sends as text
TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "char", "name", "citext", "uuid", "json",
                        "jsonb", "xml", "inet", "cidr", "macaddr", "macaddr8", "ltree", "tsvector",
                        "bit", "varbit"})
INTEGER_TYPES = frozenset({"int2", "int4", "int8", "oid"})
FLOAT_TYPES = frozenset({"float4", "float8"})
#: the JSON kinds (formats/json_types.py) that Debezium's JSON converter writes for each kind
JSON_KINDS = {TEXT: {"string"}, INTEGER: {"integer"}, FLOAT: {"float", "integer"},
              BOOLEAN: {"boolean"}, BYTES: {"string"}, ARRAY: {"array"}, DATE: {"integer"},
              MICRO_TS: {"integer"}, MILLI_TS: {"integer"}, ZONED_TS: {"string"},
              TIME: {"integer"}, DECIMAL: {"string"}, DECIMAL_STRING: {"string"},
              VARIABLE_DECIMAL: {"object"}, INTERVAL: {"integer"}}
#: every kind (``other``: a type this module does not map)
ALL_KINDS = frozenset(JSON_KINDS) | {OTHER}


@dataclass(frozen=True)
class SourceColumn:
    """A CRM column and what Debezium sends for it."""

    table: str
    name: str
    pg_type: str  # as PostgreSQL names it: ``timestamp(0)``, ``numeric(12,2)``, ``text[]``
    kind: str
    scale: int | None = None  # of a decimal (precise mode): digits after the point

    def describe(self) -> str:
        return f"{self.table}.{self.name} is {self.pg_type}"


@dataclass(frozen=True)
class Connector:
    """The connector settings that decide encodings, and whether its events name their
    columns' types (Avro, or JSON with schemas): then the schema, not the rule, says the unit."""

    settings: dict[str, str]
    typed: bool = False


def connector_settings(path: Path | None) -> Connector:
    """The encoding settings of a Debezium connector configuration file (``{"config": …}``
    as Kafka Connect's REST API takes it, or the bare config), Debezium's defaults for the rest."""
    if path is None:
        return Connector(dict(DEFAULT_SETTINGS))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CrmMaskerError(f"{path}: not a connector configuration ({type(exc).__name__})"
                             ) from None
    config = data.get("config", data) if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise CrmMaskerError(f"{path}: not a connector configuration (no JSON object)")
    converter = str(config.get("value.converter", ""))
    typed = "Avro" in converter or str(config.get("value.converter.schemas.enable")) == "true"
    return Connector({**DEFAULT_SETTINGS,
                      **{k: str(v) for k, v in config.items() if k in DEFAULT_SETTINGS}}, typed)


def kind_of(udt: str, typtype: str, is_array: bool, precision: int | None, scale: int | None,
            settings: dict[str, str]) -> tuple[str, int | None]:
    """The value kind (and decimal scale) that Debezium sends for a PostgreSQL column."""
    if is_array:
        return ARRAY, None
    if typtype == "e" or udt in TEXT_TYPES:
        return TEXT, None
    if udt in INTEGER_TYPES:
        return INTEGER, None
    if udt in FLOAT_TYPES:
        return FLOAT, None
    if udt == "bool":
        return BOOLEAN, None
    if udt == "bytea":
        return BYTES, None
    if udt == "date":
        return DATE, None
    if udt == "timestamp":
        if settings["time.precision.mode"] == "connect":
            return MILLI_TS, None
        return (MILLI_TS if precision is not None and precision <= 3 else MICRO_TS), None
    if udt == "timestamptz":
        return ZONED_TS, None
    if udt in ("time", "timetz"):
        return TIME, None
    if udt == "interval":
        return (TEXT if settings["interval.handling.mode"] == "string" else INTERVAL), None
    if udt in ("numeric", "money"):
        mode = settings["decimal.handling.mode"]
        if mode == "double":
            return FLOAT, None
        if mode == "string":
            return DECIMAL_STRING, None
        if udt == "money":  # money.fraction.digits, 2 by default
            return DECIMAL, 2
        return (DECIMAL, scale) if scale is not None else (VARIABLE_DECIMAL, None)
    return OTHER, None


COLUMNS_SQL = """
SELECT c.table_schema, c.table_name, c.column_name, c.udt_name, t.typtype, c.data_type = 'ARRAY',
       c.datetime_precision, c.numeric_scale,
       format_type(a.atttypid, a.atttypmod)
FROM information_schema.columns c
JOIN pg_catalog.pg_namespace n ON n.nspname = c.table_schema
JOIN pg_catalog.pg_class r ON r.relname = c.table_name AND r.relnamespace = n.oid
JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attname = c.column_name
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY c.table_schema, c.table_name, c.ordinal_position
"""


def read_columns(url: str, settings: dict[str, str]
                 ) -> dict[tuple[str, str], dict[str, SourceColumn]]:
    """(schema, table) → column → what Debezium sends, for every table of the database."""
    import psycopg

    out: dict[tuple[str, str], dict[str, SourceColumn]] = {}
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            found = conn.execute(COLUMNS_SQL).fetchall()
    except psycopg.Error as exc:  # the message names host and database, never a password
        raise CrmMaskerError(f"cannot read the CRM's columns: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    for schema, table, column, udt, typtype, is_array, dt_precision, scale, shown in found:
        kind, kind_scale = kind_of(udt, typtype, bool(is_array), dt_precision, scale, settings)
        out.setdefault((schema, table), {})[column] = SourceColumn(table, column, shown, kind,
                                                                   kind_scale)
    return out

