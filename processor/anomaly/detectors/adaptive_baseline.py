"""adaptive_baseline: an actor's volume far above its own learnt baseline."""

from __future__ import annotations

import math
import statistics
from datetime import timedelta

from pydantic import Field

from processor.anomaly.alerts import Alert
from processor.anomaly.base import (
    Detector,
    DetectorParams,
    ms,
    register,
    role_of,
)
from processor.anomaly.events import AccessEvent, UserState

ABS_DEV_TO_STD = math.sqrt(math.pi / 2)  # mean absolute deviation → standard deviation (normal)


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
class AdaptiveBaseline(Detector[BaselineParams]):
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

    def setup(self) -> None:
        p = self.params
        self.size_ms, self.alpha, self.z = ms(p.window), p.alpha, p.z
        self.warmup, self.min_volume = p.warmup, p.min_volume
        self.open: dict[str, dict[int, int]] = {}  # actor → window start → records
        self.roles: dict[str, str] = {}
        self.history: dict[str, tuple[float, float, int]] = {}  # mean, abs deviation, windows
        self.warming: dict[str, list[float]] = {}

    def observe(self, event: AccessEvent, user: UserState | None) -> list[Alert]:
        start = event.ts_ms - event.ts_ms % self.size_ms
        windows = self.open.setdefault(event.actor, {})
        windows[start] = windows.get(start, 0) + event.records
        self.roles[event.actor] = role_of(user)
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
