"""volume_threshold: more records than a threshold by one actor in a (hopping) window."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from processor.anomaly.alerts import Alert
from processor.anomaly.base import (
    Detector,
    DetectorParams,
    ms,
    register,
    role_of,
    window_starts,
)
from processor.anomaly.events import AccessEvent, UserState


class VolumeParams(DetectorParams):
    window: timedelta = timedelta(minutes=10)
    #: hop of a hopping window (default: the window size, i.e. tumbling)
    hop: timedelta | None = None
    threshold: int = Field(gt=0)
    roles: list[str] | None = None
    object_types: list[str] | None = None


@register
class VolumeThreshold(Detector[VolumeParams]):
    """More than ``threshold`` records by one actor (of the given roles) within a window."""

    kind = "volume_threshold"
    windowed = True
    params_model = VolumeParams

    def setup(self) -> None:
        p = self.params
        self.size_ms = ms(p.window)
        self.hop_ms = ms(p.hop) if p.hop else self.size_ms
        self.roles = frozenset(p.roles) if p.roles else None
        self.objects = frozenset(p.object_types) if p.object_types else None
        self.threshold = p.threshold
        #: records per actor and window start (by actor first: a hopping window puts each
        #: event into several windows, and one lookup of the actor serves them all)
        self.sums: dict[str, dict[int, int]] = {}
        self.fired: set[tuple[str, int]] = set()

    def observe(self, event: AccessEvent, user: UserState | None) -> list[Alert]:
        role = role_of(user)
        if (self.roles is not None and role not in self.roles) or (
                self.objects is not None and event.object_type not in self.objects):
            return []
        alerts = []
        windows = self.sums.get(event.actor)
        if windows is None:
            windows = self.sums[event.actor] = {}
        for start in window_starts(event.ts_ms, self.size_ms, self.hop_ms):
            total = windows[start] = windows.get(start, 0) + event.records
            if total > self.threshold and (event.actor, start) not in self.fired:
                self.fired.add((event.actor, start))
                alerts.append(self.alert(event.actor, role, event.action, start,
                                         start + self.size_ms, total, self.threshold))
        return alerts

    def advance(self, watermark_ms: int) -> list[Alert]:
        horizon = watermark_ms - self.size_ms - self.lateness_ms  # windows starting before: done
        for actor, windows in list(self.sums.items()):
            for start in [s for s in windows if s < horizon]:
                del windows[start]
                self.fired.discard((actor, start))
            if not windows:
                del self.sums[actor]
        return []
