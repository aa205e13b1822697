"""The Confluent wire format: magic byte 0 + 4-byte schema id (or magic 1 + 16-byte GUID) in
front of the Avro body, or the id in a ``__key_schema_id``/``__value_schema_id`` header.

JSON never starts with byte 0 or 1, so the format is told per message and JSON and Avro
topics can be mixed in one run.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from confluent_kafka.schema_registry.common.serde import SchemaId

from processor.errors import PoisonEvent
from processor.formats.headers import KEY_ID_HEADER, VALUE_ID_HEADER

HEADER_FOR = {"key": KEY_ID_HEADER, "value": VALUE_ID_HEADER}
MIN_PREFIXED = 5  # magic byte + 4-byte id
_PREFIX = struct.Struct(">bI")


@dataclass(frozen=True, slots=True)
class SchemaRef:
    """A writer schema: by numeric id, or by GUID (the newer header-carried ids)."""

    id: int | None
    guid: str | None = None


def id_header(headers: list[tuple[str, bytes | str | None]] | None, field: str) -> bytes | None:
    name = HEADER_FOR[field]
    for header, value in headers or ():
        if header == name:
            return value.encode() if isinstance(value, str) else value
    return None


def is_avro(data: bytes, header: bytes | None) -> bool:
    return header is not None or (len(data) > 0 and data[0] in (0, 1))


def split(data: bytes, header: bytes | None, field: str) -> tuple[SchemaRef, bytes]:
    """The schema reference and the Avro body; PoisonEvent for a frame that cannot be one."""
    schema_id = SchemaId("AVRO")
    try:
        if header is not None:
            _read_id(schema_id, header)
            body = data
        else:
            if len(data) < MIN_PREFIXED:
                raise PoisonEvent("avro_truncated",
                                  f"{field}: {len(data)} bytes, shorter than the 5-byte prefix")
            body = data[_read_id(schema_id, data):]
    except PoisonEvent:
        raise
    except Exception:
        raise PoisonEvent("avro_bad_frame", f"{field}: unreadable schema id") from None
    guid = str(schema_id.guid) if schema_id.guid is not None else None
    return SchemaRef(schema_id.id, guid), body


def _read_id(schema_id: SchemaId, data: bytes) -> int:
    """Fill ``schema_id`` from ``data``; the number of bytes the id took."""
    import io

    buf = io.BytesIO(data)
    schema_id.from_bytes(buf)
    if (schema_id.id is None and schema_id.guid is None) or buf.tell() > len(data):
        raise PoisonEvent("avro_bad_frame", "schema id cut short")
    return buf.tell()


def frame(schema_id: int, body: bytes) -> bytes:
    return _PREFIX.pack(0, schema_id) + body
