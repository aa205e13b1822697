"""off_hours_export: bulk exports outside business hours, in the business's time zone."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from processor.anomaly.alerts import Alert
from processor.anomaly.base import (
    DetectorParams,
    OncePerHour,
    register,
)
from processor.anomaly.events import AccessEvent, UserState

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
class OffHoursExport(OncePerHour[OffHoursParams]):
    """Bulk exports outside business hours, in the business's own time zone (DST-aware)."""

    kind = "off_hours_export"
    params_model = OffHoursParams

    def setup(self) -> None:
        super().setup()
        p = self.params
        self.zone = ZoneInfo(p.timezone)
        self.start, self.end = (time.fromisoformat(x) for x in p.business_hours.split("-"))
        self.days = {DAYS.index(d) for d in p.business_days}
        self.min_records = p.min_records

    def business(self, ts_ms: int) -> bool:
        local = datetime.fromtimestamp(ts_ms / 1000, self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def observe(self, event: AccessEvent, user: UserState | None) -> list[Alert]:
        if event.records < self.min_records or self.business(event.ts_ms):
            return []
        local = datetime.fromtimestamp(event.ts_ms / 1000, self.zone)
        return self.alert_once(event, user, self.min_records,
                               f"at {local:%a %H:%M} {local.tzname()}")
