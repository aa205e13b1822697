"""The detector contract and registry: one small class per detector, parameters checked once."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import timedelta
from typing import ClassVar, Generic, TypeVar

from processor.anomaly.alerts import Alert
from processor.anomaly.events import AccessEvent, UserState
from processor.models import Strict
from processor.registry import Registry


class DetectorParams(Strict):
    #: only these actions count (None: all)
    actions: list[str] | None = None


HOUR_MS = 3_600_000
P = TypeVar("P", bound=DetectorParams)


def ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


def role_of(user: UserState | None) -> str:
    return user.role if user is not None else "unknown"


class Detector(ABC, Generic[P]):
    """A detector with its parameters of type ``P`` (its ``params_model``)."""

    kind: ClassVar[str]
    params_model: ClassVar[type[DetectorParams]] = DetectorParams
    #: counts events into event-time windows that the watermark closes: an event later than
    #: ``allowed_lateness`` has no open window left and is not counted (it is in a metric);
    #: the other detectors judge each event on its own, late ones too
    windowed: ClassVar[bool] = False
    #: judges accesses by the users table's rows: `anomaly.users` must map it
    needs_users: ClassVar[bool] = False

    def __init__(self, name: str, severity: str, params: P, lateness: timedelta) -> None:
        self.name = name
        self.severity = severity
        self.params = params
        self.lateness_ms = int(lateness.total_seconds() * 1000)
        self._actions = frozenset(params.actions) if params.actions else None
        self.setup()

    def setup(self) -> None:
        """The detector's own state, from ``self.params`` (called once, at construction)."""

    def counts(self, action: str) -> bool:
        return self._actions is None or action in self._actions

    def alert(self, actor: str, role: str, action: str, start_ms: int, end_ms: int,
              observed: float, threshold: float, detail: str = "") -> Alert:
        return Alert(self.name, self.kind, self.severity, actor, role, action, start_ms, end_ms,
                     observed, threshold, detail)

    @abstractmethod
    def observe(self, event: AccessEvent, user: UserState | None) -> list[Alert]:
        """Alerts that this on-time event raises now. The engine passes only events whose
        action the detector counts (``counts``): ``observe`` need not check again."""

    def user_changed(self, user: UserState) -> list[Alert]:
        """Alerts that a users-table change raises (e.g. a deactivation arriving late)."""
        return []

    def advance(self, watermark_ms: int) -> list[Alert]:
        """Close what the event-time watermark has passed; alerts due at close."""
        return []


class OncePerWindow:
    """Which (actor, window) already raised an alert, so that a detector alerts once per
    actor and window, and the same window after a replay gets the same alert id."""

    def __init__(self, size_ms: int) -> None:
        self.size_ms = size_ms
        self._seen: set[tuple[str, int]] = set()

    def first(self, actor: str, ts_ms: int) -> int | None:
        """The window's start when this is the first alert of ``actor`` in it, else None."""
        start = ts_ms - ts_ms % self.size_ms
        if (actor, start) in self._seen:
            return None
        self._seen.add((actor, start))
        return start

    def forget_before(self, horizon_ms: int) -> None:
        self._seen = {k for k in self._seen if k[1] >= horizon_ms}


class OncePerHour(Detector[P]):
    """A detector that judges each event on its own and alerts an actor once per hour."""

    def setup(self) -> None:
        self.once = OncePerWindow(HOUR_MS)

    def alert_once(self, event: AccessEvent, user: UserState | None, threshold: float,
                   detail: str) -> list[Alert]:
        """The alert for ``event``, unless its actor had one this hour."""
        start = self.once.first(event.actor, event.ts_ms)
        if start is None:
            return []
        return [self.alert(event.actor, role_of(user), event.action, start, start + HOUR_MS,
                           event.records, threshold, detail)]

    def advance(self, watermark_ms: int) -> list[Alert]:
        self.once.forget_before(watermark_ms - 2 * HOUR_MS - self.lateness_ms)
        return []


DETECTORS: Registry[type[Detector]] = Registry(
    "detector", lambda cls: cls.kind, ["processor.anomaly.detectors.*"])

register = DETECTORS.register
detector_kinds = DETECTORS.names
detector_class = DETECTORS.get
param_errors = DETECTORS.param_errors


def window_starts(ts_ms: int, size_ms: int, hop_ms: int) -> list[int]:
    """Starts of the hopping windows [start, start + size) that contain ``ts_ms``."""
    last = ts_ms - ts_ms % hop_ms
    starts = []
    start = last
    while start > ts_ms - size_ms:
        starts.append(start)
        start -= hop_ms
    return starts
