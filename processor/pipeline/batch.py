"""A consumed batch into the open transaction: masked records, dead letters, alerts, counts.

Runs of messages that the native core takes go through it in one call; what it leaves (consumer
errors, Avro, records with Debezium's key headers, poison, values it is unsure of) goes message
by message through the Python engine. The anomaly detectors see the unmasked rows of their
tables (forwarded by actor, and the by-actor records back into the detectors), the leak watch a
sample of the masked ones. Kafka errors propagate: the runner decides
between abort and stop.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import orjson
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from processor.avro.codec import RecordCodec
from processor.avro.wire import id_header
from processor.errors import CrmMaskerError, PoisonEvent
from processor.formats.envelope import printable_column
from processor.governance.leakwatch import Sampler, suspects
from processor.masking import native
from processor.masking.compiler import ViewPlan
from processor.masking.engine import MaskingEngine, Outcome
from processor.masking.plan import FieldPlan
from processor.pipeline import kafka_config
from processor.pipeline.anomaly_stage import AnomalyStage, alert_record
from processor.pipeline.checkpoint import Checkpoint, FatalKafkaError
from processor.pipeline.kpi_stage import KpiStage
from processor.pipeline.records import (
    H_SRC_OFFSET,
    H_SRC_PARTITION,
    H_SRC_TOPIC,
    H_UNAVAILABLE,
    Header,
    Lineage,
    dlq_record,
    masked_debezium_headers,
    policy_headers,
)

log = logging.getLogger(__name__)
#: an encoded output record: topic, key, value, extra headers
OutRecord = tuple[str, bytes | None, bytes | None, list[Header]]
#: what a record's headers (policy, lineage, Debezium's masked keys) and framing may add
HEADERS_ALLOWANCE = 4096


class BatchHandler:
    """Masks consumed messages into the checkpoint's open transaction."""

    def __init__(self, engine: MaskingEngine, core: native.NativeEngine | None,
                 codec: RecordCodec, producer: Producer, checkpoint: Checkpoint,
                 anomaly: AnomalyStage | None, alert_topic: str,
                 max_message_bytes: int = kafka_config.MESSAGE_MAX_BYTES,
                 kpis: KpiStage | None = None) -> None:
        self.engine = engine
        self.native = core
        self.codec = codec
        self.producer = producer
        self.checkpoint = checkpoint
        self.anomaly = anomaly
        self.kpis = kpis
        #: the processor's own internal topics: their records never go to the native core
        self.internal = {stage.topic for stage in (anomaly, kpis) if stage is not None}
        self.alert_topic = alert_topic
        compiled = engine.compiled
        validated = compiled.validated
        self.policy = policy_headers(validated.version, validated.sha256)
        self.policy_version = validated.version
        if core is not None:
            core.set_headers(self.policy, (H_SRC_TOPIC, H_SRC_PARTITION, H_SRC_OFFSET))
        self.dlq_topic = compiled.dlq_topic
        self.leak_sample = Sampler(validated.rules.leak_watch_sample)
        self.max_bytes = compiled.max_event_bytes
        # a masked record can be longer than its input: over the producer's limit it would be
        # refused (the transaction redone for ever); it is dead-lettered instead
        self.max_record_bytes = max_message_bytes - HEADERS_ALLOWANCE
        # source topic → view topic → view, for encoding and masking Debezium's key headers
        self._views = {topic: {view.topic: view for view in route.views}
                       for topic, route in compiled.routes.items()}
        #: (table, column) of the drifted columns already logged: each is logged once
        self._drift_logged: set[tuple[str, str]] = set()

    def handle(self, messages: list[Message]) -> None:
        """A consumed batch, in order: runs that the native core takes in one call, and
        message by message what it leaves."""
        at = 0
        while at < len(messages):
            if messages[at].topic() in self.internal:  # by actor, KPI facts: never the core's
                self._handle_one(messages[at])
                at += 1
                continue
            if self.native is not None:
                at = self._handle_native(self.native, messages, at)
                if at == len(messages):
                    break
            self._handle_one(messages[at])
            at += 1

    def _handle_one(self, msg: Message) -> None:
        err = msg.error()
        if err is not None:
            self._consumer_error(err)
            return
        if self.anomaly is not None and msg.topic() == self.anomaly.topic:
            self._detect_by_actor(msg)
            return
        if self.kpis is not None and msg.topic() == self.kpis.topic:
            self._release_kpis(msg)
            return
        self.checkpoint.begin()
        self._process(msg)

    def _handle_native(self, core: native.NativeEngine, messages: list[Message],
                       start: int) -> int:
        """Messages from ``start`` through the native core, up to the first that it leaves
        to Python; returns that message's index. The leak watch's sample among them comes
        back with its records."""
        watch = [start + i for i in self.leak_sample.peek(len(messages) - start)]
        try:
            segment = core.process_batch(messages, start, len(messages), self.max_bytes, watch,
                                         self.max_record_bytes)
        except (CrmMaskerError, KafkaException):
            raise
        except Exception as exc:  # the core's last resort: Python takes the next message
            log.error("native core failed at %s[%s]@%s: %s; the Python engine takes it",
                      messages[start].topic(), messages[start].partition(),
                      messages[start].offset(), type(exc).__name__)
            return start
        if segment.end == start:
            return start
        self.leak_sample.skip(segment.end - start)
        self.checkpoint.begin()
        self.checkpoint.produce_all(segment.records)
        loads = orjson.loads
        for topic, partition, offset, op, row, _ in segment.detected:
            image = loads(row)
            self._detect(topic, op, image, partition, offset)
            self._kpi_facts(topic, op, image, partition)
        self._account_segment(core, segment)
        for topic, encoded in segment.watched:
            self._watch(core.route(topic)[0], published_rows(self._views[topic], encoded))
        return segment.end

    def _detect(self, topic: str, op: str, row: dict[str, Any] | None, partition: int,
                offset: int) -> None:
        """An unmasked change of the access log or the users table onto the by-actor topic,
        in this batch's transaction: the detectors of the actor's partition take it from
        there (``_detect_by_actor``)."""
        if self.anomaly is None:
            return
        forwarded = self.anomaly.by_actor.forward(topic, op, row, partition, offset)
        if forwarded is not None:
            self.checkpoint.produce(self.anomaly.topic, forwarded.key, forwarded.value, [])
            self.checkpoint.facts.repartitioned += 1

    def _kpi_facts(self, topic: str, op: str, row: dict[str, Any] | None,
                   partition: int) -> None:
        """A change of a KPI's table, masked by the KPI's view, onto the facts topic in this
        batch's transaction (``_release_kpis`` takes it from there)."""
        if self.kpis is None:
            return
        for fact in self.kpis.facts(topic, op, row, partition):
            self.checkpoint.produce(self.kpis.topic, None, fact, [], 0)

    def _release_kpis(self, msg: Message) -> None:
        """A fact into its KPI's windows; the cells it releases go into this transaction."""
        assert self.kpis is not None
        self.checkpoint.begin()
        headers = list(self.policy)
        for topic, key, value in self.kpis.on_record(msg.value()):
            self.checkpoint.produce(topic, key, value, headers)
            self.checkpoint.facts.published[topic] += 1
        self.checkpoint.consumed_internal(self.kpis.topic, cast(int, msg.partition()),
                                          cast(int, msg.offset()))

    def _detect_by_actor(self, msg: Message) -> None:
        """A record of the by-actor topic into its partition's detectors; their alerts go into
        this batch's transaction, with the lineage of the change that raised them."""
        assert self.anomaly is not None
        partition, offset = cast(int, msg.partition()), cast(int, msg.offset())
        self.checkpoint.begin()
        done = self.anomaly.detection.on_record(partition, msg.value())
        facts = self.checkpoint.facts
        if done.volume is not None:
            facts.access_records[(done.volume[0], done.volume[1])] += done.volume[2]
        for name in done.missed:
            facts.late_missed[name] += 1
        if done.alerts:
            topic, source_partition, source_offset = done.source or (
                self.anomaly.topic, partition, offset)
            lineage = Lineage(topic, source_partition, source_offset)
            source = {"topic": topic, "partition": source_partition, "offset": source_offset}
            headers = [*self.policy, *lineage.headers()]
            for alert in done.alerts:
                key, value = alert_record(alert, self.policy_version, source)
                self.checkpoint.produce(self.alert_topic, key, value, headers)
                facts.anomalies[(alert.detector, alert.severity)] += 1
        self.checkpoint.consumed_internal(self.anomaly.topic, partition, offset)

    def progress_marks(self) -> None:
        """Before a commit: the progress marks of the access events that this transaction
        forwarded, to every by-actor partition."""
        if self.anomaly is None:
            return
        for partition, mark in self.anomaly.by_actor.marks():
            self.checkpoint.produce(self.anomaly.topic, None, mark, [], partition)

    def _consumer_error(self, err: KafkaError) -> None:
        if err.fatal() or err.code() == KafkaError._FATAL:  # e.g. fenced static member
            raise FatalKafkaError.of("consumer", err)
        log.warning("consumer: %s", err.name())

    def _process(self, msg: Message) -> None:
        """One input record: mask it (or dead-letter it), publish, and account for it."""
        topic, partition, offset = cast(str, msg.topic()), cast(int, msg.partition()), cast(
            int, msg.offset())
        lineage = Lineage(topic, partition, offset)
        sampled = self.leak_sample()
        try:
            outcome, records = self._masked(msg, topic, sampled)
        except PoisonEvent as exc:
            dlq_key, dlq_value, dlq_headers = dlq_record(exc, lineage, self.policy)
            self.checkpoint.produce(self.dlq_topic, dlq_key, dlq_value, dlq_headers)
            self.checkpoint.facts.dlq[exc.reason] += 1
            self.checkpoint.consumed_record(topic, partition, offset, None)
            return
        headers = [*self.policy, *lineage.headers()]
        if outcome.unavailable:
            headers.append((H_UNAVAILABLE, ",".join(outcome.unavailable).encode()))
        event = outcome.event
        if event is not None:
            self._detect(topic, event.op, event.row, partition, offset)
            self._kpi_facts(topic, event.op, event.row, partition)
        facts = self.checkpoint.facts
        for out_topic, key, value, extra in records:
            # a truncate goes to every partition: each consumer forgets the rows of its own
            # partitions, in order with the rows written after the truncate
            for out_partition in self._partitions(out_topic) if outcome.op == "t" else (-1,):
                self.checkpoint.produce(out_topic, key, value,
                                        headers + extra if extra else headers, out_partition)
                facts.published[out_topic] += 1
        self._account(outcome, sampled)
        self.checkpoint.consumed_record(topic, partition, offset, outcome.source_ts_ms)

    def _masked(self, msg: Message, topic: str, sampled: bool
                ) -> tuple[Outcome, list[OutRecord]]:
        """``_mask`` with its size check; any failure that is not the processor's own (a
        configuration or Kafka problem, which stops it) is a dead letter ``internal_error``:
        one event never blocks its partition. Only the exception's class is logged (its
        message could quote a value)."""
        try:
            outcome, records = self._mask(msg, topic, sampled)
            self._check_sizes(records)
        except (PoisonEvent, CrmMaskerError, KafkaException):
            raise
        except Exception as exc:
            log.error("internal error on %s[%s]@%s: %s; dead-lettered", topic, msg.partition(),
                      msg.offset(), type(exc).__name__)
            raise PoisonEvent("internal_error", type(exc).__name__) from None
        return outcome, records

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
        writer = decoded.value_writer
        outcome = self.engine.process(topic, decoded.key, decoded.value,
                                      writer.row_types if writer is not None else None)
        views, codec = self._views[topic], self.codec
        return outcome, [
            (out.topic, codec.encode_key(decoded, views[out.topic], out.key),
             codec.encode_value(decoded, views[out.topic], out.value),
             masked_debezium_headers(raw_headers, views[out.topic].plan) if raw_headers else [])
            for out in outcome.records]

    def _check_sizes(self, records: list[OutRecord]) -> None:
        for _, key, value, _ in records:
            if len(key or b"") + len(value or b"") > self.max_record_bytes:
                raise PoisonEvent("oversized_output", "a masked record over the producer's "
                                  f"message.max.bytes, less {HEADERS_ALLOWANCE} for headers")

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
                self._log_drift(table, t.unknown_names)
            facts.count_masked(action_counts, t.masked)
            facts.published.update(t.published)
            for partition, records, first, last in t.partitions:
                checkpoint.consumed_span(t.topic, partition, records, first, last)
        facts.deletes += [(core.route(topic)[0], orjson.loads(key) if key else None)
                          for topic, key in segment.deletes]
        facts.shredded += segment.shredded
        checkpoint.source_ts_ms += segment.source_ts_ms

    def _account(self, outcome: Outcome, sampled: bool) -> None:
        """The transaction's counts (audit record, metrics) and the leak watch's sample."""
        facts = self.checkpoint.facts
        facts.ops[(outcome.table, outcome.op or outcome.skipped or "?")] += 1
        if outcome.skipped:
            facts.skipped[(outcome.table, outcome.skipped)] += 1
        if outcome.unknown_fields:
            facts.unknown_fields[outcome.table] += len(outcome.unknown_fields)
            self._log_drift(outcome.table, outcome.unknown_fields)
        if outcome.deleted:
            facts.deletes.append((outcome.table, outcome.deleted_key))
        if outcome.shredded:
            facts.shredded += [(outcome.table, data_key) for data_key in outcome.shredded]
        facts.count_masked(outcome.action_counts)
        if sampled:
            self._watch(outcome.table, outcome.masked_rows)

    def _partitions(self, topic: str) -> range:
        """The partitions of an output topic, from the cluster's metadata."""
        found = self.producer.list_topics(topic, timeout=10).topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            raise CrmMaskerError(f"output topic {topic} has no partitions; `crm-masker topics` "
                                 "creates the view topics")
        return range(len(found.partitions))

    def _log_drift(self, table: str, columns: list[str]) -> None:
        """Schema drift by name, once per column: no rule names it, so it is dropped."""
        for column in columns:
            if (table, column) not in self._drift_logged and len(self._drift_logged) < 1000:
                self._drift_logged.add((table, column))
                log.warning("schema drift: %s.%s has no rule; the column is dropped (add a rule "
                            "to publish it)", table, printable_column(column))

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
            image = view.format.image(orjson.loads(value))
            if image is not None:
                rows.append((view.plan, image))
    return rows
