"""A reproducible stream of Debezium change events over every table of the reference CRM.

It starts with a snapshot (``op=r``) of users, accounts and contacts, then mixes creates,
updates and deletes (each delete followed by Debezium's tombstone) with the weights of a busy
CRM: the audit log and activities dominate.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from processor.generator import model
from processor.generator.rows import RowFactory

TOPIC_PREFIX = "crm.public."
START_MS = 1_793_523_600_000  # 2026-11-02 08:00 Europe/Berlin
TABLE_WEIGHTS = {"audit_log": 40, "activities": 25, "contacts": 15, "contracts": 10,
                 "accounts": 5, "users": 5}
AUDIT_ACTIONS = {"view": 60, "search": 20, "report": 8, "api_read": 5, "export": 4, "login": 3}


@dataclass(frozen=True, slots=True)
class GeneratedRecord:
    topic: str
    key: Any
    value: Any  # None: tombstone
    table: str
    op: str | None


#: the CRM time between two changes, on average (a busy CRM)
MEAN_GAP_MS = 50.0
DAY_MS = 86_400_000


def snapshot_size(users: int) -> int:
    """The records of the initial snapshot (``CrmStream.snapshot``): users, accounts, contacts."""
    return users + max(10, users // 4) + users * 2


def mean_gap_ms(events: int, days: float | None, users: int) -> float:
    """The mean gap that spreads the changes among ``events`` records (after the snapshot,
    which takes no time) over ``days`` of CRM time; None: a busy CRM."""
    if days is None:
        return MEAN_GAP_MS
    return days * DAY_MS / max(1, events - snapshot_size(users))


class CrmStream:
    def __init__(self, seed: int = 1, users: int = 200, with_schema: bool = False,
                 start_ms: int = START_MS, mean_gap_ms: float = MEAN_GAP_MS,
                 topic_prefix: str = TOPIC_PREFIX) -> None:
        self.rng = random.Random(seed)
        self.topic_prefix = topic_prefix
        self.rows = RowFactory(self.rng)
        self.with_schema = with_schema
        self.ts_ms = start_ms
        self.mean_gap_ms = mean_gap_ms
        self.n_users = users
        self.live: dict[str, dict[int, dict[str, Any]]] = {t: {} for t in model.TABLES}
        self.next_id = dict.fromkeys(model.TABLES, 1)
        self.lsn = 10_000_000
        self.tx = 5_000

    # -- envelopes ---------------------------------------------------------------------------
    def record(self, table: str, op: str, before: Any, after: Any,
                snapshot: bool = False) -> GeneratedRecord:
        self.lsn += self.rng.randrange(80, 400)
        self.tx += 1
        value: Any = {
            "before": before, "after": after,
            "source": {"version": "2.7.0.Final", "connector": "postgresql", "name": "crm",
                       "ts_ms": self.ts_ms, "snapshot": "true" if snapshot else "false",
                       "db": "crm", "schema": "public", "table": table, "txId": self.tx,
                       "lsn": self.lsn},
            "op": op, "ts_ms": self.ts_ms + self.rng.randrange(5, 200),
        }
        key: Any = {"id": (after or before)["id"]}
        if self.with_schema:
            value = {"schema": model.envelope_schema(table), "payload": value}
            key = {"schema": model.key_schema(table), "payload": key}
        return GeneratedRecord(self.topic_prefix + table, key, value, table, op)

    def _tombstone(self, record: GeneratedRecord) -> GeneratedRecord:
        return GeneratedRecord(record.topic, record.key, None, record.table, None)

    def _tick(self) -> None:
        self.ts_ms += int(self.rng.expovariate(1.0 / self.mean_gap_ms)) + 1

    # -- rows ---------------------------------------------------------------------------------
    def _new_row(self, table: str) -> dict[str, Any]:
        id_ = self.next_id[table]
        self.next_id[table] += 1
        n_contacts = max(1, self.next_id["contacts"] - 1)
        n_accounts = max(1, self.next_id["accounts"] - 1)
        rows = self.rows
        if table == "contacts":
            row = rows.contact(id_, self.ts_ms, n_accounts, self.n_users)
        elif table == "accounts":
            row = rows.account(id_, self.ts_ms, self.n_users)
        elif table == "contracts":
            row = rows.contract(id_, self.ts_ms, n_contacts, n_accounts)
        elif table == "activities":
            row = rows.activity(id_, self.ts_ms, n_contacts, self.n_users,
                                self.live["contacts"].get)
        elif table == "users":
            row = rows.user(id_)
        else:
            action = self.rng.choices(list(AUDIT_ACTIONS), weights=list(AUDIT_ACTIONS.values()))[0]
            count = {"export": self.rng.randrange(1, 200), "report": self.rng.randrange(1, 500),
                     "search": self.rng.randrange(1, 50)}.get(action, 1)
            row = rows.audit(id_, self.ts_ms, self.rng.randrange(1, self.n_users + 1), action,
                             count, classification=self.rng.choice(["personal", "business"]))
        if table != "audit_log":  # the audit log is append-only; keep no state for it
            self.live[table][id_] = row
        return row

    def snapshot(self) -> Iterator[GeneratedRecord]:
        """The tables as the connector's initial snapshot reads them (``snapshot_size``)."""
        for _ in range(self.n_users):
            yield self.record("users", "r", None, self._new_row("users"), snapshot=True)
        for _ in range(max(10, self.n_users // 4)):
            yield self.record("accounts", "r", None, self._new_row("accounts"), snapshot=True)
        for _ in range(self.n_users * 2):
            yield self.record("contacts", "r", None, self._new_row("contacts"), snapshot=True)

    def change(self) -> Iterator[GeneratedRecord]:
        """One change (and its tombstone for a delete)."""
        self._tick()
        table = self.rng.choices(list(TABLE_WEIGHTS), weights=list(TABLE_WEIGHTS.values()))[0]
        live = self.live[table]
        roll = self.rng.random()
        if table == "audit_log" or not live or roll < 0.45:
            yield self.record(table, "c", None, self._new_row(table))
        elif roll < 0.92 or table == "users":
            id_ = self.rng.choice(list(live)) if len(live) < 64 else self._recent(live)
            before = live[id_]
            after = self.rows.update(table, before, self.ts_ms)
            live[id_] = after
            yield self.record(table, "u", before, after)
        else:
            id_ = self._recent(live)
            record = self.record(table, "d", live.pop(id_), None)
            yield record
            yield self._tombstone(record)

    def _recent(self, live: dict[int, dict[str, Any]]) -> int:
        """A random live id, cheaply (dicts keep insertion order; sample from a window)."""
        keys = list(live.keys())[-256:] if len(live) > 256 else list(live)
        return self.rng.choice(keys)

    def events(self, n: int) -> Iterator[GeneratedRecord]:
        """Exactly ``n`` records: the snapshot first (as far as ``n`` allows), then changes."""
        produced = 0
        for record in self.snapshot():
            if produced >= n:
                return
            yield record
            produced += 1
        while produced < n:
            for record in self.change():
                if produced >= n:
                    return
                yield record
                produced += 1
