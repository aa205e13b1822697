"""The ``kpis:`` section of a rule set: which aggregates of a view's masked rows are released,
over which event-time windows, with which smallest group."""

from __future__ import annotations

from datetime import timedelta

import isodate
from pydantic import Field, field_validator, model_validator

from processor.i18n import Text
from processor.models import Strict


class Measure(Strict):
    """One measure of a cell besides its subjects and rows: ``{sum: column}`` or
    ``{avg: column}`` of a numeric column of the view's masked row."""

    sum: str | None = None
    avg: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Measure:
        if (self.sum is None) == (self.avg is None):
            raise ValueError("a measure is {sum: column} or {avg: column}")
        return self

    @property
    def column(self) -> str:
        return self.sum or self.avg or ""


def _duration(value: str, zero: bool = False) -> timedelta:
    try:
        parsed = isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError):
        raise ValueError("an ISO-8601 duration such as P1D or PT1H") from None
    if not isinstance(parsed, timedelta) or parsed < timedelta(0) or (
            parsed == timedelta(0) and not zero):
        raise ValueError("a positive duration of days, hours or less (P1D, PT6H)")
    return parsed


class KpiRules(Strict):
    """A released KPI: cells of ``group_by`` values per window, each with the number of
    distinct data subjects (the table's ``subject`` column), rows and ``measures``."""

    #: the topic of the released cells (readable by ``readers``)
    topic: str = Field(min_length=1)
    description: Text = ""
    readers: list[str] = Field(default_factory=list)
    #: the view whose masked rows are aggregated (its masking applies: group by masked or
    #: generalised columns only)
    view: str
    table: str
    group_by: list[str] = Field(default_factory=list)
    #: the event-time column (a date or timestamp whose rule declares its encoding)
    time: str
    #: window length; ``advance`` shorter than it makes hopping windows
    window: timedelta
    advance: timedelta | None = None
    #: how long after a window's end its cells wait for late rows before they are released
    allowed_lateness: timedelta = timedelta(hours=1)
    #: k: a cell with fewer distinct data subjects is suppressed
    min_group_size: int = Field(ge=2)
    measures: dict[str, Measure] = Field(default_factory=dict)
    #: also release each window's total (cells suppressed so that none can be computed back)
    total: bool = True

    @field_validator("window", "advance", mode="before")
    @classmethod
    def _iso(cls, value: object) -> object:
        return _duration(value) if isinstance(value, str) else value

    @field_validator("allowed_lateness", mode="before")
    @classmethod
    def _iso_or_zero(cls, value: object) -> object:
        return _duration(value, zero=True) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _advance_divides(self) -> KpiRules:
        if self.advance is not None and (self.advance > self.window or
                                         self.window % self.advance):
            raise ValueError("advance must divide the window (P1D windows advancing PT6H)")
        if self.window > timedelta(days=366):
            raise ValueError("a window of a year at most")
        return self

    @property
    def window_ms(self) -> int:
        return int(self.window.total_seconds() * 1000)

    @property
    def advance_ms(self) -> int:
        return int((self.advance or self.window).total_seconds() * 1000)

    @property
    def lateness_ms(self) -> int:
        return int(self.allowed_lateness.total_seconds() * 1000)


class KpiSettings(Strict):
    """Where the KPI facts meet: one internal partition, so that every cell of a window and
    its total are computed together, in one order that a restart replays."""

    facts_topic: str = "crm.internal.kpi-facts"
    #: long enough for a replay to rebuild every window still open
    facts_retention: timedelta = timedelta(days=14)

    @field_validator("facts_retention", mode="before")
    @classmethod
    def _iso(cls, value: object) -> object:
        return _duration(value) if isinstance(value, str) else value
