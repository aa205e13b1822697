"""Write generated CRM activity into PostgreSQL, as transactions, so that Debezium produces the
change events (``crm-masker generate --postgres URL``); the tables are those of
deploy/local-cdc/schema.sql.

The generator's records carry Debezium's encodings (days, microseconds, base64 decimals); they
are turned back into SQL values here, so a round trip through PostgreSQL and Debezium gives
the same events as the Kafka sink writes directly.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from psycopg import sql

from processor.errors import CrmMaskerError
from processor.formats import debezium_types as dbz
from processor.generator import model
from processor.generator.sink import progress
from processor.generator.stream import CrmStream, GeneratedRecord

#: a Debezium logical type → how its value becomes an SQL value
_FROM_DEBEZIUM = {
    "io.debezium.time.Date": lambda v, _: dbz.days_to_date(v),
    "io.debezium.time.MicroTimestamp": lambda v, _: dbz.micros_to_datetime(v).replace(tzinfo=None),
    "org.apache.kafka.connect.data.Decimal": lambda v, p: dbz.decode_decimal(v, int(p["scale"])),
}


def sql_row(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """The row's values as psycopg passes them to PostgreSQL."""
    out = {}
    for column, value in row.items():
        _, logical, params = model.TABLES[table][column]
        convert = _FROM_DEBEZIUM.get(logical or "")
        out[column] = value if value is None or convert is None else convert(value, params)
    return out


def _statement(record: GeneratedRecord) -> tuple[sql.Composed, dict[str, Any]] | None:
    """The SQL that makes PostgreSQL emit this change; None for a tombstone."""
    value = record.value
    if value is None:
        return None
    table = sql.Identifier(record.table)
    if record.op in ("c", "r"):
        row = sql_row(record.table, value["after"])
        return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table, sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(map(sql.Placeholder, row))), row
    if record.op == "u":
        row = sql_row(record.table, value["after"])
        sets = sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c))
                                  for c in row if c != "id")
        return sql.SQL("UPDATE {} SET {} WHERE id = %(id)s").format(table, sets), row
    if record.op == "d":
        return (sql.SQL("DELETE FROM {} WHERE id = %(id)s").format(table),
                {"id": value["before"]["id"]})
    raise CrmMaskerError(f"the generator wrote op {record.op!r}, which has no SQL")


def continue_ids(stream: CrmStream, url: str) -> None:
    """Number new rows after those already in the database (a second run adds, not clashes)."""
    import psycopg

    with psycopg.connect(url) as conn:
        for table in model.TABLES:
            row = conn.execute(sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(
                sql.Identifier(table))).fetchone()
            stream.next_id[table] = max(stream.next_id[table], int(row[0] if row else 0) + 1)


def write_sql(records: Iterable[GeneratedRecord], count: int, url: str, *,
              per_transaction: int = 20, rate: float = 0.0) -> int:
    """Apply the changes in transactions of ``per_transaction`` records; returns the records
    applied (tombstones count, as Debezium writes one after each delete)."""
    import psycopg

    try:
        conn = psycopg.connect(url)
    except psycopg.OperationalError as exc:
        raise CrmMaskerError(f"cannot connect to PostgreSQL: {str(exc).splitlines()[0]}") from None
    written = 0
    start = time.monotonic()
    with conn:
        for record in records:
            statement = _statement(record)
            if statement is not None:
                conn.execute(*statement)
            written += 1
            if written % per_transaction == 0:
                conn.commit()
            if written % 1000 == 0:
                elapsed = time.monotonic() - start
                progress(written, count, elapsed)
                if rate > 0 and written / rate > elapsed:
                    time.sleep(written / rate - elapsed)
        conn.commit()
    progress(written, count, time.monotonic() - start, final=True)
    return written
