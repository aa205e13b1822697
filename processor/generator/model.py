"""Column types of the reference CRM (docs/crm-model.md) as Debezium encodes them.

Used to build Kafka Connect JSON schemas for the ``{"schema", "payload"}`` wrapper (and later
Avro schemas). Real deployments bring their own tables; only the generator knows these.
"""

from __future__ import annotations

from typing import Any

# column → (connect type, logical name or None, parameters)
ColumnType = tuple[str, str | None, dict[str, str]]
INT64: ColumnType = ("int64", None, {})
INT32: ColumnType = ("int32", None, {})
TEXT: ColumnType = ("string", None, {})
BOOL: ColumnType = ("boolean", None, {})
DATE: ColumnType = ("int32", "io.debezium.time.Date", {})
TIMESTAMP: ColumnType = ("int64", "io.debezium.time.MicroTimestamp", {})


def decimal(precision: int, scale: int) -> ColumnType:
    return ("bytes", "org.apache.kafka.connect.data.Decimal",
            {"scale": str(scale), "connect.decimal.precision": str(precision)})


TABLES: dict[str, dict[str, ColumnType]] = {
    "contacts": {
        "id": INT64, "salutation": TEXT, "first_name": TEXT, "last_name": TEXT, "email": TEXT,
        "phone": TEXT, "mobile": TEXT, "birth_date": DATE, "street": TEXT, "house_number": TEXT,
        "zip": TEXT, "city": TEXT, "country": TEXT, "iban": TEXT, "tax_id": TEXT,
        "account_id": INT64, "owner_user_id": INT64, "segment": TEXT, "income_band": TEXT,
        "credit_score": INT32, "lifetime_value": decimal(12, 2), "consent_marketing": BOOL,
        "consent_updated_at": TIMESTAMP, "health_notes": TEXT, "notes": TEXT,
        "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
    },
    "accounts": {
        "id": INT64, "name": TEXT, "vat_id": TEXT, "industry": TEXT, "employees": INT32,
        "annual_revenue": decimal(14, 2), "street": TEXT, "zip": TEXT, "city": TEXT,
        "country": TEXT, "owner_user_id": INT64, "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
    },
    "contracts": {
        "id": INT64, "contact_id": INT64, "account_id": INT64, "product": TEXT,
        "contract_number": TEXT, "start_date": DATE, "end_date": DATE,
        "monthly_fee": decimal(10, 2), "iban": TEXT, "status": TEXT, "signed_at": TIMESTAMP,
    },
    "activities": {
        "id": INT64, "contact_id": INT64, "user_id": INT64, "type": TEXT, "subject": TEXT,
        "body": TEXT, "occurred_at": TIMESTAMP,
    },
    "users": {
        "id": INT64, "username": TEXT, "full_name": TEXT, "email": TEXT, "role": TEXT,
        "department": TEXT, "active": BOOL, "deactivated_at": TIMESTAMP,
    },
    "audit_log": {
        "id": INT64, "user_id": INT64, "action": TEXT, "object_type": TEXT,
        "record_count": INT32, "classification": TEXT, "client_ip": TEXT, "user_agent": TEXT,
        "occurred_at": TIMESTAMP,
    },
}
NOT_NULL = {"id"}


def _field(name: str, spec: ColumnType) -> dict[str, Any]:
    ctype, logical, params = spec
    field: dict[str, Any] = {"type": ctype, "optional": name not in NOT_NULL, "field": name}
    if logical:
        field["name"] = logical
        field["version"] = 1
    if params:
        field["parameters"] = params
    return field


def row_schema(table: str) -> dict[str, Any]:
    return {"type": "struct", "optional": True, "name": f"crm.public.{table}.Value",
            "fields": [_field(n, s) for n, s in TABLES[table].items()]}


def envelope_schema(table: str) -> dict[str, Any]:
    """The Kafka Connect schema of a Debezium PostgreSQL envelope for ``table``."""
    row = row_schema(table)
    source = {"type": "struct", "optional": False, "name": "io.debezium.connector.postgresql.Source",
              "field": "source", "fields": [
                  {"type": "string", "optional": False, "field": "version"},
                  {"type": "string", "optional": False, "field": "connector"},
                  {"type": "string", "optional": False, "field": "name"},
                  {"type": "int64", "optional": False, "field": "ts_ms"},
                  {"type": "string", "optional": True, "field": "snapshot"},
                  {"type": "string", "optional": False, "field": "db"},
                  {"type": "string", "optional": False, "field": "schema"},
                  {"type": "string", "optional": False, "field": "table"},
                  {"type": "int64", "optional": True, "field": "txId"},
                  {"type": "int64", "optional": True, "field": "lsn"},
              ]}
    return {"type": "struct", "optional": False,
            "name": f"crm.public.{table}.Envelope", "version": 1, "fields": [
                {**row, "field": "before"}, {**row, "field": "after"}, source,
                {"type": "string", "optional": False, "field": "op"},
                {"type": "int64", "optional": True, "field": "ts_ms"},
            ]}


def key_schema(table: str) -> dict[str, Any]:
    return {"type": "struct", "optional": False, "name": f"crm.public.{table}.Key",
            "fields": [{"type": "int64", "optional": False, "field": "id"}]}
