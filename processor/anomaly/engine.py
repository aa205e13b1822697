"""Feed access events and user changes to the configured detectors, on event time: one
engine per partition of the by-actor topic (or one for a whole log, offline)."""

from __future__ import annotations

from typing import Any

from processor.anomaly.alerts import Alert
from processor.anomaly.base import Detector, detector_class
from processor.anomaly.config import AnomalyRules
from processor.anomaly.events import AccessEvent, ChangeReader, UserState

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
        #: the access log's partitions, and the latest event time seen of each
        self.source_count = 1
        self.reached: dict[int, int] = {}
        self._tick = -1
        self.late = 0
        #: detector names that could not count the last access event (it came too late for
        #: their windows); empty when it was on time
        self.missed: list[str] = []
        #: (role, action, records) of the last on-time access event, for the volume metric;
        #: role and action as metric labels (``OTHER_LABEL`` unless the rules declare them)
        self.last_access: tuple[str, str, int] | None = None
        self._by_action: dict[str, list[Detector]] = {}
        self._read = ChangeReader(rules)
        self._label_roles = frozenset(rules.metric_labels.roles) | {UNKNOWN_ROLE}
        self._label_actions = frozenset(rules.metric_labels.actions)

    def detectors_for(self, action: str) -> list[Detector]:
        """The detectors that count this action (most detectors watch only some actions)."""
        found = self._by_action.get(action)
        if found is None:
            found = self._by_action[action] = [d for d in self.detectors if d.counts(action)]
        return found

    def on_row(self, table: str, op: str, row: dict[str, Any] | None) -> list[Alert]:
        """One CDC change of a single-partition log (row = the after image, or the before
        image of a delete): the offline path, and the reference that the partitioned
        processor must match."""
        self.last_access = None
        self.missed = []
        change = self._read(table, op, row)
        if isinstance(change, UserState):
            return self.on_user(change)
        if change is None:
            return []
        return self.on_access(change)

    def on_user(self, user: UserState) -> list[Alert]:
        """A change of the users table (a deleted account arrives as an inactive one)."""
        self.last_access = None
        self.missed = []
        self.users[user.user_id] = user
        return [a for d in self.detectors for a in d.user_changed(user)]

    def on_access(self, event: AccessEvent, source: int = 0, sources: int = 1) -> list[Alert]:
        """An access event from partition ``source`` of an access log of ``sources``
        partitions."""
        self.missed = []
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
        alerts = [a for d in watching for a in d.observe(event, actor)]
        return alerts + self.on_progress({source: event.ts_ms}, sources)

    def on_progress(self, progress: dict[int, int], sources: int) -> list[Alert]:
        """The access log's partitions have reached these event times: the watermark is the
        least of them, once every partition has said where it is (as Flink's watermarks, so
        a partition that is read behind the others makes none of its events late)."""
        self.source_count = max(self.source_count, sources)
        reached = self.reached
        for source, ts_ms in progress.items():
            if ts_ms > reached.get(source, -1):
                reached[source] = ts_ms
        if len(reached) < self.source_count:
            return []
        watermark = min(reached.values()) if self.source_count > 1 else reached[0]
        if watermark <= self.watermark_ms:
            return []
        self.watermark_ms = watermark
        tick = watermark // TICK_MS
        if tick == self._tick:  # close windows once per minute of event time, not per event
            return []
        self._tick = tick
        return [a for d in self.detectors for a in d.advance(watermark)]
