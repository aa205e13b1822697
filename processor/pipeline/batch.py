"""A consumed batch into the open transaction: mask, produce, account, detect, sample.

The masker (``masking_step``) turns the messages into steps, whichever engine makes them;
each step's records go into the transaction with its counts; the unmasked changes of the
detected tables go on to the by-actor topic (the anomaly detectors) and the KPI facts; the
leak watch reads a sample of the masked rows. The processor's own internal topics (by actor,
KPI facts) come back here as records of their own. Kafka errors propagate: the runner decides
between abort and stop.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from confluent_kafka import KafkaError, Message, Producer

from processor.avro.codec import RecordCodec
from processor.errors import CrmMaskerError
from processor.governance.leakwatch import Sampler, suspects
from processor.masking import native
from processor.masking.engine import MaskingEngine
from processor.masking.plan import FieldPlan
from processor.observability.profile import Profile
from processor.pipeline import kafka_config
from processor.pipeline.anomaly_stage import AnomalyStage, Detected, alert_record
from processor.pipeline.checkpoint import Checkpoint, FatalKafkaError
from processor.pipeline.kpi_stage import KpiStage
from processor.pipeline.masking_step import Masker, Step
from processor.pipeline.packed import PACK_BYTES, packed
from processor.pipeline.records import Lineage, policy_headers

log = logging.getLogger(__name__)


class BatchHandler:
    """Masks consumed messages into the checkpoint's open transaction."""

    def __init__(self, engine: MaskingEngine, core: native.NativeEngine | None,
                 codec: RecordCodec, producer: Producer, checkpoint: Checkpoint,
                 anomaly: AnomalyStage | None, alert_topic: str,
                 max_message_bytes: int = kafka_config.MESSAGE_MAX_BYTES,
                 kpis: KpiStage | None = None, profile: Profile | None = None) -> None:
        self.producer = producer
        self.profile = profile or Profile()
        self.checkpoint = checkpoint
        self.anomaly = anomaly
        self.kpis = kpis
        #: the processor's own internal topics: their records never go to the masker
        self.internal = {stage.topic for stage in (anomaly, kpis) if stage is not None}
        self.alert_topic = alert_topic
        validated = engine.compiled.validated
        self.policy = policy_headers(validated.version, validated.sha256)
        self.policy_version = validated.version
        self.masker = Masker(engine, core, codec, self.policy, engine.compiled.dlq_topic,
                             max_message_bytes, self._partitions,
                             Sampler(validated.rules.leak_watch_sample))
        #: a packed internal record stays under the producer's message.max.bytes, which a
        #: deployment may have set lower than the packing's own limit
        self.pack_bytes = min(PACK_BYTES, self.masker.max_record_bytes)

    def handle(self, messages: list[Message]) -> None:
        """A consumed batch, in order: steps of the masker; consumer errors one by one; runs
        of an internal topic's records (by actor, KPI facts) into their stage."""
        at = 0
        while at < len(messages):
            msg = messages[at]
            err = msg.error()
            if err is not None:
                self._consumer_error(err)
                at += 1
            elif msg.topic() in self.internal:
                at = self._internal_run(messages, at)
            else:
                with self.profile.stage("mask"):
                    step = self.masker.mask(messages, at)
                self._apply(step)
                at = step.end

    def _internal_run(self, messages: list[Message], start: int) -> int:
        """The records of one internal topic from ``start`` on into the detectors or the KPI
        windows, timed as one stage; returns the index after them."""
        topic = messages[start].topic()
        end = start + 1
        while end < len(messages) and messages[end].topic() == topic \
                and messages[end].error() is None:
            end += 1
        if self.anomaly is not None and topic == self.anomaly.topic:
            with self.profile.stage("detectors"):
                for msg in messages[start:end]:
                    self._detect_by_actor(msg)
        elif self.kpis is not None and topic == self.kpis.topic:
            with self.profile.stage("kpis"):
                for msg in messages[start:end]:
                    self._release_kpis(msg)
        return end

    def _apply(self, step: Step) -> None:
        """A step into the open transaction: its records, its counts, the changes that the
        detectors and the KPIs read, the leak watch's sample."""
        checkpoint, stage = self.checkpoint, self.profile.stage
        checkpoint.begin()
        with stage("produce"):
            checkpoint.produce_all(step.records)
            for partition, (topic, key, value, headers) in step.partitioned:
                checkpoint.produce(topic, key, value, headers, partition)
        with stage("account"):
            step.account(checkpoint)
        with stage("forward"):
            self._forward(step)
        with stage("sample"):
            for table, rows in step.watched():
                self._watch(table, rows)

    def _forward(self, step: Step) -> None:
        """The step's unmasked changes of the access log and the users table onto the
        by-actor topic (``_detect_by_actor`` takes them from there), and its KPI facts, masked
        by the KPIs' views (made by the native core, else here), onto the facts topic
        (``_release_kpis``): in this transaction, packed, one record per partition."""
        anomaly, kpis = self.anomaly, self.kpis
        by_actor: dict[int, list[bytes]] = {}
        facts, made = step.facts()
        facts = list(facts)
        if anomaly is not None:
            for actor_partition, item, partition, offset, ts_ms in step.items():
                by_actor.setdefault(actor_partition, []).append(item)
                anomaly.by_actor.made(partition, offset, ts_ms)
        for topic, partition, offset, op, row in step.changes():
            if anomaly is not None:
                forwarded = anomaly.by_actor.forward(topic, op, row, partition, offset)
                if forwarded is not None:
                    by_actor.setdefault(forwarded.partition, []).append(forwarded.value)
            if kpis is not None:
                facts += kpis.facts(topic, op, row, partition, made)
        produce = self.checkpoint.produce
        if anomaly is not None:
            for actor_partition, items in by_actor.items():
                self.checkpoint.facts.repartitioned += len(items)
                for value in packed(items, self.pack_bytes):
                    produce(anomaly.topic, None, value, [], actor_partition)
        if kpis is not None:
            for value in packed(facts, self.pack_bytes):
                produce(kpis.topic, None, value, [], 0)

    def _release_kpis(self, msg: Message) -> None:
        """A record of facts into their KPIs' windows; the cells they release go into this
        transaction."""
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
        this batch's transaction, with the lineage of the change that raised each."""
        assert self.anomaly is not None
        partition, offset = cast(int, msg.partition()), cast(int, msg.offset())
        self.checkpoint.begin()
        facts = self.checkpoint.facts
        for done in self.anomaly.detection.on_record(partition, msg.value()):
            if done.volume is not None:
                facts.access_records[(done.volume[0], done.volume[1])] += done.volume[2]
            for name in done.missed:
                facts.late_missed[name] += 1
            if done.alerts:
                self._alerts(done, partition, offset)
        self.checkpoint.consumed_internal(self.anomaly.topic, partition, offset)

    def _alerts(self, done: Detected, partition: int, offset: int) -> None:
        """The alerts of one by-actor item, with the lineage of the change that raised them."""
        assert self.anomaly is not None
        topic, source_partition, source_offset = done.source or (
            self.anomaly.topic, partition, offset)
        lineage = Lineage(topic, source_partition, source_offset)
        source = {"topic": topic, "partition": source_partition, "offset": source_offset}
        headers = [*self.policy, *lineage.headers()]
        for alert in done.alerts:
            key, value = alert_record(alert, self.policy_version, source)
            self.checkpoint.produce(self.alert_topic, key, value, headers)
            self.checkpoint.facts.anomalies[(alert.detector, alert.severity)] += 1

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

    def _partitions(self, topic: str) -> range:
        """The partitions of an output topic, from the cluster's metadata."""
        found = self.producer.list_topics(topic, timeout=10).topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            raise CrmMaskerError(f"output topic {topic} has no partitions; `crm-masker topics` "
                                 "creates the view topics")
        return range(len(found.partitions))

    def _watch(self, table: str, masked_rows: list[tuple[FieldPlan, dict[str, Any]]]) -> None:
        """The leak watch on a sampled event's masked rows."""
        facts = self.checkpoint.facts
        for plan, row in masked_rows:
            facts.leak_rows[table] += 1
            for column, kind in suspects(row, plan.watched):
                facts.pii_suspected[(table, column, kind)] += 1

