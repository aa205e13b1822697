"""Debezium's encodings of dates, times and decimals, decoded for BI tools (the ``bi`` format).

A dashboard should not have to know that ``3287`` is a date or ``"AYag"`` a decimal. Each
logical type that Debezium's PostgreSQL connector writes maps to a decoder here:

- dates → ``"1979-01-01"``; timestamps (UTC, as Debezium writes them) →
  ``"2026-05-05T10:11:12.123456Z"`` with the digits of the source's precision (3 for
  milliseconds, 6 for microseconds, 9 for nanoseconds); times of day → ``"10:11:12.123456"``;
- decimals (``Decimal`` with its scale, ``VariableScaleDecimal``) → an exact decimal *string*
  (``"1234.50"``): a JSON number would pass through float64 in most BI tools and lose digits;
- everything else (``ZonedTimestamp``, already ISO text; ids, booleans, numbers) as it is.

A value that does not fit its type (a masked value of another kind) is left as it is.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from processor.formats.debezium_types import days_to_date
from processor.formats.logical_types import LogicalType

Decoder = Callable[[Any], Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _date(days: Any) -> Any:
    if type(days) is not int:
        return days
    try:
        return days_to_date(days).isoformat()
    except OverflowError:  # beyond year 9999 (PostgreSQL's infinity): as Debezium sent it
        return days


def _timestamp(per_second: int, digits: int) -> Decoder:
    def decode(value: Any) -> Any:
        if type(value) is not int:
            return value
        seconds, fraction = divmod(value, per_second)
        try:
            moment = _EPOCH + timedelta(seconds=seconds)
        except OverflowError:  # -infinity/infinity sentinels: as Debezium sent them
            return value
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:0{digits}d}Z"
    return decode


def _time(per_second: int, digits: int) -> Decoder:
    def decode(value: Any) -> Any:
        if type(value) is not int or not 0 <= value <= 86_400 * per_second:
            return value
        seconds, fraction = divmod(value, per_second)
        hours, rest = divmod(seconds, 3600)
        return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.{fraction:0{digits}d}"
    return decode


def _unscaled(encoded: Any) -> int | None:
    if not isinstance(encoded, str):
        return None
    try:
        return int.from_bytes(base64.b64decode(encoded, validate=True), "big", signed=True)
    except ValueError:
        return None


def _decimal(scale: int) -> Decoder:
    def decode(value: Any) -> Any:
        unscaled = _unscaled(value)
        return value if unscaled is None else str(Decimal(unscaled).scaleb(-scale))
    return decode


def _variable_scale(value: Any) -> Any:
    if not isinstance(value, dict) or type(value.get("scale")) is not int:
        return value
    unscaled = _unscaled(value.get("value"))
    return value if unscaled is None else str(Decimal(unscaled).scaleb(-value["scale"]))


_FIXED: dict[str, Decoder] = {
    "io.debezium.time.Date": _date,
    "org.apache.kafka.connect.data.Date": _date,
    "io.debezium.time.Timestamp": _timestamp(1000, 3),
    "org.apache.kafka.connect.data.Timestamp": _timestamp(1000, 3),
    "io.debezium.time.MicroTimestamp": _timestamp(1_000_000, 6),
    "io.debezium.time.NanoTimestamp": _timestamp(1_000_000_000, 9),
    "io.debezium.time.Time": _time(1000, 3),
    "org.apache.kafka.connect.data.Time": _time(1000, 3),
    "io.debezium.time.MicroTime": _time(1_000_000, 6),
    "io.debezium.time.NanoTime": _time(1_000_000_000, 9),
    "io.debezium.data.VariableScaleDecimal": _variable_scale,
}


def decoder_of(logical: LogicalType) -> Decoder | None:
    """How a value of ``logical`` reads in a BI tool; None: as it is."""
    if logical.name == "org.apache.kafka.connect.data.Decimal":
        scale = logical.parameter("scale")
        return _decimal(int(scale)) if scale is not None and scale.lstrip("-").isdigit() else None
    return _FIXED.get(logical.name)


def decode_row(row: dict[str, Any], decoders: dict[str, Decoder]) -> dict[str, Any]:
    """``row`` with each column that has a decoder decoded (a new dict)."""
    if not decoders:
        return row
    return {name: decoders[name](value) if name in decoders and value is not None else value
            for name, value in row.items()}
