"""Anomaly detection inside the processor's transactions, rebuilt from Kafka on assignment.

Alerts are produced in the same transaction as the batch that caused them, so they exist
exactly when the batch's offsets are committed. After a restart the detectors' state is
rebuilt by replaying the users topic and the access log up to the committed offsets, with the
alerts of the replay discarded (they were committed before): detectors work on event time
only, so the replay reaches the same state and the alerts that follow are the same, with the
same ids — none lost, none twice.

First version's limit: the access-log topic must have one partition (the order of the events
is then total); a keyed repartition by actor is the way to more.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from confluent_kafka import Consumer, TopicPartition

from processor.anomaly.alerts import Alert
from processor.anomaly.config import AnomalyRules
from processor.anomaly.engine import AnomalyEngine
from processor.errors import CrmMaskerError, PoisonEvent
from processor.formats.envelope import ChangeEvent, decode_json, parse_envelope
from processor.pipeline.topic_reader import committed_reader, partitions_of, read_partition
from processor.rules.model import RuleSet

log = logging.getLogger(__name__)


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
        except (KeyError, TypeError, ValueError):
            # a row without the mapped columns: no access event; the masking still happens
            log.warning("a %s row lacks the columns that anomaly.%s maps; not counted",
                        table, "users" if table != self.rules.access_log.table else "access_log")
            return []

    def role_of(self, actor: str) -> str:
        user = self.engine.users.get(actor)
        return user.role if user is not None else "unknown"

    def restore(self, bootstrap: str, extra: dict[str, str], committed: list[TopicPartition],
                timeout_s: float = 60.0) -> int:
        """A fresh engine fed with everything before the committed offsets; alerts dropped."""
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
                        replayed += self._replay(topic, msg.value())
        finally:
            reader.close()
        log.info("anomaly detectors rebuilt from %d committed events", replayed)
        return replayed

    def _replay(self, topic: str, value: bytes | None) -> int:
        if value is None:
            return 0
        try:
            self.on_change(topic, parse_envelope(decode_json(value)))
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


def alert_record(alert: Alert, rules_version: str, lineage: dict[str, Any]) -> tuple[bytes, bytes]:
    return alert.alert_id.encode(), orjson.dumps(
        {**alert.to_json(), "rules_version": rules_version, "source": lineage})
