"""The key topic on Kafka: read its data-key records, and write tombstones and re-wrapped keys
outside the processor (``erase``, ``keys rotate``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from processor.datakeys import DataKeyStore, KeyRecord, WrappedKey
from processor.errors import CrmMaskerError
from processor.kafka_client import deliver
from processor.pipeline.kafka_config import transaction_call_timeout_s
from processor.pipeline.topic_reader import read_messages


def read_key_records(bootstrap: str, topic: str, extra: dict[str, str],
                     settle_open: bool = True, since: dict[int, int] | None = None,
                     wait_s: float | None = None) -> Iterator[tuple[str, KeyRecord]]:
    """The committed records of the key topic, oldest first, as (location, record), with
    those of the transactions open at the call once they end (``settle_open``). A worker that
    is assigned a partition must know the keys of the partition's earlier owner, whose last
    transaction committed at the rebalance: read only up to the last stable offset, a key
    whose markers the brokers were still writing would be missed, the subject would get a
    second key under the same id, and the compacted topic would keep one of the two (the
    other's ciphertexts would never open again). A transaction of a killed worker is aborted
    when its successor starts, at the latest after the transaction timeout. ``since``: read
    on from an earlier read's end (``read_messages``). ``wait_s``: for a broker that is away
    and each open transaction (default: as long as a transaction may stay open)."""
    if wait_s is None:
        wait_s = transaction_call_timeout_s(extra) * 2 + 10
    try:
        for where, msg in read_messages(bootstrap, topic, extra, wait_s, settle_open, since):
            key, value = msg.key(), msg.value()
            if key is None:
                continue
            wrapped = WrappedKey.from_json(where, value) if value is not None else None
            yield where, (key.decode("utf-8", "replace"), wrapped)
    except RuntimeError as exc:
        raise CrmMaskerError(f"{exc}; create it with `crm-masker topics`") from None


class KeyTopicTail:
    """The key topic as a running worker reads it: whole at the first read, then only what was
    written since the last one — the keys of subjects that other workers met, the tombstones
    of `erase` — so that a rebalance does not read every subject's key again, and an erasure
    outside the CRM reaches the running workers (``run --follow-keys-every``).

    Reading on is sound while the tombstones written since the last read are still on the
    topic: compaction drops a tombstone (and the key it shreds) ``delete.retention.ms`` after
    cleaning it. A read more than half that long after the last one is a whole read again."""

    def __init__(self, store: DataKeyStore, bootstrap: str, extra: dict[str, str],
                 stale_after_s: float) -> None:
        self.store, self.topic = store, store.topic
        self.bootstrap, self.extra = bootstrap, extra
        self.stale_after_s = stale_after_s
        self._since: dict[int, int] = {}
        self._read_at: float | None = None

    def update(self, settle_open: bool = True,
               wait_s: float | None = None) -> tuple[bool, int, int]:
        """The store brought up to the topic: replaced by a whole read, or given the records
        written since the last read (``DataKeyStore.follow``). Returns (whole, keys added,
        keys shredded); after a whole read, every key counts as added."""
        whole, records = self.read(settle_open, wait_s)
        if whole:
            self.store.restore(records)
            return True, len(self.store), 0
        added, shredded = self.store.follow(records)
        return False, added, shredded

    def read(self, settle_open: bool = True,
             wait_s: float | None = None) -> tuple[bool, Iterator[tuple[str, KeyRecord]]]:
        """(whole, the records): the whole topic (to replace what a store holds) or the
        records written since the last read (to add to it), oldest first."""
        started = time.monotonic()
        whole = self._read_at is None or started - self._read_at > self.stale_after_s
        return whole, self._records({} if whole else dict(self._since), started, settle_open,
                                    wait_s)

    def forget(self) -> None:
        """The next read is whole: a store that could not take what was read (a key that
        does not unwrap) must not have it skipped for good."""
        self._read_at = None

    def _records(self, since: dict[int, int], started: float, settle_open: bool,
                 wait_s: float | None) -> Iterator[tuple[str, KeyRecord]]:
        """The records from ``since`` on; where they end counts once all are read (a read
        that fails half-way is done again)."""
        yield from read_key_records(self.bootstrap, self.topic, self.extra, settle_open, since,
                                    wait_s)
        self._since, self._read_at = since, started


def write_key_records(bootstrap: str, topic: str, extra: dict[str, str],
                      records: list[tuple[str, WrappedKey | None]]) -> None:
    """Write key-topic records (None: a tombstone) and wait until the broker has them all."""
    deliver(bootstrap, extra, topic,
            [(key_id.encode(), wrapped.to_json() if wrapped is not None else None)
             for key_id, wrapped in records], "the data key records")
