"""The key topic on Kafka: read its data-key records, and write tombstones and re-wrapped keys
outside the processor (``erase``, ``keys rotate``)."""

from __future__ import annotations

from collections.abc import Iterator

from processor.datakeys import KeyRecord, WrappedKey
from processor.errors import CrmMaskerError
from processor.kafka_client import deliver
from processor.pipeline.kafka_config import transaction_call_timeout_s
from processor.pipeline.topic_reader import read_messages


def read_key_records(bootstrap: str, topic: str,
                     extra: dict[str, str]) -> Iterator[tuple[str, KeyRecord]]:
    """The committed records of the key topic, oldest first, as (location, record), with
    those of the transactions open at the call once they end (``settle_open``). A worker that
    is assigned a partition must know the keys of the partition's earlier owner, whose last
    transaction committed at the rebalance: read only up to the last stable offset, a key
    whose markers the brokers were still writing would be missed, the subject would get a
    second key under the same id, and the compacted topic would keep one of the two (the
    other's ciphertexts would never open again). A transaction of a killed worker is aborted
    when its successor starts, at the latest after the transaction timeout."""
    wait_s = transaction_call_timeout_s(extra) * 2 + 10
    try:
        for where, msg in read_messages(bootstrap, topic, extra, wait_s, settle_open=True):
            key, value = msg.key(), msg.value()
            if key is None:
                continue
            wrapped = WrappedKey.from_json(where, value) if value is not None else None
            yield where, (key.decode("utf-8", "replace"), wrapped)
    except RuntimeError as exc:
        raise CrmMaskerError(f"{exc}; create it with `crm-masker topics`") from None


def write_key_records(bootstrap: str, topic: str, extra: dict[str, str],
                      records: list[tuple[str, WrappedKey | None]]) -> None:
    """Write key-topic records (None: a tombstone) and wait until the broker has them all."""
    deliver(bootstrap, extra, topic,
            [(key_id.encode(), wrapped.to_json() if wrapped is not None else None)
             for key_id, wrapped in records], "the data key records")
