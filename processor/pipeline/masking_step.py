"""The one masking interface of the pipeline: consumed messages in, a ``Step`` out.

``Masker.mask(messages, at)`` masks from ``at`` on, with the native core for as long a run as
it takes, else one message with the Python engine (or one dead letter). Whichever made it, a
step carries the same things: its records ready for the producer, its share of the
transaction's facts (``account``), the unmasked changes of the detected tables and the leak
watch's sample. The batch handler neither knows nor asks which engine it was.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from confluent_kafka import KafkaException, Message

from processor.avro.codec import RecordCodec
from processor.avro.wire import id_header
from processor.errors import CrmMaskerError, PoisonEvent
from processor.governance.leakwatch import Sampler
from processor.masking import native
from processor.masking.compiler import ViewPlan
from processor.masking.engine import MaskingEngine, Outcome
from processor.masking.native import ReadyRecord
from processor.masking.plan import FieldPlan
from processor.pipeline.checkpoint import Checkpoint
from processor.pipeline.records import (
    H_SRC_OFFSET,
    H_SRC_PARTITION,
    H_SRC_TOPIC,
    H_UNAVAILABLE,
    Header,
    Lineage,
    dlq_record,
    masked_debezium_headers,
)

log = logging.getLogger(__name__)
#: what a record's headers (policy, lineage, Debezium's masked keys) and framing may add
HEADERS_ALLOWANCE = 4096
#: an unmasked change of a table that the anomaly detectors or the KPIs read:
#: (source topic, partition, offset, op, row image)
Change = tuple[str, int, int, str, "dict[str, Any] | None"]
#: the leak watch's input: a table and its masked rows, each with the plan that made it
Watched = tuple[str, list[tuple[FieldPlan, dict[str, Any]]]]


@dataclass(slots=True)
class Step(ABC):
    """Consumed messages up to ``end`` masked: what goes into the open transaction."""

    end: int
    records: list[ReadyRecord]
    #: records for a partition of their own: (partition, record)
    partitioned: list[tuple[int, ReadyRecord]] = field(default_factory=list)

    @abstractmethod
    def account(self, checkpoint: Checkpoint) -> None:
        """The step's inputs and counts into the transaction (offsets, audit, metrics)."""

    def changes(self) -> Iterator[Change]:
        """The unmasked changes of detected tables, in input order."""
        return iter(())

    def facts(self) -> tuple[list[bytes], frozenset[str]]:
        """The KPI facts that the masking made already, and the KPIs they are of (the
        others' facts are made of ``changes``)."""
        return [], frozenset()

    def items(self) -> list[tuple[int, bytes, int, int, int | None]]:
        """The anomaly detectors' items that the masking made already (``Segment.items``);
        the other changes of their tables are in ``changes``."""
        return []

    def watched(self) -> Iterator[Watched]:
        """The masked rows of the leak watch's sample."""
        return iter(())


@dataclass(slots=True, kw_only=True)
class NativeStep(Step):
    """A run of messages that the native core masked in one call."""

    segment: native.Segment
    core: native.NativeEngine
    views: dict[str, dict[str, ViewPlan]]

    def account(self, checkpoint: Checkpoint) -> None:
        facts = checkpoint.facts
        for tally in self.segment.topics:
            table, action_counts = self.core.route(tally.topic)
            facts.count_tally(table, action_counts, tally)
            for partition, records, first, last in tally.partitions:
                checkpoint.consumed_span(tally.topic, partition, records, first, last)
        facts.deletes += [(self.core.route(topic)[0], orjson.loads(key) if key else None)
                          for topic, key in self.segment.deletes]
        facts.shredded += self.segment.shredded
        checkpoint.source_ts_ms += self.segment.source_ts_ms

    def changes(self) -> Iterator[Change]:
        loads = orjson.loads
        for topic, partition, offset, op, row, _ in self.segment.detected:
            yield topic, partition, offset, op, loads(row)

    def facts(self) -> tuple[list[bytes], frozenset[str]]:
        return self.segment.facts, self.core.fact_kpis

    def items(self) -> list[tuple[int, bytes, int, int, int | None]]:
        return self.segment.items

    def watched(self) -> Iterator[Watched]:
        for topic, encoded in self.segment.watched:
            yield self.core.route(topic)[0], published_rows(self.views[topic], encoded)


@dataclass(slots=True, kw_only=True)
class PythonStep(Step):
    """One message masked by the Python engine (or by the core's one-event path)."""

    outcome: Outcome
    lineage: Lineage
    sampled: bool = False

    def account(self, checkpoint: Checkpoint) -> None:
        checkpoint.facts.count_outcome(self.outcome)
        published = checkpoint.facts.published
        published.update(topic for topic, _, _, _ in self.records)
        published.update(topic for _, (topic, _, _, _) in self.partitioned)
        checkpoint.consumed_record(self.lineage.topic, self.lineage.partition,
                                   self.lineage.offset, self.outcome.source_ts_ms)

    def changes(self) -> Iterator[Change]:
        event = self.outcome.event
        if event is not None:
            yield (self.lineage.topic, self.lineage.partition, self.lineage.offset, event.op,
                   event.row)

    def watched(self) -> Iterator[Watched]:
        if self.sampled:
            yield self.outcome.table, self.outcome.masked_rows


@dataclass(slots=True, kw_only=True)
class DeadLetter(Step):
    """One message that cannot be processed: its reason and coordinates, no data."""

    reason: str
    lineage: Lineage

    def account(self, checkpoint: Checkpoint) -> None:
        checkpoint.facts.dlq[self.reason] += 1
        checkpoint.consumed_record(self.lineage.topic, self.lineage.partition,
                                   self.lineage.offset, None)


class Masker:
    """Both engines behind one call: the native core for the runs it takes, the Python engine
    for the rest (Avro, records with Debezium's key headers, values the core is unsure of),
    dead letters for what neither can process."""

    def __init__(self, engine: MaskingEngine, core: native.NativeEngine | None,
                 codec: RecordCodec, policy: list[Header], dlq_topic: str,
                 max_message_bytes: int, partitions_of: Callable[[str], range],
                 leak_sample: Sampler) -> None:
        self.engine = engine
        self.native = core
        self.codec = codec
        self.policy = policy
        self.dlq_topic = dlq_topic
        self.max_bytes = engine.compiled.max_event_bytes
        # a masked record can be longer than its input: over the producer's limit it would be
        # refused (the transaction redone for ever); it is dead-lettered instead
        self.max_record_bytes = max_message_bytes - HEADERS_ALLOWANCE
        self.partitions_of = partitions_of
        self.leak_sample = leak_sample
        # source topic → view topic → view, for encoding and masking Debezium's key headers
        self.views = {topic: {view.topic: view for view in route.views}
                      for topic, route in engine.compiled.routes.items()}
        if core is not None:
            core.set_headers(policy, (H_SRC_TOPIC, H_SRC_PARTITION, H_SRC_OFFSET))

    def mask(self, messages: list[Message], at: int) -> Step:
        """Messages from ``at`` on: as many as the native core takes in one call, else one."""
        if self.native is not None:
            step = self._native_run(self.native, messages, at)
            if step is not None:
                return step
        return self._one(messages[at], at + 1)

    def _native_run(self, core: native.NativeEngine, messages: list[Message],
                    start: int) -> NativeStep | None:
        """Messages from ``start`` through the native core, up to the first that it leaves to
        Python; None when it leaves the first. The leak watch's sample among them comes back
        with its records."""
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
            return None
        if segment.end == start:
            return None
        self.leak_sample.skip(segment.end - start)
        return NativeStep(segment.end, segment.records, segment=segment, core=core,
                          views=self.views)

    def _one(self, msg: Message, end: int) -> Step:
        """One input record: masked, or a dead letter. Any failure that is not the
        processor's own (a configuration or Kafka problem, which stops it) is a dead letter
        ``internal_error``: one event never blocks its partition. Only the exception's class
        is logged (its message could quote a value)."""
        topic, partition, offset = cast(str, msg.topic()), cast(int, msg.partition()), cast(
            int, msg.offset())
        lineage = Lineage(topic, partition, offset)
        sampled = self.leak_sample()
        try:
            try:
                outcome, records = self._masked(msg, topic, sampled)
                self._check_sizes(records)
            except (PoisonEvent, CrmMaskerError, KafkaException):
                raise
            except Exception as exc:
                log.error("internal error on %s[%s]@%s: %s; dead-lettered", topic, partition,
                          offset, type(exc).__name__)
                raise PoisonEvent("internal_error", type(exc).__name__) from None
        except PoisonEvent as exc:
            key, value, headers = dlq_record(exc, lineage, self.policy)
            return DeadLetter(end, [(self.dlq_topic, key, value, headers)], reason=exc.reason,
                              lineage=lineage)
        headers = [*self.policy, *lineage.headers()]
        if outcome.unavailable:
            headers.append((H_UNAVAILABLE, ",".join(outcome.unavailable).encode()))
        ready = [(out_topic, key, value, headers + extra if extra else headers)
                 for out_topic, key, value, extra in records]
        if outcome.op != "t":
            return PythonStep(end, ready, outcome=outcome, lineage=lineage, sampled=sampled)
        # a truncate goes to every partition: each consumer forgets the rows of its own
        # partitions, in order with the rows written after the truncate
        return PythonStep(end, [], partitioned=[(partition, record) for record in ready
                                                for partition in self.partitions_of(record[0])],
                          outcome=outcome, lineage=lineage, sampled=sampled)

    def _masked(self, msg: Message, topic: str, sampled: bool
                ) -> tuple[Outcome, list[ReadyRecord]]:
        """Decode, mask and encode; PoisonEvent for anything that cannot be processed.

        JSON events go to the native core's one-event path when it is there; whatever the
        core leaves (Avro, poison, values it is unsure of) takes the Python engine. For the
        leak watch's sample the masked rows are read back from the records."""
        value = msg.value()
        if value is not None and len(value) > self.max_bytes:
            raise PoisonEvent("oversized", f"value over max_event_bytes={self.max_bytes}")
        raw_headers = cast("list[Header] | None", msg.headers())
        schema_id = raw_headers and (id_header(raw_headers, "value") or id_header(raw_headers, "key"))
        if self.native is not None and not schema_id:
            done = self.native.process(topic, msg.key(), value)
            if done is not None:
                outcome, encoded = done
                views = self.views[topic]
                if sampled:
                    outcome.masked_rows = published_rows(views, encoded)
                return outcome, [
                    (out_topic, key, out_value,
                     masked_debezium_headers(raw_headers, views[out_topic].plan)
                     if raw_headers else [])
                    for out_topic, key, out_value in encoded]
        decoded = self.codec.decode(msg.key(), value, raw_headers)
        writer = decoded.value_writer
        outcome = self.engine.process(topic, decoded.key, decoded.value,
                                      writer.row_types if writer is not None else None)
        views, codec = self.views[topic], self.codec
        return outcome, [
            (out.topic, codec.encode_key(decoded, views[out.topic], out.key),
             codec.encode_value(decoded, views[out.topic], out.value),
             masked_debezium_headers(raw_headers, views[out.topic].plan) if raw_headers else [])
            for out in outcome.records]

    def _check_sizes(self, records: list[ReadyRecord]) -> None:
        for _, key, value, _ in records:
            if len(key or b"") + len(value or b"") > self.max_record_bytes:
                raise PoisonEvent("oversized_output", "a masked record over the producer's "
                                  f"message.max.bytes, less {HEADERS_ALLOWANCE} for headers")


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
