"""The real CDC chain for the tests: PostgreSQL → Debezium (Kafka Connect) → the test broker.

``CRM_POSTGRES_URL`` and ``KAFKA_CONNECT_URL`` when both are set (services of your own, Connect
already talking to ``KAFKA_BOOTSTRAP_SERVERS``); else a private PostgreSQL cluster
(deploy/local-cdc/postgres.sh) and a Kafka Connect worker with the Debezium PostgreSQL
connector (deploy/local-cdc/connect.sh), both from Debian's packages and Maven Central jars,
once per test session. Each test gets a database of its own, created from schema.sql, and
connectors named after it, so tests never see each other's changes.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy import debezium
from tests.broker import REPO, _up, stop_service

CDC = REPO / "deploy" / "local-cdc"
#: columns of the types that a CRM adds over the years: money, uuid, jsonb, an enum, an array,
#: an interval
NEW_TYPES_SQL = """
CREATE TYPE tier AS ENUM ('bronze', 'silver', 'gold');
ALTER TABLE contacts ADD COLUMN loyalty money, ADD COLUMN external_id uuid,
  ADD COLUMN prefs jsonb, ADD COLUMN tier tier, ADD COLUMN tags text[],
  ADD COLUMN callback_after interval;
"""
#: a rule for each that `validate --postgres` accepts
NEW_TYPES_RULES = {
    "loyalty": "{class: personal, action: generalize, to: bucket, encoding: decimal, scale: 2, "
               "size: 100}",
    "external_id": "{class: identifier, action: pseudonymize, domain: contact}",
    "prefs": "{class: free_text, action: scrub}",
    "tier": "{class: business, action: keep}",
    "tags": "{class: business, action: keep, type: array}",
    "callback_after": "{class: personal, action: drop}",
}
SCHEMA_SQL = CDC / "schema.sql"
CONNECTOR = REPO / "deploy" / "debezium" / "crm-postgres.json"


@dataclass(frozen=True)
class CdcChain:
    postgres_url: str  # of the maintenance database; ``database()`` makes one per test
    connect_url: str

    def database(self, name: str | None = None) -> str:
        """A new database with the reference CRM's tables; its URL."""
        import psycopg

        name = name or f"crm_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.postgres_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        url = self.postgres_url.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA_SQL.read_text())
        return url

    def warehouse(self) -> str:
        """A new, empty database for a sink to fill; its URL."""
        import psycopg

        name = f"warehouse_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.postgres_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.postgres_url.rsplit("/", 1)[0] + f"/{name}"

    def capture(self, database_url: str, topic_prefix: str, **settings: str) -> str:
        """Register a Debezium connector for ``database_url`` whose topics are
        ``<topic_prefix>.public.<table>``; ``settings`` override deploy/debezium/crm-postgres.json
        (``decimal.handling.mode="string"`` …). Returns the connector's name."""
        spec = json.loads(CONNECTOR.read_text())
        name = f"crm-{uuid.uuid4().hex[:10]}"
        config = {**spec["config"], **debezium.database_settings(database_url),
                  "topic.prefix": topic_prefix, "slot.name": name.replace("-", "_"),
                  **settings}
        debezium.register(self.connect_url, name, config)
        return name

    def release(self, name: str) -> None:
        """Delete the connector and drop its replication slot."""
        import psycopg

        debezium.delete(self.connect_url, name)
        with psycopg.connect(self.postgres_url, autocommit=True) as conn:
            for _ in range(50):
                row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s",
                                   (name.replace("-", "_"),)).fetchone()
                if row is None:
                    return
                if not row[0]:
                    conn.execute("SELECT pg_drop_replication_slot(%s)", (name.replace("-", "_"),))
                    return
                time.sleep(0.2)


@contextmanager
def cdc_chain(bootstrap: str) -> Iterator[CdcChain]:
    given_pg, given_connect = os.environ.get("CRM_POSTGRES_URL"), os.environ.get("KAFKA_CONNECT_URL")
    if given_pg and given_connect:
        yield CdcChain(given_pg, given_connect)
        return
    pg_env = {**os.environ, "PG_STATE_DIR": tempfile.mkdtemp(prefix="crm-masker-pg-")}
    connect_env = {**os.environ, "CONNECT_STATE_DIR": tempfile.mkdtemp(prefix="crm-masker-connect-")}
    pg_url = _up(CDC / "postgres.sh", pg_env)
    try:
        connect_url = _up(CDC / "connect.sh", connect_env, bootstrap)
        try:
            yield CdcChain(pg_url.rsplit("/", 1)[0] + "/postgres", connect_url)
        finally:
            stop_service(CDC / "connect.sh", connect_env)
    finally:
        stop_service(CDC / "postgres.sh", pg_env)


def add_contact_rules(rules: Path, fields: dict[str, str]) -> None:
    """Rules for more columns of the contacts table, in a copy of the rule set."""
    contacts = rules / "tables" / "contacts.yaml"
    lines = "".join(f"      {name}: {rule}\n" for name, rule in fields.items())
    contacts.write_text(contacts.read_text().replace("      notes:", lines + "      notes:", 1))


def rows(database_url: str, table: str) -> dict[Any, dict[str, Any]]:
    """The table as PostgreSQL has it now, by id."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return {row["id"]: row for row in conn.execute(f"SELECT * FROM {table}")}
