"""The consume → mask → produce loop, one transaction per batch (count or time, whichever first).

Modelled on librdkafka's examples/transactions.c: retriable errors are retried, abortable ones
abort and redo the batch from the committed offsets (the anomaly detectors rebuilt to match),
fatal ones (fencing) stop the process with a clear message. Partition revocation commits the
open transaction; a lost assignment aborts it.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from dataclasses import dataclass, field
from types import FrameType

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition

from processor import kafka_client
from processor.access.preflight import DENIED, NotAuthorized, principal
from processor.avro.codec import RecordCodec
from processor.avro.schema_registry import SchemaRegistry, client_from_options
from processor.errors import CrmMaskerError
from processor.masking import native
from processor.masking.engine import MaskingEngine
from processor.observability import metrics
from processor.observability.http import Health
from processor.observability.profile import Profile
from processor.pipeline import kafka_config
from processor.pipeline.anomaly_stage import AnomalyStage
from processor.pipeline.audit_trail import AuditTrail
from processor.pipeline.batch import BatchHandler
from processor.pipeline.checkpoint import Checkpoint, FatalKafkaError, TransactionAborted, rewind
from processor.pipeline.key_topic import KeyTopicTail
from processor.pipeline.known_names import restore_known_names
from processor.pipeline.kpi_stage import KpiStage
from processor.pipeline.topic_reader import committed, read_to_the_end

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 5.0  # progress log line and consumer-lag gauge
#: how long a read of the key topic between transactions waits for a broker that is away
FOLLOW_WAIT_S = 10.0
CONSUME_BATCH = 500  # messages per poll; a poll that returns fewer has caught up


@dataclass
class RunSettings:
    bootstrap: str
    group_id: str = "crm-masker"
    transactional_id: str = "crm-masker-0"
    batch_max_events: int = 5000
    batch_max_ms: int = 200
    #: commit as soon as the processor has caught up with its input (a poll that returned less
    #: than a full batch) instead of waiting for ``batch_max_ms``: the last event of a burst
    #: of changes, or of a steady trickle, need not wait
    commit_when_drained: bool = True
    exit_when_idle_s: float | None = None
    kafka_options: dict[str, str] = field(default_factory=dict)
    #: Avro inputs need a schema registry (``mock://…``: the client's in-memory one)
    schema_registry_url: str | None = None
    schema_registry_options: tuple[str, ...] = ()
    #: masking engine: ``auto`` (the native core when installed), ``native``, ``python``
    engine: str = "auto"
    #: time the main thread's stages and log where one record's time went (at the end)
    profile: bool = False
    #: how often a worker reads the key topic on between transactions: an erasure outside the
    #: CRM (`erase`) reaches every running worker within about this long
    follow_keys_every_s: float = 30.0


class Processor:
    def __init__(self, engine: MaskingEngine, settings: RunSettings,
                 health: Health | None = None, registry: SchemaRegistry | None = None) -> None:
        self.engine = engine
        rules = engine.compiled.validated.rules
        self.anomaly = AnomalyStage(rules, rules.anomaly) if rules.anomaly else None
        self.kpis = KpiStage(engine.compiled) if rules.kpis else None
        # the anomaly detectors and the KPIs read the unmasked rows of their tables; in a
        # batch the native core makes the facts of the KPIs and the detectors' items that it
        # can, and hands back the rows that Python still reads
        watched = set(self.anomaly.table_of if self.anomaly else ())
        kpi_rows = self.kpis.python_topics() if self.kpis else set()
        # the items of all detected tables or of none: made in two places, a step's items
        # would not keep the input's order (a user row after the accesses that follow it)
        items = self.anomaly.by_actor.native_specs() \
            if self.anomaly and not watched & kpi_rows else {}
        self.native = native.select(
            engine.compiled, settings.engine, watched | set(self.kpis.sources if self.kpis else ()),
            self.kpis.native_specs() if self.kpis else None,
            kpi_rows | (watched - items.keys()), items)
        if registry is None and settings.schema_registry_url:
            registry = SchemaRegistry(client_from_options(settings.schema_registry_url,
                                                          settings.schema_registry_options))
        self.settings = settings
        self.health = health or Health()
        validated = engine.compiled.validated
        self.stopping = False
        extra = settings.kafka_options
        self.consumer = Consumer(kafka_config.consumer_config(
            settings.bootstrap, settings.group_id, settings.transactional_id, extra))
        self.producer = Producer(kafka_config.producer_config(settings.bootstrap,
                                                              settings.transactional_id, extra))
        self.audit = AuditTrail(rules.audit_topic, settings.transactional_id,
                                validated.version, validated.sha256)
        self.checkpoint = Checkpoint(self.producer, self.consumer, self.audit,
                                     kafka_config.transaction_call_timeout_s(extra),
                                     data_keys=engine.compiled.data_keys)
        self.codec = RecordCodec(registry)
        self.profile = Profile(settings.profile)
        self.batch = BatchHandler(engine, self.native, self.codec, self.producer,
                                  self.checkpoint, self.anomaly, rules.alert_topic,
                                  kafka_config.message_max_bytes(extra), self.kpis, self.profile)
        self.checkpoint.before_commit = self.batch.progress_marks
        store = engine.compiled.data_keys
        self.key_tail = None if store is None else KeyTopicTail(
            store, settings.bootstrap, extra,
            int(rules.data_keys.topic_config["delete.retention.ms"]) / 2000)
        self._log_engine()
        self.assignment: list[TopicPartition] = []
        self.processed = 0  # input records committed
        self.last_activity = time.monotonic()
        self.first_message_at = 0.0
        #: CPU time of the process (all threads) at the first and the last consumed batch
        self.cpu_at_first = self.cpu_at_last = 0.0
        self.keys_read_at = time.monotonic()  # the key topic's last read (``KeyTopicTail``)

    def _log_engine(self) -> None:
        if self.native is None:
            log.info("masking engine: Python (%s)", "chosen" if self.settings.engine == "python"
                     else "the native core is not installed")
            return
        log.info("masking engine: native core for JSON events of %s; Python for the rest",
                 ", ".join(self.native.tables) or "no table")

    # -- life cycle ---------------------------------------------------------------------------
    def request_stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self.stopping = True

    def run(self) -> int:
        """Process until stopped; returns the number of input records committed."""
        try:
            self.producer.init_transactions(60)
        except KafkaException as exc:
            if exc.args[0].code() in DENIED:
                raise NotAuthorized(
                    f"{principal(self.settings.kafka_options)} may not use the transactional id "
                    f"{self.settings.transactional_id} ({exc.args[0].name()}): an admin grants "
                    "it with `crm-masker acls --apply` (WRITE on the rules' "
                    "access.transactional_id_prefix)") from None
            raise FatalKafkaError.of("init_transactions failed", exc.args[0]) from None
        self.health.broker_ok = True
        self.audit.restore(self.settings.bootstrap, self.settings.kafka_options)
        self._restore_data_keys()
        restore_known_names(self.engine.compiled, self.codec, self.settings.bootstrap,
                            self.settings.kafka_options, core=self.native)
        topics = sorted(self.engine.compiled.routes)
        if self.anomaly is not None:
            topics.append(self.anomaly.topic)  # the detectors' half: by actor
        if self.kpis is not None:
            topics.append(self.kpis.topic)  # the KPIs' windows: one partition of facts
        self.consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_lost)
        log.info("subscribed to %d topics; batches of up to %d events or %d ms%s",
                 len(topics), self.settings.batch_max_events, self.settings.batch_max_ms,
                 ", or as soon as the input is caught up" if self.settings.commit_when_drained
                 else "")
        self.last_activity = time.monotonic()
        started = time.monotonic()
        next_report, reported = started + PROGRESS_EVERY_S, 0
        try:
            while not self.stopping:
                with self.profile.stage("consume"):
                    messages = self.consumer.consume(num_messages=CONSUME_BATCH, timeout=0.05)
                if messages:
                    self._busy()
                    self._handle(messages)
                if self.anomaly is not None:
                    self.anomaly.users_first.check(self.consumer)
                # a short poll: all there was (a steady trickle never leaves a poll empty)
                drained = len(messages) < CONSUME_BATCH and self.settings.commit_when_drained
                if self.checkpoint.open and (
                        drained or self.checkpoint.consumed >= self.settings.batch_max_events
                        or self.checkpoint.age_s() * 1000 >= self.settings.batch_max_ms):
                    self._commit()
                now = time.monotonic()
                if (not self.checkpoint.open
                        and now - self.keys_read_at >= self.settings.follow_keys_every_s):
                    self._follow_data_keys()
                if now >= next_report:
                    self._report_lag()
                    if self.processed != reported:
                        log.info("progress: %d input records, %.0f records/s",
                                 self.processed, (self.processed - reported) / PROGRESS_EVERY_S)
                    next_report, reported = now + PROGRESS_EVERY_S, self.processed
                idle = now - self.last_activity
                self.health.idle = not self.checkpoint.open
                if (self.settings.exit_when_idle_s is not None and not self.checkpoint.open
                        and self.assignment and idle >= self.settings.exit_when_idle_s
                        and read_to_the_end(self.consumer, self.assignment)):
                    log.info("idle for %.1fs, stopping", idle)
                    break
            self._commit()  # finish the open batch on SIGTERM
        finally:
            self._close()
        busy = max(1e-9, self.last_activity - (self.first_message_at or started))
        cpu_us = (self.cpu_at_last - self.cpu_at_first) * 1e6 / max(1, self.processed)
        log.info("processed %d input records; %.0f records/s while busy, %.1f µs of CPU per "
                 "record (all threads)", self.processed, self.processed / busy, cpu_us)
        if self.profile.enabled:
            for line in self.profile.report(self.processed):
                log.info(line)
        return self.processed

    def _restore_data_keys(self) -> None:
        """The per-subject data keys that committed transactions made (read_committed: what a
        crashed predecessor made and did not commit never existed): the whole key topic at
        the first call, then what was written since (``KeyTopicTail``), with the
        transactions open at the call once they end."""
        tail = self.key_tail
        if tail is None:
            return
        whole, added, shredded = tail.update(settle_open=True)
        if whole:
            log.info("data keys: %d subject key(s) restored from %s", added, tail.topic)
        else:
            log.info("data keys: %d subject key(s) added, %d shredded, from %s (%d in all)",
                     added, shredded, tail.topic, len(tail.store))
        self.keys_read_at = time.monotonic()

    def _follow_data_keys(self) -> None:
        """Between transactions, every ``follow_keys_every_s``: the key topic's committed
        records since the last read (not waiting for open transactions: the next read has
        them), so that an erasure outside the CRM stops this worker's use of the key."""
        tail = self.key_tail
        if tail is None:
            return
        self.keys_read_at = time.monotonic()
        try:
            _, _, shredded = tail.update(settle_open=False, wait_s=FOLLOW_WAIT_S)
        except (CrmMaskerError, KafkaException) as exc:  # a broker away, a KEK not in the file
            tail.forget()
            log.warning("data keys: could not read %s on (%s); trying again, whole, in %g s",
                        tail.topic, exc if isinstance(exc, CrmMaskerError)
                        else exc.args[0].name(), self.settings.follow_keys_every_s)
            return
        if shredded:  # (a whole read shreds none: it replaces the store)
            log.info("data keys: %d subject key(s) shredded on %s since the last read",
                     shredded, tail.topic)

    def _busy(self) -> None:
        """A batch came in: the clock and the CPU time of the busy stretch move on."""
        self.last_activity, self.cpu_at_last = time.monotonic(), time.process_time()
        if not self.first_message_at:
            self.first_message_at, self.cpu_at_first = self.last_activity, self.cpu_at_last

    def _report_lag(self) -> None:
        """Records behind the high watermark per assigned partition (cached watermarks: no
        extra broker round trip)."""
        if not self.assignment:
            return
        try:
            positions = self.consumer.position(self.assignment)
        except KafkaException:
            return
        for tp in positions:
            _, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if tp.offset >= 0 and high >= 0:
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, high - tp.offset))

    def _close(self) -> None:
        try:
            if self.checkpoint.open:
                self.checkpoint.abort("shutting down")
        except FatalKafkaError:
            pass
        self.consumer.close()
        self.producer.flush(10)

    # -- rebalancing --------------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assignment = list(partitions)
        log.info("assigned %d partition(s)", len(partitions))
        # keys that the partitions' earlier owner made after this process started: without
        # them, a subject's next value would get a second key, and the key topic (compacted)
        # would keep only one of the two
        self._restore_data_keys()
        if self.anomaly is not None:
            consumer.assign(partitions)  # now: the access log may have to be paused
        self._restore_detectors(partitions)
        # ready (/readyz) once the state is back, not while it is being replayed: a rolling
        # update that waits for readiness then stops the old worker when the new one can work
        self.last_activity = time.monotonic()  # idleness counts from the assignment
        self.health.assigned = len(partitions)
        metrics.ASSIGNED_PARTITIONS.set(len(partitions))

    def _restore_detectors(self, partitions: list[TopicPartition]) -> None:
        """The detectors of the assigned by-actor partitions and the KPIs' windows at their
        committed offsets, replayed from Kafka, and the access log held until the users
        topic is committed (``UsersFirst``). Inside the consumer's rebalance callback:
        metadata comes through the producer (see ``partitions_of``)."""
        if self.anomaly is not None:
            self.anomaly.assigned(self.consumer, self.producer, partitions,
                                  self.settings.bootstrap, self.settings.kafka_options)
        if self.kpis is not None:
            self.kpis.refresh(self.producer)
            mine = [TopicPartition(tp.topic, tp.partition) for tp in partitions
                    if tp.topic == self.kpis.topic]
            self.kpis.restore(self.settings.bootstrap, self.settings.kafka_options,
                              committed(self.consumer, mine) if mine else [])
        if self.native is not None:  # the partition counts that facts and items name
            by_actor = self.anomaly.by_actor if self.anomaly else None
            self.native.set_partitions(
                {**(self.kpis.partitions if self.kpis else {}),
                 **({by_actor.access_topic: by_actor.source_partitions} if by_actor else {})},
                by_actor.partitions if by_actor else 1)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("revoking %d partition(s): committing the open transaction", len(partitions))
        with contextlib.suppress(TransactionAborted):  # the next owner starts from the offsets
            self._commit()
        if self.anomaly is not None:
            self.anomaly.users_first.release(consumer)
        self.assignment = []
        self.health.assigned = 0
        metrics.ASSIGNED_PARTITIONS.set(0)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.warning("assignment lost: aborting the open transaction")
        self.checkpoint.abort("assignment lost")
        if self.anomaly is not None:
            self.anomaly.users_first.release(consumer)
        self.assignment = []
        self.health.assigned = 0

    # -- the batch ----------------------------------------------------------------------------
    def _commit(self) -> None:
        try:
            with self.profile.stage("commit"):
                committed = self.checkpoint.commit()
        except TransactionAborted:
            self._redo()
            return
        if committed is not None:
            self.processed += committed
            self.health.last_commit = time.time()

    def _redo(self) -> None:
        """After an abort: back to the committed offsets, and the anomaly detectors back to
        their state there (they saw the aborted records and would count them twice)."""
        rewind(self.consumer, self.assignment)
        self._restore_detectors(self.assignment)
        self.last_activity = time.monotonic()  # the input is there again: not idle

    def _handle(self, messages: list[Message]) -> None:
        """A consumed batch into the open transaction; a failed one is aborted and redone."""
        try:
            self.batch.handle(messages)
        except KafkaException as exc:
            kerr = exc.args[0]
            if kerr.fatal():
                raise FatalKafkaError.of("produce failed", kerr) from None
            # a failed transaction refuses further records (librdkafka: _STATE, not flagged
            # abortable); the abort tells: it fails with a fatal error when fenced
            self.checkpoint.abort(f"produce failed: {kerr.name()}")
            self._redo()

def install_signal_handlers(processor: Processor) -> None:
    signal.signal(signal.SIGTERM, processor.request_stop)
    signal.signal(signal.SIGINT, processor.request_stop)


def check_topics_exist(admin: kafka_client.Admin, topics: list[str]) -> None:
    """Refuse to start when an output topic is missing; say how to create it."""
    existing = set(admin.topics())
    missing = [t for t in topics if t not in existing]
    if missing:
        raise CrmMaskerError(
            f"missing output topic(s): {', '.join(missing)}; create them with "
            f"`crm-masker topics --rules RULES --bootstrap-servers {admin.bootstrap}`")
