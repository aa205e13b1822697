"""Anomaly detection inside the processor's transactions, rebuilt from Kafka on assignment.

Alerts are produced in the same transaction as the batch that caused them, so they exist
exactly when the batch's offsets are committed. After a restart the detectors' state is
rebuilt by replaying the users topic and the access log up to the committed offsets, with the
alerts of the replay discarded (they were committed before): detectors work on event time
only, so the replay reaches the same state and the alerts that follow are the same, with the
same ids — none lost, none twice.

Users before accesses: Kafka orders records within a partition only, and an access must meet
the user rows written before it (its role, an unknown or deactivated account). So whenever the
processor starts reading (an assignment, a redo after an abort), the access log waits until the
users topic has been read up to its end as of that moment, as Kafka Streams bootstraps a global
table before it processes a stream.

First version's limit: the access-log topic must have one partition (the order of the events
is then total); a keyed repartition by actor is the way to more.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import orjson
from confluent_kafka import Consumer, Message, TopicPartition

from processor.anomaly.alerts import Alert
from processor.anomaly.config import AnomalyRules
from processor.anomaly.engine import AnomalyEngine
from processor.avro.codec import Headers, RecordCodec
from processor.errors import CrmMaskerError, PoisonEvent
from processor.formats.envelope import ChangeEvent, parse_envelope
from processor.pipeline.topic_reader import committed_reader, partitions_of, read_partition
from processor.rules.model import RuleSet

log = logging.getLogger(__name__)
#: the longest the access log waits for the users topic (an open transaction at its end
#: keeps a read_committed reader short of the end offset)
USERS_FIRST_MAX_S = 30.0


class AnomalyStage:
    def __init__(self, rules: RuleSet, anomaly: AnomalyRules) -> None:
        self.rules = anomaly
        self.table_of = {rules.tables[anomaly.access_log.table].topic: anomaly.access_log.table}
        self.access_topic = rules.tables[anomaly.access_log.table].topic
        self.users_topic = None
        if anomaly.users is not None:
            self.users_topic = rules.tables[anomaly.users.table].topic
            self.table_of[self.users_topic] = anomaly.users.table
        self.engine = AnomalyEngine(anomaly)
        self.users_first = UsersFirst(self.access_topic, self.users_topic)

    def check(self, consumer: Consumer) -> None:
        """One partition each: the access log in one order, and every user seen by the process
        that owns it (the range assignor gives partition 0 of both to the same member)."""
        for topic in filter(None, (self.access_topic, self.users_topic)):
            try:
                partitions = partitions_of(consumer, topic, 30)
            except RuntimeError:
                continue  # not created yet: checked again when it is assigned
            if len(partitions) != 1:
                raise CrmMaskerError(
                    f"anomaly detection needs topic {topic} to have one partition (it has "
                    f"{len(partitions)}); remove `anomaly:` from the rules to run without it")

    def on_change(self, topic: str, event: ChangeEvent) -> list[Alert]:
        return self.on_row(topic, event.op, event.row)

    def on_row(self, topic: str, op: str, row: dict[str, Any] | None) -> list[Alert]:
        """One change of a watched table: its op and its row (the after image, or the before
        image of a delete), all the detectors read of it."""
        table = self.table_of.get(topic)
        if table is None:
            return []
        try:
            return self.engine.on_row(table, op, row)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            # a row without the mapped columns: no access event; the masking still happens
            log.warning("a %s row lacks the columns that anomaly.%s maps; not counted",
                        table, "users" if table != self.rules.access_log.table else "access_log")
            return []

    def restore(self, bootstrap: str, extra: dict[str, str], committed: list[TopicPartition],
                codec: RecordCodec, timeout_s: float = 60.0) -> int:
        """A fresh engine fed with everything before the committed offsets; alerts dropped.
        ``codec`` reads each record as the processor did (JSON or Avro)."""
        self.engine = AnomalyEngine(self.rules)
        upto = {(tp.topic, tp.partition): tp.offset for tp in committed}
        replayed = 0
        reader = committed_reader(bootstrap, "anomaly-restore", extra)
        try:
            for topic in filter(None, (self.users_topic, self.access_topic)):
                for pid in partitions_of(reader, topic, timeout_s):
                    end = upto.get((topic, pid), -1)
                    low, _ = reader.get_watermark_offsets(TopicPartition(topic, pid),
                                                          timeout=timeout_s)
                    if end <= low:
                        continue
                    for msg in read_partition(reader, topic, pid, low, end, timeout_s):
                        replayed += self._replay(topic, msg, codec)
        finally:
            reader.close()
        log.info("anomaly detectors rebuilt from %d committed events", replayed)
        return replayed

    def _replay(self, topic: str, msg: Message, codec: RecordCodec) -> int:
        if msg.value() is None:
            return 0
        try:
            decoded = codec.decode(msg.key(), msg.value(), cast("Headers", msg.headers()))
            self.on_change(topic, parse_envelope(decoded.value))
        except PoisonEvent:
            return 0  # it went to the DLQ the first time too
        return 1

    def topic_partitions(self, consumer: Consumer) -> list[TopicPartition]:
        out = []
        for topic in filter(None, (self.users_topic, self.access_topic)):
            try:
                out += [TopicPartition(topic, p) for p in partitions_of(consumer, topic, 30)]
            except RuntimeError:
                continue  # not created yet: nothing to replay
        return out


class UsersFirst:
    """Holds the access log back (paused) until the users topic is read up to its end."""

    def __init__(self, access_topic: str, users_topic: str | None) -> None:
        self.access_topic, self.users_topic = access_topic, users_topic
        self.access: list[TopicPartition] = []  # paused
        self.users_end: TopicPartition | None = None
        self.until = 0.0

    def start(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Pause the access log when this process reads both topics and users lag behind."""
        self.release(consumer)
        access = [tp for tp in partitions if tp.topic == self.access_topic]
        users = [TopicPartition(tp.topic, tp.partition) for tp in partitions
                 if tp.topic == self.users_topic]
        if not access or not users:
            return
        low, high = consumer.get_watermark_offsets(users[0], timeout=30)
        committed = consumer.committed(users, timeout=30)[0].offset
        if max(committed, low) >= high:
            return
        consumer.pause(access)
        self.access, self.users_end = access, TopicPartition(users[0].topic, users[0].partition,
                                                             high)
        self.until = time.monotonic() + USERS_FIRST_MAX_S
        log.info("access log held until the users topic is read up to offset %d", high)

    def check(self, consumer: Consumer) -> None:
        """Resume the access log once the users topic is read to the end (or waited too long)."""
        end = self.users_end
        if end is None:
            return
        position = consumer.position([TopicPartition(end.topic, end.partition)])[0].offset
        if position >= end.offset:
            log.info("users topic read up to offset %d: access log resumed", position)
        elif time.monotonic() >= self.until:
            log.warning("users topic not read to its end within %.0fs (at offset %d of %d): "
                        "access log resumed; accesses may meet users not known yet",
                        USERS_FIRST_MAX_S, position, end.offset)
        else:
            return
        self.release(consumer)

    def release(self, consumer: Consumer) -> None:
        if self.access:
            consumer.resume(self.access)
        self.access, self.users_end = [], None


def alert_record(alert: Alert, rules_version: str, lineage: dict[str, Any]) -> tuple[bytes, bytes]:
    return alert.alert_id.encode(), orjson.dumps(
        {**alert.to_json(), "rules_version": rules_version, "source": lineage})
