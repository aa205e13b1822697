"""The built-in detectors. Each keeps its state per actor and works on event time only."""

from __future__ import annotations

import math
import statistics
from collections import deque
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from processor.anomaly.alerts import Alert
from processor.anomaly.base import (
    Detector,
    DetectorParams,
    OncePerWindow,
    register,
    window_starts,
)
from processor.anomaly.events import AccessEvent, UserState

HOUR_MS = 3_600_000
ABS_DEV_TO_STD = math.sqrt(math.pi / 2)  # mean absolute deviation → standard deviation (normal)


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


def _role(user: UserState | None) -> str:
    return user.role if user is not None else "unknown"


class VolumeParams(DetectorParams):
    window: timedelta = timedelta(minutes=10)
    #: hop of a hopping window (default: the window size, i.e. tumbling)
    hop: timedelta | None = None
    threshold: int = Field(gt=0)
    roles: list[str] | None = None
    object_types: list[str] | None = None


@register
class VolumeThreshold(Detector):
    """More than ``threshold`` records by one actor (of the given roles) within a window."""

    kind = "volume_threshold"
    windowed = True
    windowed = True
    params_model = VolumeParams

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        p: VolumeParams = self.params  # type: ignore[assignment]
        self.size_ms = _ms(p.window)
        self.hop_ms = _ms(p.hop) if p.hop else self.size_ms
        self.roles = frozenset(p.roles) if p.roles else None
        self.objects = frozenset(p.object_types) if p.object_types else None
        self.threshold = p.threshold
        #: records per actor and window start (by actor first: a hopping window puts each
        #: event into several windows, and one lookup of the actor serves them all)
        self.sums: dict[str, dict[int, int]] = {}
        self.fired: set[tuple[str, int]] = set()

    def observe(self, event: AccessEvent, user: UserState | None) -> list[Alert]:
        role = _role(user)
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


class BaselineParams(DetectorParams):
    window: timedelta = timedelta(hours=1)
    alpha: float = Field(0.1, gt=0, lt=1)
    z: float = Field(4.0, gt=0)
    #: active windows of history before an actor can be flagged (a new actor's first export
    #: is fine)
    warmup: int = Field(8, ge=1)
    #: never flag a window below this volume
    min_volume: int = Field(100, ge=1)


@register
class AdaptiveBaseline(Detector):
    """An actor's volume per window against its own history.

    Only windows in which the actor was active count (nights and weekends are not "normal
    volume 0"). The first ``warmup`` active windows give a robust start (median and median
    absolute deviation, so a new actor's first big export does not become its normal); after
    that an EWMA of the mean
    and of the absolute deviation follows the actor, with each window clipped at the alert
    threshold so that one incident is not learned as normal at once.
    """

    kind = "adaptive_baseline"
    windowed = True
    params_model = BaselineParams

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        p: BaselineParams = self.params  # type: ignore[assignment]
        self.size_ms, self.alpha, self.z = _ms(p.window), p.alpha, p.z
        self.warmup, self.min_volume = p.warmup, p.min_volume
        self.open: dict[str, dict[int, int]] = {}  # actor → window start → records
        self.roles: dict[str, str] = {}
        self.history: dict[str, tuple[float, float, int]] = {}  # mean, abs deviation, windows
        self.warming: dict[str, list[float]] = {}

    def observe(self, event: AccessEvent, user: UserState | None) -> list[Alert]:
        start = event.ts_ms - event.ts_ms % self.size_ms
        windows = self.open.setdefault(event.actor, {})
        windows[start] = windows.get(start, 0) + event.records
        self.roles[event.actor] = _role(user)
        return []

    def advance(self, watermark_ms: int) -> list[Alert]:
        closable = watermark_ms - self.lateness_ms - self.size_ms  # windows starting before
        alerts: list[Alert] = []
        for actor, windows in list(self.open.items()):
            due = sorted(s for s in windows if s <= closable)
            if not due:
                continue
            mean, dev, n = self.history.get(actor, (0.0, 0.0, 0))
            for start in due:  # only active windows: silence teaches nothing
                observed = windows.pop(start)
                if n < self.warmup:
                    warm = self.warming.setdefault(actor, [])
                    warm.append(float(observed))
                    if len(warm) == self.warmup:
                        mean = statistics.median(warm)
                        dev = statistics.median(abs(x - mean) for x in warm)
                        del self.warming[actor]
                else:
                    spread = max(ABS_DEV_TO_STD * dev, 1.0, 0.1 * mean)
                    limit = mean + self.z * spread
                    if observed >= self.min_volume and observed >= limit:
                        alerts.append(self.alert(actor, self.roles.get(actor, "unknown"), "*",
                                                 start, start + self.size_ms, observed,
                                                 round(limit, 1),
                                                 f"baseline mean {mean:.1f} over {n} windows"))
                    diff = min(observed, limit) - mean
                    mean += self.alpha * diff
                    dev += self.alpha * (abs(diff) - dev)
                n += 1
            if not windows:
                del self.open[actor]
            self.history[actor] = (mean, dev, n)
        return alerts


class InactiveParams(DetectorParams):
    #: how long an access waits for its user's row (CDC order is not guaranteed)
    grace: timedelta = timedelta(minutes=10)
    #: one alert per actor per window
    window: timedelta = timedelta(hours=1)


@register
class InactiveAccount(Detector):
    """Any access by a user whose row is inactive (at the access time) or unknown."""

    kind = "inactive_account"
    needs_users = True
    params_model = InactiveParams

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        p: InactiveParams = self.params  # type: ignore[assignment]
        self.grace_ms, self.size_ms = _ms(p.grace), _ms(p.window)
        self.recent: deque[AccessEvent] = deque()  # accesses still within the grace period
        self.recent_by_actor: dict[str, deque[AccessEvent]] = {}
        self.users: dict[str, UserState] = {}
        self.once = OncePerWindow(self.size_ms)

    def _fire(self, event: AccessEvent, user: UserState | None, why: str) -> list[Alert]:
        start = self.once.first(event.actor, event.ts_ms)
        if start is None:
            return []
        return [self.alert(event.actor, _role(user), event.action, start, start + self.size_ms,
                           event.records, 0, why)]

    def observe(self, event: AccessEvent, user: UserState | None) -> list[Alert]:
        if user is not None:
            self.users[user.user_id] = user
            if user.inactive_at(event.ts_ms):
                return self._fire(event, user, "account inactive at the time of access")
        self.recent.append(event)
        self.recent_by_actor.setdefault(event.actor, deque()).append(event)
        return []

    def user_changed(self, user: UserState) -> list[Alert]:
        self.users[user.user_id] = user
        alerts = []
        for event in self.recent_by_actor.get(user.user_id, ()):
            if user.inactive_at(event.ts_ms):
                alerts += self._fire(event, user, "account inactive at the time of access")
        return alerts

    def advance(self, watermark_ms: int) -> list[Alert]:
        alerts = []
        while self.recent and self.recent[0].ts_ms + self.grace_ms <= watermark_ms:
            event = self.recent.popleft()  # its grace period is over: decide now
            mine = self.recent_by_actor[event.actor]
            mine.remove(event)  # nearly always the first one: both queues keep arrival order
            if not mine:
                del self.recent_by_actor[event.actor]
            if event.actor not in self.users:
                alerts += self._fire(event, None, "unknown account")
        self.once.forget_before(watermark_ms - self.size_ms - self.grace_ms - self.lateness_ms)
        return alerts


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: list[Weekday] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKDAYS: list[Weekday] = DAYS[:5]


class OffHoursParams(DetectorParams):
    actions: list[str] | None = Field(default_factory=lambda: ["export"])
    timezone: str = "Europe/Berlin"
    business_hours: str = "07:00-20:00"
    business_days: list[Weekday] = Field(default_factory=lambda: list(WORKDAYS))
    min_records: int = Field(100, ge=1)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception:
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        try:
            start, end = (time.fromisoformat(part) for part in value.split("-"))
        except ValueError:
            raise ValueError("business_hours looks like 07:00-20:00") from None
        if start >= end:
            raise ValueError("business_hours must start before they end")
        return value


@register
class OffHoursExport(Detector):
    """Bulk exports outside business hours, in the business's own time zone (DST-aware)."""

    kind = "off_hours_export"
    params_model = OffHoursParams

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        p: OffHoursParams = self.params  # type: ignore[assignment]
        self.zone = ZoneInfo(p.timezone)
        self.start, self.end = (time.fromisoformat(x) for x in p.business_hours.split("-"))
        self.days = {DAYS.index(d) for d in p.business_days}
        self.min_records = p.min_records
        self.once = OncePerWindow(HOUR_MS)

    def business(self, ts_ms: int) -> bool:
        local = datetime.fromtimestamp(ts_ms / 1000, self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def observe(self, event: AccessEvent, user: UserState | None) -> list[Alert]:
        if event.records < self.min_records or self.business(event.ts_ms):
            return []
        start = self.once.first(event.actor, event.ts_ms)
        if start is None:
            return []
        local = datetime.fromtimestamp(event.ts_ms / 1000, self.zone)
        return [self.alert(event.actor, _role(user), event.action, start, start + HOUR_MS,
                           event.records, self.min_records,
                           f"at {local:%a %H:%M} {local.tzname()}")]

    def advance(self, watermark_ms: int) -> list[Alert]:
        self.once.forget_before(watermark_ms - 2 * HOUR_MS - self.lateness_ms)
        return []


class SpecialParams(DetectorParams):
    actions: list[str] | None = Field(default_factory=lambda: ["export", "report"])
    classifications: list[str] = Field(default_factory=lambda: ["special"])


@register
class SpecialCategoryExport(Detector):
    """Exports that touch special categories of personal data (Art. 9 GDPR)."""

    kind = "special_category"
    params_model = SpecialParams

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        p: SpecialParams = self.params  # type: ignore[assignment]
        self.classes = frozenset(p.classifications)
        self.once = OncePerWindow(HOUR_MS)

    def observe(self, event: AccessEvent, user: UserState | None) -> list[Alert]:
        if event.classification not in self.classes:
            return []
        start = self.once.first(event.actor, event.ts_ms)
        if start is None:
            return []
        return [self.alert(event.actor, _role(user), event.action, start, start + HOUR_MS,
                           event.records, 0, f"classification {event.classification}")]

    def advance(self, watermark_ms: int) -> list[Alert]:
        self.once.forget_before(watermark_ms - 2 * HOUR_MS - self.lateness_ms)
        return []
