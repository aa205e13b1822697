"""special_category: exports that touch special categories of personal data (Art. 9)."""

from __future__ import annotations

from pydantic import Field

from processor.anomaly.alerts import Alert
from processor.anomaly.base import (
    DetectorParams,
    OncePerHour,
    register,
)
from processor.anomaly.events import AccessEvent, UserState


class SpecialParams(DetectorParams):
    actions: list[str] | None = Field(default_factory=lambda: ["export", "report"])
    classifications: list[str] = Field(default_factory=lambda: ["special"])


@register
class SpecialCategoryExport(OncePerHour[SpecialParams]):
    """Exports that touch special categories of personal data (Art. 9 GDPR)."""

    kind = "special_category"
    params_model = SpecialParams

    def setup(self) -> None:
        super().setup()
        self.classes = frozenset(self.params.classifications)

    def observe(self, event: AccessEvent, user: UserState | None) -> list[Alert]:
        if event.classification not in self.classes:
            return []
        return self.alert_once(event, user, 0, f"classification {event.classification}")
