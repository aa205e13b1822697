"""special_category: exports that touch special categories of personal data (Art. 9)."""

from __future__ import annotations

from pydantic import Field

from processor.anomaly.alerts import Alert
from processor.anomaly.base import (
    HOUR_MS,
    Detector,
    DetectorParams,
    OncePerWindow,
    register,
    role_of,
)
from processor.anomaly.events import AccessEvent, UserState


class SpecialParams(DetectorParams):
    actions: list[str] | None = Field(default_factory=lambda: ["export", "report"])
    classifications: list[str] = Field(default_factory=lambda: ["special"])


@register
class SpecialCategoryExport(Detector[SpecialParams]):
    """Exports that touch special categories of personal data (Art. 9 GDPR)."""

    kind = "special_category"
    params_model = SpecialParams

    def setup(self) -> None:
        p = self.params
        self.classes = frozenset(p.classifications)
        self.once = OncePerWindow(HOUR_MS)

    def observe(self, event: AccessEvent, user: UserState | None) -> list[Alert]:
        if event.classification not in self.classes:
            return []
        start = self.once.first(event.actor, event.ts_ms)
        if start is None:
            return []
        return [self.alert(event.actor, role_of(user), event.action, start, start + HOUR_MS,
                           event.records, 0, f"classification {event.classification}")]

    def advance(self, watermark_ms: int) -> list[Alert]:
        self.once.forget_before(watermark_ms - 2 * HOUR_MS - self.lateness_ms)
        return []
