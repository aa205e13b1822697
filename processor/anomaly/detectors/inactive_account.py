"""inactive_account: any access by an account that is inactive or unknown at the time."""

from __future__ import annotations

from collections import deque
from datetime import timedelta

from processor.anomaly.alerts import Alert
from processor.anomaly.base import (
    Detector,
    DetectorParams,
    OncePerWindow,
    ms,
    register,
    role_of,
)
from processor.anomaly.events import AccessEvent, UserState


class InactiveParams(DetectorParams):
    #: how long an access waits for its user's row (CDC order is not guaranteed)
    grace: timedelta = timedelta(minutes=10)
    #: one alert per actor per window
    window: timedelta = timedelta(hours=1)


@register
class InactiveAccount(Detector[InactiveParams]):
    """Any access by a user whose row is inactive (at the access time) or unknown."""

    kind = "inactive_account"
    needs_users = True
    params_model = InactiveParams

    def setup(self) -> None:
        p = self.params
        self.grace_ms, self.size_ms = ms(p.grace), ms(p.window)
        self.recent: deque[AccessEvent] = deque()  # accesses still within the grace period
        self.recent_by_actor: dict[str, deque[AccessEvent]] = {}
        self.users: dict[str, UserState] = {}
        self.once = OncePerWindow(self.size_ms)

    def _fire(self, event: AccessEvent, user: UserState | None, why: str) -> list[Alert]:
        start = self.once.first(event.actor, event.ts_ms)
        if start is None:
            return []
        return [self.alert(event.actor, role_of(user), event.action, start, start + self.size_ms,
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
