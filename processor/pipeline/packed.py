"""Records of the processor's internal topics, packed: many items in one Kafka record.

A transaction forwards about one internal item per input event (an access event or a user row
for the detectors, a fact for the KPIs). As one record each, every item cost a produce call, a
consumed message with its offset bookkeeping, and the broker's work per record: together
about as much as masking the event. Packed, the items of one step for one partition go as one
record, a JSON array of the items in their order. A reader takes either shape, so that the
records written one item each (before packing) are still read on a replay.

Packing must not move an item to another partition: the by-actor items keep the partition
that Kafka's default partitioner gives their actor (``partition_of``), where their records
went before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import orjson

#: the most bytes of items in one record: well under the broker's message.max.bytes (1 MiB)
PACK_BYTES = 256 * 1024
_M, _MASK = 0x5BD1E995, 0xFFFFFFFF


def packed(items: Iterable[bytes], limit: int = PACK_BYTES) -> Iterator[bytes]:
    """The JSON items as records of JSON arrays, in order, each under ``limit`` bytes (an item
    longer than that alone)."""
    chunk: list[bytes] = []
    size = 2
    for item in items:
        if chunk and size + len(item) + 1 > limit:
            yield b"[" + b",".join(chunk) + b"]"
            chunk, size = [], 2
        chunk.append(item)
        size += len(item) + 1
    if chunk:
        yield b"[" + b",".join(chunk) + b"]"


def unpacked(value: bytes | None) -> list[Any]:
    """The items of an internal record: a packed array, or one item as written before packing.
    Raises ``orjson.JSONDecodeError`` for a value that is no JSON."""
    loaded = orjson.loads(value or b"null")
    return loaded if isinstance(loaded, list) else [loaded]


@lru_cache(maxsize=65_536)
def partition_of(key: bytes, partitions: int) -> int:
    """The partition of a non-empty key under Kafka's default partitioner: murmur2 as in
    Java's ``Utils.murmur2``, made positive, modulo the partition count. librdkafka's
    ``murmur2_random``, which the processor's producer is configured with, is the same
    function (the tests compare the two on the broker). Cached: the actors are few."""
    length = len(key)
    h = (0x9747B28C ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(key[i:i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length % 4
    if tail:
        if tail == 3:
            h ^= key[whole + 2] << 16
        if tail >= 2:
            h ^= key[whole + 1] << 8
        h ^= key[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions
