"""Access events and user states, read from CDC rows through a configurable column mapping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from processor.anomaly.config import AccessLogMapping, UsersMapping

UNITS_PER_MS = {"micro_timestamp": 1_000, "milli_timestamp": 1}


@dataclass(frozen=True, slots=True)
class AccessEvent:
    event_id: str
    actor: str
    action: str
    object_type: str
    count: int
    classification: str
    ts_ms: int  # event time: the access log's own timestamp, never the wall clock


@dataclass(frozen=True, slots=True)
class UserState:
    user_id: str
    role: str
    active: bool
    deactivated_at_ms: int | None

    def inactive_at(self, ts_ms: int) -> bool:
        if self.deactivated_at_ms is not None:
            return self.deactivated_at_ms <= ts_ms
        return not self.active


def _ms(value: Any, encoding: str) -> int:
    if encoding in UNITS_PER_MS:
        return int(value) // UNITS_PER_MS[encoding]
    raise ValueError(f"unsupported time encoding {encoding}")


def access_event(row: dict[str, Any], m: AccessLogMapping) -> AccessEvent:
    return AccessEvent(
        event_id=str(row[m.id]), actor=str(row[m.actor]), action=str(row[m.action]),
        object_type=str(row.get(m.object_type) or ""), count=int(row.get(m.count) or 1),
        classification=str(row.get(m.classification) or ""),
        ts_ms=_ms(row[m.time], m.time_encoding))


def user_state(row: dict[str, Any], m: UsersMapping) -> UserState:
    deactivated = row.get(m.deactivated_at)
    return UserState(
        user_id=str(row[m.id]), role=str(row.get(m.role) or "unknown"),
        active=bool(row.get(m.active, True)),
        deactivated_at_ms=None if deactivated is None else _ms(deactivated, m.time_encoding))
