"""Feed CDC rows of the access log and the users table to the configured detectors."""

from __future__ import annotations

from typing import Any

from processor.anomaly.alerts import Alert
from processor.anomaly.base import Detector, detector_class
from processor.anomaly.config import AnomalyRules
from processor.anomaly.events import AccessReader, UserState, user_state

TICK_MS = 60_000
#: the label of a role or action that the rules' ``metric_labels`` do not declare
OTHER_LABEL = "other"
#: the role of an actor without a users row
UNKNOWN_ROLE = "unknown"


class AnomalyEngine:
    def __init__(self, rules: AnomalyRules) -> None:
        self.rules = rules
        self.lateness_ms = int(rules.allowed_lateness.total_seconds() * 1000)
        self.detectors: list[Detector] = []
        for name, spec in rules.detectors.items():
            cls = detector_class(spec.type)
            self.detectors.append(cls(name, spec.severity, cls.params_model.model_validate(
                spec.params), rules.allowed_lateness))
        self.users: dict[str, UserState] = {}
        self.watermark_ms = 0
        self._tick = -1
        self.late = 0
        #: detector names that could not count the last access event (it came too late for
        #: their windows); empty when it was on time
        self.missed: list[str] = []
        #: (role, action, records) of the last on-time access event, for the volume metric;
        #: role and action as metric labels (``OTHER_LABEL`` unless the rules declare them)
        self.last_access: tuple[str, str, int] | None = None
        self._by_action: dict[str, list[Detector]] = {}
        self._read_access = AccessReader(rules.access_log)
        self._label_roles = frozenset(rules.metric_labels.roles) | {UNKNOWN_ROLE}
        self._label_actions = frozenset(rules.metric_labels.actions)

    def detectors_for(self, action: str) -> list[Detector]:
        """The detectors that count this action (most detectors watch only some actions)."""
        found = self._by_action.get(action)
        if found is None:
            found = self._by_action[action] = [d for d in self.detectors if d.counts(action)]
        return found

    def on_row(self, table: str, op: str, row: dict[str, Any] | None) -> list[Alert]:
        """One CDC change (row = the after image, or the before image of a delete)."""
        self.last_access = None
        self.missed = []
        if row is None:
            return []
        users = self.rules.users
        if users is not None and table == users.table:
            user = user_state(row, users)
            if op == "d":
                user = UserState(user.user_id, user.role, False, user.deactivated_at_ms)
            self.users[user.user_id] = user
            return [a for d in self.detectors for a in d.user_changed(user)]
        if table != self.rules.access_log.table or op not in ("c", "r"):
            return []
        event = self._read_access(row)
        actor = self.users.get(event.actor)
        role = actor.role if actor else UNKNOWN_ROLE
        self.last_access = (role if role in self._label_roles else OTHER_LABEL,
                            event.action if event.action in self._label_actions else OTHER_LABEL,
                            event.records)
        watching = self.detectors_for(event.action)
        if event.ts_ms < self.watermark_ms - self.lateness_ms:
            # later than allowed_lateness: the detectors that judge one event still do; the
            # windowed ones have closed its window and cannot count it (a metric says so)
            self.late += 1
            self.missed = [d.name for d in watching if d.windowed]
            return [a for d in watching if not d.windowed for a in d.observe(event, actor)]
        self.watermark_ms = max(self.watermark_ms, event.ts_ms)
        alerts = [a for d in watching for a in d.observe(event, actor)]
        tick = self.watermark_ms // TICK_MS
        if tick != self._tick:  # close windows once per minute of event time, not per event
            self._tick = tick
            alerts += [a for d in self.detectors for a in d.advance(self.watermark_ms)]
        return alerts
