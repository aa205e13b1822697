"""Debezium's default encodings of PostgreSQL types, both ways.

DATE → days since the epoch (``io.debezium.time.Date``); TIMESTAMP → microseconds since the
epoch (``io.debezium.time.MicroTimestamp``); NUMERIC → ``org.apache.kafka.connect.data.Decimal``,
the base64 of the big-endian two's-complement unscaled value with the scale in the schema.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

EPOCH_DATE = date(1970, 1, 1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def days_to_date(days: int) -> date:
    return EPOCH_DATE + timedelta(days=days)


def date_to_days(value: date) -> int:
    return (value - EPOCH_DATE).days


def micros_to_datetime(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def datetime_to_micros(value: datetime) -> int:
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def decode_decimal(encoded: str, scale: int) -> Decimal:
    """base64 big-endian two's complement unscaled value → Decimal."""
    raw = base64.b64decode(encoded, validate=True)
    return Decimal(int.from_bytes(raw, "big", signed=True)).scaleb(-scale)


def encode_decimal(value: Decimal, scale: int) -> str:
    unscaled = int(value.scaleb(scale).to_integral_value())
    length = max(1, (unscaled.bit_length() + 8) // 8)
    return base64.b64encode(unscaled.to_bytes(length, "big", signed=True)).decode()
