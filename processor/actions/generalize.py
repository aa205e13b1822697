"""generalize: coarsen dates, timestamps and numbers; the output keeps the input's encoding.

A Debezium date (days since the epoch) generalised to ``year`` is still days since the epoch,
now of 1 January of that year, so BI tools and derived schemas see the same type.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, model_validator

from processor.actions.base import Action, ActionParams
from processor.actions.registry import register
from processor.formats import debezium_types as dbz
from processor.formats import postgres_types as pt
from processor.formats.logical_types import LogicalType, of_encoding
from processor.i18n import Localized

Level = Literal["year", "month", "day", "hour", "bucket"]
#: the time levels as the German record names them ("vergröbert auf Jahr")
LEVELS = {"year": "Jahr", "month": "Monat", "day": "Tag", "hour": "Stunde"}
Encoding = Literal[
    "date", "micro_timestamp", "milli_timestamp", "iso_date", "iso_timestamp", "number", "decimal"
]
UNIT_MICROS = {"day": 86_400_000_000, "hour": 3_600_000_000}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: how Debezium writes PostgreSQL's -infinity and infinity timestamps: they say nothing about
#: a person, and BI tools know them, so they are published as they came
INFINITY_SENTINELS = frozenset({INT64_MIN, INT64_MAX})
#: the native core's names for the integer date/time encodings
NATIVE_TIME_KINDS = {"date": "days", "micro_timestamp": "micros", "milli_timestamp": "millis"}
#: timestamps that must be of another unit than the rule declares, as (near the epoch, far):
#: a millisecond timestamp read as microseconds lands within 115 days of 1970 (|v| < 10^13,
#: not 0), a microsecond one read as milliseconds beyond the year 5000 (> 10^14); Debezium
#: sends milliseconds for timestamp(0..3) columns and under time.precision.mode=connect.
#: Such a value is a dead letter that names the column, never a date decades off.
IMPLAUSIBLE = {"micro_timestamp": (10**13, 10**17), "milli_timestamp": (10**10, 10**14)}
DATE_ENCODINGS = {"date", "micro_timestamp", "milli_timestamp", "iso_date", "iso_timestamp"}
#: the encoding that a source schema's logical type implies (Debezium's PostgreSQL mappings)
ENCODING_OF_TYPE: dict[str, Encoding] = {
    "io.debezium.time.Date": "date", "org.apache.kafka.connect.data.Date": "date",
    "io.debezium.time.Timestamp": "milli_timestamp",
    "org.apache.kafka.connect.data.Timestamp": "milli_timestamp",
    "io.debezium.time.MicroTimestamp": "micro_timestamp",
    "io.debezium.time.ZonedTimestamp": "iso_timestamp",
    "org.apache.kafka.connect.data.Decimal": "decimal",
}


class GeneralizeParams(ActionParams):
    to: Level
    #: how the value is encoded (Debezium's defaults: date = days since epoch)
    encoding: Encoding = "date"
    #: bucket width for ``to: bucket``
    size: float | None = Field(None, gt=0)
    #: decimal scale for ``encoding: decimal`` (NUMERIC(12,2) → 2)
    scale: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> GeneralizeParams:
        if self.to == "bucket":
            if self.encoding not in ("number", "decimal"):
                raise ValueError("to: bucket needs encoding: number or decimal")
            if self.size is None:
                raise ValueError("to: bucket needs size (the bucket width)")
        elif self.encoding not in DATE_ENCODINGS:
            raise ValueError(f"to: {self.to} needs a date or timestamp encoding")
        if self.to == "hour" and self.encoding in ("date", "iso_date"):
            raise ValueError("a date has no hour")
        if self.encoding == "decimal" and self.scale is None:
            raise ValueError("encoding: decimal needs scale (digits after the decimal point)")
        return self


def _truncate(value: datetime, level: str) -> datetime:
    if level == "year":
        return value.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if level == "month":
        return value.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if level == "day":
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    return value.replace(minute=0, second=0, microsecond=0)


def _date_fn(level: str) -> Callable[[date], date]:
    if level == "year":
        return lambda d: d.replace(month=1, day=1)
    if level == "month":
        return lambda d: d.replace(day=1)
    return lambda d: d


@register
class Generalize(Action):
    name = "generalize"
    output_type = None
    params_model = GeneralizeParams
    reveals = "part"

    def __init__(self, params: GeneralizeParams, ctx: Any) -> None:
        super().__init__(params, ctx)
        self._fn = self._build(params)
        self._level, self._size = params.to, params.size
        #: integer timestamps: (near the epoch, far) bounds of their unit, else None
        self._implausible = IMPLAUSIBLE.get(params.encoding)

    def declared_type(self) -> LogicalType | None:
        return of_encoding(self.params.encoding, self.params.scale)  # type: ignore[attr-defined]

    @staticmethod
    def _build(p: GeneralizeParams) -> Callable[[Any], Any]:
        level = p.to
        if p.encoding == "date":
            coarsen = _date_fn(level)
            cache: dict[int, int] = {}  # birth dates repeat: ~40,000 distinct days in a century

            def generalize_days(v: Any) -> int:
                days = int(v)
                found = cache.get(days)
                if found is None:
                    if len(cache) >= 65_536:
                        cache.clear()
                    found = cache[days] = dbz.date_to_days(coarsen(dbz.days_to_date(days)))
                return found

            return generalize_days
        if p.encoding == "iso_date":
            coarsen = _date_fn(level)
            return lambda v: coarsen(date.fromisoformat(v)).isoformat()
        if p.encoding == "micro_timestamp":
            if level in UNIT_MICROS:  # days and hours are plain integer arithmetic (UTC)
                unit = UNIT_MICROS[level]
                return lambda v: v - v % unit if type(v) is int else int(v) - int(v) % unit
            return lambda v: dbz.datetime_to_micros(_truncate(dbz.micros_to_datetime(int(v)), level))
        if p.encoding == "milli_timestamp":
            return lambda v: dbz.datetime_to_micros(
                _truncate(dbz.micros_to_datetime(int(v) * 1000), level)) // 1000
        if p.encoding == "iso_timestamp":
            return lambda v: _truncate(datetime.fromisoformat(v), level).isoformat()
        size = p.size or 1.0
        integral = float(size).is_integer()

        def bucket(v: Any) -> Any:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise TypeError("not a finite number")
            low = math.floor(v / size) * size
            return int(low) if integral and isinstance(v, int) else low

        if p.encoding == "number":
            return bucket
        scale = p.scale or 0
        width = Decimal(str(size))

        def floor(value: Decimal) -> Decimal:
            return (value / width).to_integral_value(rounding="ROUND_FLOOR") * width

        def bucket_decimal(v: Any) -> Any:
            """Debezium's three ``decimal.handling.mode``s, each written back as it came:
            precise (base64, the default), string ("1234.56": base64 has no dot) and
            double (a JSON number)."""
            if isinstance(v, str) and "." in v:
                return str(floor(Decimal(v)).quantize(Decimal(1).scaleb(-scale)))
            if isinstance(v, int | float) and not isinstance(v, bool):
                return bucket(v)
            return dbz.encode_decimal(floor(dbz.decode_decimal(v, scale)), scale)

        return bucket_decimal

    def apply(self, value: Any) -> Any:
        if value is None:
            return None
        if self._implausible is not None and type(value) is int:
            if value in INFINITY_SENTINELS:
                return value
            if value and not self._implausible[0] <= abs(value) <= self._implausible[1]:
                raise ValueError("a timestamp of another unit than the rule's encoding")
        out = self._fn(value)
        if type(out) is int and not INT64_MIN <= out <= INT64_MAX:
            raise ValueError("the generalised value is beyond 64 bits")
        return out

    def source_problem(self, column: pt.SourceColumn, typed: bool) -> str | None:
        """The rule's encoding against what Debezium sends: a date or timestamp of the same
        unit, a number, a decimal of the same scale. Where the events name their types
        (``typed``), the unit and the scale follow the schema and need not agree."""
        p = self.params
        assert isinstance(p, GeneralizeParams)
        kind = column.kind
        times = {pt.DATE, pt.MICRO_TS, pt.MILLI_TS, pt.ZONED_TS}
        if p.encoding in DATE_ENCODINGS:
            if kind == p.encoding or (typed and kind in times and p.encoding in times
                                      and (kind == pt.DATE) == (p.encoding == pt.DATE)):
                return None
            if kind in times:
                return (f"Debezium sends {column.pg_type} as {kind}, the rule reads "
                        f"{p.encoding}: use encoding: {kind}")
            return f"generalize to: {p.to} reads dates and timestamps; Debezium sends {kind}"
        if p.encoding == "number" and kind in (pt.INTEGER, pt.FLOAT):
            return None
        if p.encoding == "decimal":
            if kind in (pt.DECIMAL_STRING, pt.FLOAT, pt.INTEGER):
                return None
            if kind == pt.DECIMAL:
                if typed or column.scale == p.scale:
                    return None
                return f"{column.pg_type} has scale {column.scale}: use scale: {column.scale}"
        if kind == pt.DECIMAL:
            return f"Debezium sends {column.pg_type} as decimal bytes: use encoding: decimal, " \
                   f"scale: {column.scale}"
        return (f"generalize to: bucket reads numbers; Debezium sends {kind} for "
                f"{column.pg_type}")

    def for_logical_type(self, logical: LogicalType) -> Generalize | None:
        """The schema's encoding where it differs from the rule's (a column altered to
        ``timestamp(0)`` sends milliseconds; a decimal's scale changed); None where the schema
        agrees, or implies an encoding that this rule cannot take (then values are checked
        against the rule's encoding as without a schema)."""
        p = self.params
        assert isinstance(p, GeneralizeParams)
        encoding = ENCODING_OF_TYPE.get(logical.name)
        if encoding is None:
            return None
        scale_text = logical.parameter("scale") if encoding == "decimal" else None
        # an ASCII number only: str.isdigit() also takes "²", which int() refuses
        scale = (int(scale_text) if scale_text and scale_text.isascii() and scale_text.isdigit()
                 else p.scale)
        if encoding == p.encoding and scale == p.scale:
            return None
        try:
            params = GeneralizeParams.model_validate(
                {**p.model_dump(), "encoding": encoding, "scale": scale})
        except ValueError:
            return None
        return Generalize(params, self.ctx)

    def native_spec(self) -> dict[str, Any] | None:
        p = self.params
        assert isinstance(p, GeneralizeParams)
        if p.encoding in NATIVE_TIME_KINDS:
            spec: dict[str, Any] = {"kind": NATIVE_TIME_KINDS[p.encoding], "level": p.to}
            if p.encoding in IMPLAUSIBLE:
                spec["implausible"] = IMPLAUSIBLE[p.encoding]
            return spec
        if p.encoding == "number":
            return {"kind": "bucket_number", "size": float(p.size or 1.0),
                    "integral": float(p.size or 1.0).is_integer()}
        if p.encoding == "decimal":
            # the bucket width in units of the last decimal place, when that is a whole number
            width = Decimal(str(p.size or 1.0)).scaleb(p.scale or 0)
            if width == width.to_integral_value() and 0 < width < 10**8:
                return {"kind": "bucket_decimal", "width_unscaled": int(width)}
        return None  # ISO strings: Python's date parsing decides

    def measure(self) -> Localized:
        if self._level == "bucket":
            return Localized(f"generalised to classes of width {self._size:g}",
                             f"vergröbert auf Klassen der Breite {self._size:g}")
        return Localized(f"generalised to the {self._level}", f"vergröbert auf {LEVELS[self._level]}")
