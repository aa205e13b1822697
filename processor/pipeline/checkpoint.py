"""One Kafka transaction: what was consumed, what was produced, committed or aborted together.

Outputs, DLQ records and the consumer offsets go into the same transaction
(``send_offsets_to_transaction``), so a read_committed reader sees each input's outputs exactly
once, whatever moment the process dies at.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from processor.datakeys import DataKeyStore
from processor.formats.headers import Header
from processor.masking.native import ReadyRecord
from processor.observability import metrics
from processor.pipeline.audit_trail import AuditTrail
from processor.pipeline.facts import TransactionFacts
from processor.pipeline.topic_reader import committed

log = logging.getLogger(__name__)
ABORT_ATTEMPT_S = 2.0  # one abort_transaction call; retried up to three times timeout_s


#: errors that mean a newer instance with the same transactional (or group instance) id runs
FENCING = frozenset({KafkaError._FENCED, KafkaError.PRODUCER_FENCED,
                     KafkaError.INVALID_PRODUCER_EPOCH, KafkaError.FENCED_INSTANCE_ID})


class FatalKafkaError(Exception):
    """The producer cannot go on (fenced by a newer instance, or an unclassified error)."""

    def __init__(self, message: str, fenced: bool = False) -> None:
        super().__init__(message)
        self.fenced = fenced

    @classmethod
    def of(cls, what: str, err: KafkaError) -> FatalKafkaError:
        """``what`` failed with ``err``; librdkafka wraps a fenced consumer in _FATAL."""
        fenced = err.code() in FENCING or (err.code() == KafkaError._FATAL
                                           and "fenced" in err.str().lower())
        return cls(f"{what}: {err.name()}: {err.str()}", fenced)


class Watchdog:
    """Ends the process when a transactional call hangs: librdkafka's
    send_offsets_to_transaction can wait for ever for a group coordinator that restarted
    (librdkafka#5456, #5511). Nothing in the process can free the call (nor close the
    producer that it holds); a restarted instance fences the open transaction and goes on
    from the committed offsets. The call stays on the calling thread (librdkafka may call
    back into Python from it); only the clock runs on a thread of its own."""

    def __init__(self) -> None:
        self.deadline = 0.0
        self.what = ""
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Watchdog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.deadline = 0.0

    def watch(self, what: str, limit_s: float) -> Watchdog:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="transaction-watchdog",
                                            daemon=True)
            self._thread.start()
        self.what, self.deadline = what, time.monotonic() + limit_s
        return self

    def _run(self) -> None:
        while True:
            time.sleep(0.5)
            if self.deadline and time.monotonic() > self.deadline:
                logging.getLogger("crm_masker").error(
                    "stopping at once: the transaction's %s did not return within the "
                    "transaction timeout (librdkafka#5456: send_offsets_to_transaction, after a "
                    "group coordinator restart); a restart goes on from the committed offsets",
                    self.what)
                logging.shutdown()
                os._exit(3)


class TransactionAborted(Exception):
    """The transaction was aborted; the caller must rewind to the committed offsets."""


def _kafka_error(exc: KafkaException) -> KafkaError:
    return exc.args[0]


def flush_metrics(facts: TransactionFacts) -> None:
    """Add a committed transaction's counts to the Prometheus metrics. Only at commit: an
    aborted batch is redone and would otherwise be counted twice."""
    for counter, metric in ((facts.consumed, metrics.EVENTS_CONSUMED),
                            (facts.published, metrics.EVENTS_PUBLISHED),
                            (facts.dlq, metrics.DLQ_EVENTS),
                            (facts.unknown_fields, metrics.UNKNOWN_FIELDS),
                            (facts.fields_masked, metrics.FIELDS_MASKED)):
        for label, count in counter.items():
            metric.labels(label).inc(count)
    for (table, reason), count in facts.skipped.items():
        metrics.EVENTS_SKIPPED.labels(table, reason).inc(count)
    for table, count in facts.leak_rows.items():
        metrics.LEAK_WATCH_ROWS.labels(table).inc(count)
    for (table, column, kind), count in facts.pii_suspected.items():
        metrics.PII_SUSPECTED.labels(table, column, kind).inc(count)
    for (detector, severity), count in facts.anomalies.items():
        metrics.ANOMALIES.labels(detector, severity).inc(count)
    for (role, action), count in facts.access_records.items():
        metrics.ACCESS_RECORDS.labels(role, action).inc(count)
    for detector, count in facts.late_missed.items():
        metrics.ANOMALY_LATE_EVENTS.labels(detector).inc(count)
        log.warning("%d access event(s) came later than allowed_lateness: detector %s could "
                    "not count them (its windows had closed)", count, detector)


class Checkpoint:
    """The life cycle of one transaction: begin on first output, add, commit or abort."""

    def __init__(self, producer: Producer, consumer: Consumer, audit: AuditTrail | None = None,
                 timeout_s: float = 30.0, data_keys: DataKeyStore | None = None) -> None:
        self.producer = producer
        self.consumer = consumer
        self.audit = audit
        #: data keys made or shredded in the transaction go to the key topic in it
        self.data_keys = data_keys
        self.timeout_s = timeout_s
        self.open = False
        self.started = 0.0
        self.consumed = 0
        self.offsets: dict[tuple[str, int], int] = {}  # next offset to read, per partition
        self.source_ts_ms: list[int] = []
        #: records of the processor's own internal topics consumed (not inputs)
        self.internal = 0
        #: called at commit, before the offsets: the last records of the transaction
        self.before_commit: Callable[[], None] | None = None
        self.facts = TransactionFacts()
        self.watchdog = Watchdog()

    def begin(self) -> None:
        if not self.open:
            self.producer.begin_transaction()
            self.open = True
            self.started = time.monotonic()
            self.consumed = self.internal = 0

    def consumed_record(self, topic: str, partition: int, offset: int, ts_ms: int | None) -> None:
        self.consumed_span(topic, partition, 1, offset, offset)
        if ts_ms is not None:
            self.source_ts_ms.append(ts_ms)

    def consumed_span(self, topic: str, partition: int, records: int, first: int,
                      last: int) -> None:
        """``records`` input records of a partition handled, offsets ``first`` to ``last``."""
        self.offsets[(topic, partition)] = last + 1
        self.facts.consumed[topic] += records
        self.facts.consumed_offset(topic, partition, first)
        if last != first:
            self.facts.consumed_offset(topic, partition, last)
        self.consumed += records

    def consumed_internal(self, topic: str, partition: int, offset: int) -> None:
        """A record of an internal topic (by-actor) handled: its offset is committed with the
        transaction, and the audit record shows its range, but it is no input."""
        self.offsets[(topic, partition)] = offset + 1
        self.facts.consumed_offset(topic, partition, offset)
        self.internal += 1

    def produce(self, topic: str, key: bytes | None, value: bytes | None,
                headers: list[Header], partition: int = -1) -> None:
        """Into the open transaction; ``partition`` -1: the partitioner's choice by key."""
        while True:
            try:
                self.producer.produce(topic, value=value, key=key, headers=headers,
                                      partition=partition)
                return
            except BufferError:  # local queue full: let librdkafka deliver, then retry
                self.producer.poll(0.05)

    def produce_all(self, records: list[ReadyRecord]) -> None:
        """Records ready for the producer (a segment of the native core), in order, into the
        open transaction: the hot path, one call per record while the local queue has room."""
        produce = self.producer.produce
        for topic, key, value, headers in records:
            try:
                produce(topic, value, key, headers=headers)
            except BufferError:  # the local queue is full: the slow path waits and retries
                self.produce(topic, key, value, headers)

    def age_s(self) -> float:
        return time.monotonic() - self.started if self.open else 0.0

    def commit(self) -> int | None:
        """Send offsets and commit. Retriable errors are retried; abortable ones abort.

        Returns the number of input records committed (None: no transaction was open);
        raises TransactionAborted after an abort and FatalKafkaError when the producer is
        unusable.
        """
        if not self.open:
            return None
        if self.before_commit is not None:
            self.before_commit()
        positions = [TopicPartition(t, p, o) for (t, p), o in self.offsets.items()]
        if self.data_keys is not None:
            for key, value in self.data_keys.pending():
                self.produce(self.data_keys.topic, key, value, [])
        if self.audit is not None and (self.consumed or self.internal):
            key, value = self.audit.record(self.facts)
            self.produce(self.audit.topic, key, value, [])

        def send_and_commit() -> None:
            if positions:
                self.producer.send_offsets_to_transaction(
                    positions, self.consumer.consumer_group_metadata(), self.timeout_s)
            self.producer.commit_transaction(self.timeout_s)

        try:
            self._retrying("commit", send_and_commit, pause_s=0.1)
        except KafkaException as exc:
            err = _kafka_error(exc)
            if err.txn_requires_abort():
                self.abort(f"commit failed: {err.name()}")
                raise TransactionAborted(err.name()) from None
            metrics.TRANSACTIONS.labels("failed").inc()
            raise FatalKafkaError.of("commit failed", err) from None
        metrics.TRANSACTIONS.labels("committed").inc()
        if self.audit is not None:
            self.audit.committed()
        if self.data_keys is not None:
            self.data_keys.committed()
        flush_metrics(self.facts)
        metrics.BATCH_SECONDS.observe(self.age_s())
        now = time.time()
        metrics.LAST_COMMIT.set(now)
        metrics.END_TO_END_LAG.observe_many(max(0.0, now - ts_ms / 1000)
                                            for ts_ms in self.source_ts_ms)
        committed = self.consumed
        self._reset()
        return committed

    def abort(self, why: str) -> None:
        if not self.open:
            return
        log.warning("aborting transaction (%s)", why)
        try:
            # short attempts: librdkafka may wait for records in flight that only a new call
            # lets go (an epoch bump after skipped sequence numbers)
            self._retrying("abort", lambda: self.producer.abort_transaction(ABORT_ATTEMPT_S))
        except KafkaException as exc:
            metrics.TRANSACTIONS.labels("failed").inc()
            raise FatalKafkaError.of("abort failed", _kafka_error(exc)) from None
        metrics.TRANSACTIONS.labels("aborted").inc()
        if self.audit is not None:
            self.audit.aborted()
        if self.data_keys is not None:
            self.data_keys.aborted()
        self._reset()

    def _retrying(self, what: str, call: Callable[[], None], pause_s: float = 0.0) -> None:
        """``call`` again while it fails with a retriable error (a timed-out commit or abort
        goes on in the background), for up to three times the timeout; then its error."""
        deadline = time.monotonic() + self.timeout_s * 3
        while True:
            try:
                with self.watchdog.watch(what, 2 * self.timeout_s):
                    call()
                return
            except KafkaException as exc:
                err = _kafka_error(exc)
                if not err.retriable() or time.monotonic() >= deadline:
                    raise
                log.warning("%s: retriable error %s, retrying", what, err.name())
                time.sleep(pause_s)

    def _reset(self) -> None:
        self.open = False
        self.offsets.clear()
        self.source_ts_ms.clear()
        self.consumed = self.internal = 0
        self.facts = TransactionFacts()


def rewind(consumer: Consumer, partitions: list[TopicPartition], timeout_s: float = 30.0) -> None:
    """Seek each partition back to its committed offset (the start when none is committed)."""
    if not partitions:
        return
    for tp in committed(consumer, partitions, timeout_s):
        offset = tp.offset if tp.offset >= 0 else -2  # OFFSET_BEGINNING
        consumer.seek(TopicPartition(tp.topic, tp.partition, offset))

