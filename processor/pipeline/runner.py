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
from typing import Any, cast

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from processor.avro.codec import RecordCodec
from processor.avro.registry import SchemaRegistry, client_from_options
from processor.avro.wire import id_header
from processor.errors import CrmMaskerError, PoisonEvent
from processor.formats.views import published_image
from processor.governance.leakwatch import Sampler, suspects
from processor.masking import native
from processor.masking.engine import MaskingEngine, Outcome
from processor.masking.plan import FieldPlan
from processor.observability import metrics
from processor.observability.http import Health
from processor.pipeline import kafka_config
from processor.pipeline.anomaly_stage import AnomalyStage, UsersFirst, alert_record
from processor.pipeline.audit_trail import AuditTrail
from processor.pipeline.checkpoint import Checkpoint, FatalKafkaError, TransactionAborted, rewind
from processor.pipeline.records import (
    H_SRC_OFFSET,
    H_SRC_PARTITION,
    H_SRC_TOPIC,
    Header,
    Lineage,
    dlq_record,
    masked_debezium_headers,
    policy_headers,
)
from processor.rules.compiler import ViewPlan

log = logging.getLogger(__name__)
#: an encoded output record: topic, key, value, extra headers
OutRecord = tuple[str, bytes | None, bytes | None, list[Header]]
PROGRESS_EVERY_S = 5.0  # progress log line and consumer-lag gauge
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


class Processor:
    def __init__(self, engine: MaskingEngine, settings: RunSettings,
                 health: Health | None = None, registry: SchemaRegistry | None = None) -> None:
        self.engine = engine
        rules = engine.compiled.validated.rules
        self.anomaly = AnomalyStage(rules, rules.anomaly) if rules.anomaly else None
        self.users_first = UsersFirst(self.anomaly) if self.anomaly else None
        # the anomaly detectors read the unmasked rows of their tables
        self._detected_topics = frozenset(self.anomaly.table_of if self.anomaly else ())
        self.native = native.select(engine.compiled, settings.engine, self._detected_topics)
        if registry is None and settings.schema_registry_url:
            registry = SchemaRegistry(client_from_options(settings.schema_registry_url,
                                                          settings.schema_registry_options))
        self.codec = RecordCodec(registry)
        self.settings = settings
        self.health = health or Health()
        validated = engine.compiled.validated
        self.policy = policy_headers(validated.version, validated.sha256)
        self.policy_version = validated.version
        if self.native is not None:
            self.native.set_headers(self.policy, (H_SRC_TOPIC, H_SRC_PARTITION, H_SRC_OFFSET))
        self.dlq_topic = engine.compiled.dlq_topic
        self.leak_sample = Sampler(engine.compiled.validated.rules.leak_watch_sample)
        self.max_bytes = engine.compiled.max_event_bytes
        self.stopping = False
        extra = settings.kafka_options
        self.consumer = Consumer(kafka_config.consumer_config(
            settings.bootstrap, settings.group_id, settings.transactional_id, extra))
        self.producer = Producer(kafka_config.producer_config(settings.bootstrap,
                                                              settings.transactional_id, extra))
        self.audit = AuditTrail(rules.audit_topic, settings.transactional_id,
                                validated.version, validated.sha256)
        self.checkpoint = Checkpoint(self.producer, self.consumer, self.audit)
        self.alert_topic = rules.alert_topic
        self._log_engine()
        self.assignment: list[TopicPartition] = []
        self.processed = 0  # input records committed
        self.last_activity = time.monotonic()
        self.first_message_at = 0.0
        # source topic → view topic → view, for encoding and masking Debezium's key headers
        self._views = {topic: {view.topic: view for view in route.views}
                       for topic, route in engine.compiled.routes.items()}

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
        """Process until stopped; returns the number of input records handled."""
        try:
            self.producer.init_transactions(60)
        except KafkaException as exc:
            raise FatalKafkaError(f"init_transactions failed: {exc.args[0].str()}") from None
        self.health.broker_ok = True
        self.audit.restore(self.settings.bootstrap, self.settings.kafka_options)
        if self.anomaly is not None:
            self.anomaly.check(self.consumer)
        topics = sorted(self.engine.compiled.routes)
        self.consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_lost)
        log.info("subscribed to %d source topics; batches of up to %d events or %d ms%s",
                 len(topics), self.settings.batch_max_events, self.settings.batch_max_ms,
                 ", or as soon as the input is caught up" if self.settings.commit_when_drained
                 else "")
        self.last_activity = time.monotonic()
        started = time.monotonic()
        next_report, reported = started + PROGRESS_EVERY_S, 0
        try:
            while not self.stopping:
                messages = self.consumer.consume(num_messages=CONSUME_BATCH, timeout=0.05)
                if messages:
                    self.last_activity = time.monotonic()
                    self.first_message_at = self.first_message_at or self.last_activity
                    self._handle(messages)
                if self.users_first is not None:
                    self.users_first.check(self.consumer)
                # a short poll: all there was (a steady trickle never leaves a poll empty)
                drained = len(messages) < CONSUME_BATCH and self.settings.commit_when_drained
                if self.checkpoint.open and (
                        drained or self.checkpoint.consumed >= self.settings.batch_max_events
                        or self.checkpoint.age_s() * 1000 >= self.settings.batch_max_ms):
                    self._commit()
                now = time.monotonic()
                if now >= next_report:
                    self._report_lag()
                    if self.processed != reported:
                        log.info("progress: %d input records, %.0f records/s",
                                 self.processed, (self.processed - reported) / PROGRESS_EVERY_S)
                    next_report, reported = now + PROGRESS_EVERY_S, self.processed
                idle = now - self.last_activity
                self.health.idle = not self.checkpoint.open
                if (self.settings.exit_when_idle_s is not None and not self.checkpoint.open
                        and self.assignment and idle >= self.settings.exit_when_idle_s):
                    log.info("idle for %.1fs, stopping", idle)
                    break
            self._commit()  # finish the open batch on SIGTERM
        finally:
            self._close()
        busy = max(1e-9, self.last_activity - (self.first_message_at or started))
        log.info("processed %d input records; %.0f records/s while busy", self.processed,
                 self.processed / busy)
        return self.processed

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
        self.last_activity = time.monotonic()  # idleness counts from the assignment
        self.health.assigned = len(partitions)
        metrics.ASSIGNED_PARTITIONS.set(len(partitions))
        log.info("assigned %d partition(s)", len(partitions))
        if self.anomaly is not None:
            consumer.assign(partitions)  # now: the access log may have to be paused
            self._restore_detectors(partitions)

    def _restore_detectors(self, partitions: list[TopicPartition]) -> None:
        """When this process owns the access log: the anomaly detectors' state at the
        committed offsets, replayed from Kafka, and the users topic read to its end before
        the access log goes on (``UsersFirst``)."""
        stage, users_first = self.anomaly, self.users_first
        if stage is None or users_first is None:
            return
        if any(tp.topic == stage.access_topic for tp in partitions):
            stage.check(self.consumer)
            committed = self.consumer.committed(stage.topic_partitions(self.consumer),
                                                timeout=30)
            stage.restore(self.settings.bootstrap, self.settings.kafka_options, committed)
            users_first.start(self.consumer, partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("revoking %d partition(s): committing the open transaction", len(partitions))
        with contextlib.suppress(TransactionAborted):  # the next owner starts from the offsets
            self._commit()
        if self.users_first is not None:
            self.users_first.release(consumer)
        self.assignment = []
        self.health.assigned = 0
        metrics.ASSIGNED_PARTITIONS.set(0)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.warning("assignment lost: aborting the open transaction")
        self.checkpoint.abort("assignment lost")
        if self.users_first is not None:
            self.users_first.release(consumer)
        self.assignment = []
        self.health.assigned = 0

    # -- the batch ----------------------------------------------------------------------------
    def _commit(self) -> None:
        try:
            committed = self.checkpoint.commit()
        except TransactionAborted:
            self._redo()
            return
        if committed is not None:
            self.processed += committed
            self.health.last_commit = time.time()

    def _redo(self) -> None:
        """After an abort: back to the committed offsets, and the anomaly detectors back to
        their state there (they saw the aborted events and would count them twice)."""
        rewind(self.consumer, self.assignment)
        self._restore_detectors(self.assignment)
        self.last_activity = time.monotonic()  # the input is there again: not idle

    def _handle(self, messages: list[Message]) -> None:
        """A consumed batch, in order: runs that the native core takes in one call, and
        message by message what it leaves."""
        try:
            at = 0
            while at < len(messages):
                if self.native is not None:
                    at = self._handle_native(self.native, messages, at)
                    if at == len(messages):
                        break
                self._handle_one(messages[at])
                at += 1
        except KafkaException as exc:
            kerr = exc.args[0]
            if kerr.fatal():
                raise FatalKafkaError(f"produce failed: {kerr.name()}: {kerr.str()}") from None
            # a failed transaction refuses further records (librdkafka: _STATE, not flagged
            # abortable); the abort tells: it fails with a fatal error when fenced
            self.checkpoint.abort(f"produce failed: {kerr.name()}")
            self._redo()

    def _handle_one(self, msg: Message) -> None:
        err = msg.error()
        if err is not None:
            self._consumer_error(err)
            return
        self.checkpoint.begin()
        self._process(msg)

    def _handle_native(self, core: native.NativeEngine, messages: list[Message],
                       start: int) -> int:
        """Messages from ``start`` through the native core, up to the first that it leaves
        to Python; returns that message's index. The leak watch's sample among them comes
        back with its records."""
        watch = [start + i for i in self.leak_sample.peek(len(messages) - start)]
        segment = core.process_batch(messages, start, len(messages), self.max_bytes, watch)
        if segment.end == start:
            return start
        self.leak_sample.skip(segment.end - start)
        self.checkpoint.begin()
        produce = self.producer.produce
        for topic, key, value, headers in segment.records:
            try:
                produce(topic, value, key, headers=headers)
            except BufferError:  # the local queue is full: the slow path waits and retries
                self.checkpoint.produce(topic, key, value, headers)
        loads = orjson.loads
        for topic, partition, offset, op, row, _ in segment.detected:
            self._detect(topic, op, loads(row), partition, offset)
        self._account_segment(core, segment)
        for topic, encoded in segment.watched:
            self._watch(core.route(topic)[0], published_rows(self._views[topic], encoded))
        return segment.end

    def _detect(self, topic: str, op: str, row: dict[str, Any] | None, partition: int,
                offset: int) -> None:
        """Feed the anomaly detectors a change (op and row); their alerts go into this
        batch's transaction, with the lineage of the change that raised them."""
        assert self.anomaly is not None
        facts = self.checkpoint.facts
        alerts = self.anomaly.on_row(topic, op, row)
        volume = self.anomaly.engine.last_access
        if volume is not None:
            facts.access_records[(volume[0], volume[1])] += volume[2]
        if not alerts:
            return
        lineage = Lineage(topic, partition, offset)
        source = {"topic": topic, "partition": partition, "offset": offset}
        headers = [*self.policy, *lineage.headers()]
        for alert in alerts:
            key, value = alert_record(alert, self.policy_version, source)
            self.checkpoint.produce(self.alert_topic, key, value, headers)
            facts.anomalies[(alert.detector, alert.severity)] += 1

    def _consumer_error(self, err: KafkaError) -> None:
        if err.fatal() or err.code() == KafkaError._FATAL:  # e.g. fenced static member
            raise FatalKafkaError(f"consumer: {err.str()}")
        log.warning("consumer: %s", err.name())

    def _process(self, msg: Message) -> None:
        """One input record: mask it (or dead-letter it), publish, and account for it."""
        topic, partition, offset = cast(str, msg.topic()), cast(int, msg.partition()), cast(
            int, msg.offset())
        lineage = Lineage(topic, partition, offset)
        sampled = self.leak_sample()
        try:
            outcome, records = self._mask(msg, topic, sampled)
        except PoisonEvent as exc:
            dlq_key, dlq_value, dlq_headers = dlq_record(exc, lineage, self.policy)
            self.checkpoint.produce(self.dlq_topic, dlq_key, dlq_value, dlq_headers)
            self.checkpoint.facts.dlq[exc.reason] += 1
            self.checkpoint.consumed_record(topic, partition, offset, None)
            return
        headers = [*self.policy, *lineage.headers()]
        event = outcome.event
        if self.anomaly is not None and event is not None:
            self._detect(topic, event.op, event.row, partition, offset)
        facts = self.checkpoint.facts
        for out_topic, key, value, extra in records:
            self.checkpoint.produce(out_topic, key, value, headers + extra if extra else headers)
            facts.published[out_topic] += 1
        self._account(outcome, sampled)
        self.checkpoint.consumed_record(topic, partition, offset, outcome.source_ts_ms)

    def _mask(self, msg: Message, topic: str, sampled: bool) -> tuple[Outcome, list[OutRecord]]:
        """Decode, mask and encode; PoisonEvent for anything that cannot be processed.

        JSON events go to the native core when it is there; whatever the core leaves (Avro,
        poison, values it is unsure of) takes the Python engine. For the anomaly detectors'
        tables the core hands back the unmasked row as well, and for the leak watch's sample
        the masked rows are read back from the records it publishes."""
        value = msg.value()
        if value is not None and len(value) > self.max_bytes:
            raise PoisonEvent("oversized", f"value over max_event_bytes={self.max_bytes}")
        raw_headers = cast("list[Header] | None", msg.headers())
        schema_id = raw_headers and (id_header(raw_headers, "value") or id_header(raw_headers, "key"))
        if self.native is not None and not schema_id:
            done = self._mask_native(self.native, msg, topic, value, raw_headers, sampled)
            if done is not None:
                return done
        decoded = self.codec.decode(msg.key(), value, raw_headers)
        outcome = self.engine.process(topic, decoded.key, decoded.value)
        views, codec = self._views[topic], self.codec
        return outcome, [
            (out.topic, codec.encode_key(decoded, views[out.topic], out.key),
             codec.encode_value(decoded, views[out.topic], out.value),
             masked_debezium_headers(raw_headers, views[out.topic].plan) if raw_headers else [])
            for out in outcome.records]

    def _mask_native(self, core: native.NativeEngine, msg: Message, topic: str,
                     value: bytes | None, raw_headers: list[Header] | None, sampled: bool
                     ) -> tuple[Outcome, list[OutRecord]] | None:
        """The native core's outcome and records, or None: the core leaves this event."""
        done = core.process(topic, msg.key(), value)
        if done is None:
            return None
        outcome, encoded = done
        views = self._views[topic]
        if sampled:
            outcome.masked_rows = published_rows(views, encoded)
        return outcome, [
            (out_topic, key, out_value,
             masked_debezium_headers(raw_headers, views[out_topic].plan) if raw_headers else [])
            for out_topic, key, out_value in encoded]

    def _account_segment(self, core: native.NativeEngine, segment: native.Segment) -> None:
        """``_account`` and ``consumed_record`` for a segment of the native core."""
        checkpoint, facts = self.checkpoint, self.checkpoint.facts
        for t in segment.topics:
            table, action_counts = core.route(t.topic)
            for op, events in t.ops.items():
                facts.ops[(table, op)] += events
            for reason, events in t.skipped.items():
                facts.skipped[(table, reason)] += events
            if t.unknown_fields:
                facts.unknown_fields[table] += t.unknown_fields
            facts.count_masked(action_counts, t.masked)
            facts.published.update(t.published)
            for partition, records, first, last in t.partitions:
                checkpoint.consumed_span(t.topic, partition, records, first, last)
        facts.deletes += [(core.route(topic)[0], orjson.loads(key) if key else None)
                          for topic, key in segment.deletes]
        checkpoint.source_ts_ms += segment.source_ts_ms

    def _account(self, outcome: Outcome, sampled: bool) -> None:
        """The transaction's counts (audit record, metrics) and the leak watch's sample."""
        facts = self.checkpoint.facts
        facts.ops[(outcome.table, outcome.op or outcome.skipped or "?")] += 1
        if outcome.skipped:
            facts.skipped[(outcome.table, outcome.skipped)] += 1
        if outcome.unknown_fields:
            facts.unknown_fields[outcome.table] += len(outcome.unknown_fields)
        if outcome.deleted:
            facts.deletes.append((outcome.table, outcome.deleted_key))
        facts.count_masked(outcome.action_counts)
        if sampled:
            self._watch(outcome.table, outcome.masked_rows)

    def _watch(self, table: str, masked_rows: list[tuple[FieldPlan, dict[str, Any]]]) -> None:
        """The leak watch on a sampled event's masked rows."""
        facts = self.checkpoint.facts
        for plan, row in masked_rows:
            facts.leak_rows[table] += 1
            for column, kind in suspects(row, plan.watched):
                facts.pii_suspected[(table, column, kind)] += 1


def published_rows(views: dict[str, ViewPlan], encoded: list[native.EncodedRecord]
                   ) -> list[tuple[FieldPlan, dict[str, Any]]]:
    """The masked row images of an event's published records, one per plan in view order
    (as ``Outcome.masked_rows`` of the Python engine): the leak watch's input."""
    rows: list[tuple[FieldPlan, dict[str, Any]]] = []
    for topic, _, value in encoded:
        view = views[topic]
        if value is not None and all(plan is not view.plan for plan, _ in rows):
            image = published_image(view.format, orjson.loads(value))
            if image is not None:
                rows.append((view.plan, image))
    return rows


def install_signal_handlers(processor: Processor) -> None:
    signal.signal(signal.SIGTERM, processor.request_stop)
    signal.signal(signal.SIGINT, processor.request_stop)


def check_topics_exist(bootstrap: str, topics: list[str], extra: dict[str, str]) -> None:
    """Refuse to start when an output topic is missing; say how to create it."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, **extra})
    try:
        existing = set(admin.list_topics(timeout=30).topics)
    except KafkaException as exc:
        raise CrmMaskerError(f"cannot reach Kafka at {bootstrap}: {exc.args[0].str()}") from None
    missing = [t for t in topics if t not in existing]
    if missing:
        raise CrmMaskerError(
            f"missing output topic(s): {', '.join(missing)}; create them with "
            f"`crm-masker topics --rules RULES --bootstrap-servers {bootstrap}`")
