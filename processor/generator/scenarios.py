"""Access-log scenarios for anomaly detection: normal office traffic plus injected incidents,
with the ground truth written down, so recall and false alerts can be measured.

Day 1 is normal traffic (the adaptive detector's warm-up); day 2 adds the incidents:
  mass_export        a sales user exports 3,000 contacts within 10 minutes
  deactivated_access a user deactivated last week reads contacts
  night_export       a service user exports 400 records at 02:30 Berlin time
  slow_ramp          a marketing user who exports ~20 records an hour exports ~450 in one hour
                     (under every static threshold: only the adaptive baseline sees it)
  special_export     an export that touches special categories (Art. 9)
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from processor.errors import CrmMaskerError
from processor.generator.rows import RowFactory
from processor.generator.stream import MEAN_GAP_MS, CrmStream, GeneratedRecord

BERLIN = ZoneInfo("Europe/Berlin")
ACTIONS = {"view": 70, "search": 20, "report": 5, "export": 3, "api_read": 2}
#: the users of each role that the incidents need
INCIDENT_ROLES = {"sales": 2, "marketing": 1, "service": 1}


@dataclass(frozen=True)
class Incident:
    scenario: str
    actor: str
    detector: str  # the detector of the shipped rules that must catch it
    at_ms: int


@dataclass
class AccessScenario:
    users: int = 300
    seed: int = 1
    day: str = "2026-11-02"  # day 2 (with incidents); day 1 is the day before

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.stream = CrmStream(seed=self.seed, users=self.users)
        self.rows = RowFactory(self.rng)
        self.incidents: list[Incident] = []
        self._audit_id = 0

    def _ms(self, day_offset: int, hh: int, mm: int, ss: int = 0) -> int:
        base = datetime.fromisoformat(self.day).replace(tzinfo=BERLIN) + timedelta(days=day_offset)
        return int(base.replace(hour=hh, minute=mm, second=ss).astimezone(UTC).timestamp() * 1000)

    def _access(self, user_id: int, ts_ms: int, action: str, count: int,
                classification: str = "personal") -> GeneratedRecord:
        self._audit_id += 1
        self.stream.ts_ms = ts_ms
        row = self.rows.audit(self._audit_id, ts_ms, user_id, action, count, classification)
        return self.stream.record("audit_log", "c", None, row)

    def records(self) -> Iterator[GeneratedRecord]:
        """Users first (as a snapshot), then both days of access events in time order."""
        rng = self.rng
        users = []
        for uid in range(1, self.users + 1):
            user = self.rows.user(uid)
            users.append(user)
            self.stream.ts_ms = self._ms(-1, 0, 0)
            yield self.stream.record("users", "r", None, user, snapshot=True)
        by_role: dict[str, list[int]] = {}
        for user in users:
            by_role.setdefault(user["role"], []).append(user["id"])
        short = [role for role, needed in INCIDENT_ROLES.items()
                 if len(by_role.get(role, ())) < needed]
        if short:
            raise CrmMaskerError(
                f"the access-days scenario needs users of the roles {', '.join(short)} for its "
                f"incidents; {self.users} users (seed {self.seed}) have too few: use more --users")
        # incident actors, chosen by role
        mass, ramp = by_role["sales"][0], by_role["marketing"][0]
        night, special = by_role["service"][0], by_role["sales"][1]
        deactivated = self.users + 1
        gone = {**self.rows.user(deactivated, role="sales", active=False),
                "deactivated_at": (self._ms(-7, 12, 0)) * 1000}
        yield self.stream.record("users", "r", None, gone, snapshot=True)

        events: list[tuple[int, GeneratedRecord]] = []
        for day in (-1, 0):
            for user in users:
                uid, role = user["id"], user["role"]
                start_h = rng.randint(7, 9)
                for _ in range(rng.randint(20, 120) if role != "bi_analyst" else rng.randint(5, 30)):
                    ts = self._ms(day, start_h, 0) + rng.randrange(9 * 3_600_000)
                    action = rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
                    count = {"view": 1, "search": rng.randint(1, 50), "report": rng.randint(10, 200),
                             "export": rng.randint(1, 60), "api_read": rng.randint(1, 100)}[action]
                    if uid == ramp and action == "export":
                        count = rng.randint(10, 30)
                    events.append((ts, self._access(uid, ts, action, count)))
                if uid == ramp:  # a steady exporter: ~20 records each office hour
                    for hh in range(9, 17):
                        ts = self._ms(day, hh, 30)
                        events.append((ts, self._access(uid, ts, "export", rng.randint(15, 25))))
        # the incidents of day 2
        t = self._ms(0, 14, 0)
        for i in range(3):
            events.append((t + i * 120_000, self._access(mass, t + i * 120_000, "export", 1000)))
        self.incidents.append(Incident("mass_export", str(mass), "sales_mass_export", t))
        t = self._ms(0, 11, 0)
        events.append((t, self._access(deactivated, t, "view", 1)))
        self.incidents.append(Incident("deactivated_access", str(deactivated),
                                       "inactive_or_unknown_account", t))
        t = self._ms(0, 2, 30)
        events.append((t, self._access(night, t, "export", 400)))
        self.incidents.append(Incident("night_export", str(night), "night_export", t))
        t = self._ms(0, 15, 5)
        for i in range(9):
            ts = t + i * 300_000
            events.append((ts, self._access(ramp, ts, "export", 50)))
        self.incidents.append(Incident("slow_ramp", str(ramp), "unusual_volume", t))
        t = self._ms(0, 10, 15)
        events.append((t, self._access(special, t, "export", 40, classification="special")))
        self.incidents.append(Incident("special_export", str(special), "special_category_export",
                                       t))
        events.sort(key=lambda e: e[0])
        for _, record in events:
            yield record

    def ground_truth(self) -> list[dict[str, object]]:
        return [asdict(i) for i in self.incidents]


@dataclass
class Generated:
    """A scenario's records, how many, and what was injected (access-days only)."""

    records: Iterator[GeneratedRecord]
    count: int
    ground_truth: list[dict[str, object]] | None = None


def generated(scenario: str, count: int, seed: int, users: int, with_schema: bool,
              topic_prefix: str, gap_ms: float = MEAN_GAP_MS) -> Generated:
    """crm: ``count`` changes on every table, ``gap_ms`` apart on average in the CRM's time;
    access-days: users and two days of access-log traffic with the incidents injected
    (``count`` and ``gap_ms`` do not apply)."""
    if scenario == "access-days":
        access = AccessScenario(users=users, seed=seed)
        access.stream.topic_prefix = topic_prefix
        records = list(access.records())
        return Generated(iter(records), len(records), access.ground_truth())
    stream = CrmStream(seed=seed, users=users, with_schema=with_schema, topic_prefix=topic_prefix,
                       mean_gap_ms=gap_ms)
    return Generated(stream.events(count), count)
