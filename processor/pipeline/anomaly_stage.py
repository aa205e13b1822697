"""Anomaly detection inside the processor's transactions, partitioned by actor.

Two halves, as a Kafka Streams topology with a repartition topic:

1. **By actor** (``ByActor``): each access event and each change of the users table, from
   whichever worker masks it, is written to the internal by-actor topic, to the partition of
   its actor (a user row: of its id) under Kafka's default partitioner, in the same
   transaction as the masked records; the items of one step for one partition go packed in
   one record (``packed``). A partition of that topic then holds all of some actors: their
   user rows and their accesses, in one order.
2. **Detection** (``ActorPartitions``): the detectors run per assigned partition of the
   by-actor topic, one engine each; their alerts go into the transaction that commits the
   by-actor offsets, so they exist exactly when those offsets are committed. After a restart,
   a rebalance or an abort, an engine is rebuilt by replaying its partition up to the
   committed offset with the alerts of the replay discarded (they were committed before): the
   detectors work on event time only, so the replay reaches the same state and the alerts
   that follow are the same, with the same ids — none lost, none twice.

Event time across partitions: a partition of the by-actor topic receives each actor's events
from every partition of the access log, interleaved as the workers forwarded them. Each
access record names its source partition, and each forwarding transaction ends with a
progress mark to every by-actor partition (how far it read each source partition); an
engine's watermark is the least of its sources' (as Flink's), so a source that is read behind
the others makes none of its events late.

Users before accesses: an access must meet the user rows written before it (its role, an
unknown or deactivated account). So whenever a worker starts reading the access log (an
assignment, a redo after an abort) it holds the log back until the group has committed the
users topic — all its partitions, whoever owns them — up to their ends as of that moment,
as Kafka Streams bootstraps a global table before it processes a stream.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from processor.anomaly.alerts import Alert
from processor.anomaly.config import AnomalyRules
from processor.anomaly.engine import AnomalyEngine
from processor.anomaly.events import UNITS_PER_MS, AccessEvent, ChangeReader, UserState
from processor.pipeline.packed import partition_of, unpacked
from processor.pipeline.topic_reader import committed, partitions_of, replay, watermarks
from processor.rules.model import RuleSet

log = logging.getLogger(__name__)
#: the longest the access log waits for the users topic (an open transaction at its end
#: keeps the group's committed offsets short of the end)
USERS_FIRST_MAX_S = 30.0
#: how often a held access log asks the group coordinator for the users topic's offsets
USERS_FIRST_POLL_S = 0.2
#: the rows the detectors read: a row without their columns is no access event
ROW_ERRORS = (KeyError, TypeError, ValueError, ArithmeticError)


@dataclass(frozen=True)
class Forwarded:
    """An item for the by-actor topic, and the partition of its actor (``packed``)."""

    partition: int
    value: bytes


class ByActor:
    """Access events and user changes, read from the unmasked rows, keyed by actor."""

    def __init__(self, rules: RuleSet, anomaly: AnomalyRules) -> None:
        self.topic = anomaly.by_actor_topic
        self.access_topic = rules.tables[anomaly.access_log.table].topic
        self.users_topic = rules.tables[anomaly.users.table].topic if anomaly.users else None
        self.table_of = {self.access_topic: anomaly.access_log.table}
        if anomaly.users is not None and self.users_topic is not None:
            self.table_of[self.users_topic] = anomaly.users.table
        self.rules = anomaly
        self._read = ChangeReader(anomaly)
        #: partitions of the access log and of the by-actor topic (``refresh`` at assignment)
        self.source_partitions = 1
        self.partitions = 1
        #: the latest event time forwarded from each access-log partition in the open
        #: transaction: the progress marks at its end
        self.progress: dict[int, int] = {}
        #: the change that the open transaction's last access event came from: the lineage
        #: of what its progress marks close
        self.last_source: list[Any] | None = None

    def refresh(self, metadata: Producer) -> None:
        """The partition counts, from the cluster's metadata (a topic may have grown)."""
        for attr, topic in (("source_partitions", self.access_topic), ("partitions", self.topic)):
            try:
                setattr(self, attr, len(partitions_of(metadata, topic, 30)))
            except RuntimeError:
                continue  # not created yet: the start-up check has said so

    def forward(self, topic: str, op: str, row: dict[str, Any] | None, partition: int,
                offset: int) -> Forwarded | None:
        """The by-actor record of a change of a watched table, or None (not an access event
        or user change; or a row without the mapped columns, which is masked all the same)."""
        table = self.table_of.get(topic)
        if table is None:
            return None
        try:
            change = self._read(table, op, row)
        except ROW_ERRORS:
            log.warning("a %s row lacks the columns that the anomaly rules map; not counted",
                        table)
            return None
        source = [topic, partition, offset]
        if isinstance(change, UserState):
            return Forwarded(partition_of(change.user_id.encode(), self.partitions), orjson.dumps(
                {"u": [change.user_id, change.role, change.active, change.deactivated_at_ms],
                 "src": source}))
        if change is None:
            return None
        self._progressed(partition, change.ts_ms, source)
        return Forwarded(partition_of(change.actor.encode(), self.partitions), orjson.dumps(
            {"a": list(change), "p": partition, "n": self.source_partitions, "src": source}))

    def native_specs(self) -> dict[str, dict[str, Any]]:
        """Source topic → what the native core reads of its rows to make the items that
        ``forward`` makes (``native/src/by_actor.rs``): the anomaly rules' column mapping."""
        log_map = self.rules.access_log
        specs: dict[str, dict[str, Any]] = {self.access_topic: {
            "kind": "access", "id": log_map.id, "actor": log_map.actor,
            "action": log_map.action, "object_type": log_map.object_type,
            "count": log_map.count, "classification": log_map.classification,
            "time": log_map.time, "unit": UNITS_PER_MS[log_map.time_encoding]}}
        users = self.rules.users
        if users is not None and self.users_topic is not None:
            specs[self.users_topic] = {
                "kind": "users", "id": users.id, "role": users.role, "active": users.active,
                "deactivated_at": users.deactivated_at,
                "unit": UNITS_PER_MS[users.time_encoding]}
        return specs

    def made(self, partition: int, offset: int, ts_ms: int | None) -> None:
        """An item that the native core made of a change at ``partition``/``offset`` of the
        access log (``ts_ms``: an access event's time; None: a user's state): the progress
        marks count it as ``forward`` would."""
        if ts_ms is not None:
            self._progressed(partition, ts_ms, [self.access_topic, partition, offset])

    def _progressed(self, partition: int, ts_ms: int, source: list[Any]) -> None:
        """An access event forwarded from ``partition``: what the progress marks say."""
        if ts_ms > self.progress.get(partition, -1):
            self.progress[partition] = ts_ms
        self.last_source = source

    def marks(self) -> list[tuple[int, bytes]]:
        """(by-actor partition, progress mark) for each partition, when the open transaction
        forwarded access events; the progress starts again."""
        if not self.progress:
            return []
        mark = orjson.dumps({"m": sorted(self.progress.items()), "n": self.source_partitions,
                             "src": self.last_source})
        self.clear()
        return [(p, mark) for p in range(self.partitions)]

    def clear(self) -> None:
        self.progress, self.last_source = {}, None


@dataclass
class Detected:
    """What one by-actor record did to its partition's detectors."""

    alerts: list[Alert] = field(default_factory=list)
    #: (role label, action label, records) of an access event counted on time
    volume: tuple[str, str, int] | None = None
    #: detectors that could not count a late access event
    missed: list[str] = field(default_factory=list)
    #: (topic, partition, offset) of the change that the record came from
    source: tuple[str, int, int] | None = None


class ActorPartitions:
    """The detectors of each assigned partition of the by-actor topic."""

    def __init__(self, anomaly: AnomalyRules) -> None:
        self.rules = anomaly
        self.topic = anomaly.by_actor_topic
        self.engines: dict[int, AnomalyEngine] = {}

    def engine(self, partition: int) -> AnomalyEngine:
        found = self.engines.get(partition)
        if found is None:
            found = self.engines[partition] = AnomalyEngine(self.rules)
        return found

    def on_record(self, partition: int, value: bytes | None) -> list[Detected]:
        """One record of the by-actor topic (its packed items) into its partition's
        detectors; what is not an item (only the processor writes the topic) is skipped with
        a warning."""
        engine = self.engine(partition)
        try:
            items = unpacked(value)
        except orjson.JSONDecodeError:
            items = [None]
        done = [self._item(engine, item) for item in items]
        if None in done:
            log.warning("%s[%d]: %d item(s) that the processor did not write; skipped",
                        self.topic, partition, done.count(None))
        return [d for d in done if d is not None]

    @staticmethod
    def _item(engine: AnomalyEngine, record: Any) -> Detected | None:
        try:
            if "a" in record:
                alerts = engine.on_access(AccessEvent(*record["a"]), int(record["p"]),
                                          int(record["n"]))
                done = Detected(alerts, engine.last_access, engine.missed)
            elif "u" in record:
                done = Detected(engine.on_user(UserState(*record["u"])))
            else:
                progress = {int(p): int(ts) for p, ts in record["m"]}
                done = Detected(engine.on_progress(progress, int(record["n"])))
            topic, source_partition, offset = record["src"]
            done.source = (str(topic), int(source_partition), int(offset))
            return done
        except ROW_ERRORS:
            return None

    def restore(self, bootstrap: str, extra: dict[str, str], committed: list[TopicPartition],
                timeout_s: float = 60.0) -> int:
        """Fresh engines for these partitions, fed with what precedes their committed
        offsets; alerts dropped. The engines of other partitions are forgotten (revoked)."""
        self.engines = {tp.partition: AnomalyEngine(self.rules) for tp in committed}
        replayed = replay(bootstrap, "anomaly-restore", extra, committed,
                          lambda msg: self.on_record(msg.partition() or 0, msg.value()),
                          timeout_s)
        log.info("anomaly detectors of %d partition(s) rebuilt from %d committed records",
                 len(committed), replayed)
        return replayed


class AnomalyStage:
    """Both halves, and the hold that lets user rows go first."""

    def __init__(self, rules: RuleSet, anomaly: AnomalyRules) -> None:
        self.rules = anomaly
        self.by_actor = ByActor(rules, anomaly)
        self.detection = ActorPartitions(anomaly)
        self.topic = anomaly.by_actor_topic
        self.users_first = UsersFirst(self.by_actor.access_topic, self.by_actor.users_topic)

    @property
    def table_of(self) -> dict[str, str]:
        """Source topic → table, of the tables whose unmasked rows the detectors read."""
        return self.by_actor.table_of

    def assigned(self, consumer: Consumer, metadata: Producer, partitions: list[TopicPartition],
                 bootstrap: str, extra: dict[str, str]) -> None:
        """After an assignment or a redo: the detectors of the assigned by-actor partitions
        rebuilt at their committed offsets, and the access log held for the users topic.
        Runs inside the consumer's rebalance callback: metadata comes through another client
        (see ``partitions_of``)."""
        self.by_actor.refresh(metadata)
        self.by_actor.clear()
        mine = [TopicPartition(tp.topic, tp.partition) for tp in partitions
                if tp.topic == self.topic]
        offsets = committed(consumer, mine) if mine else []
        self.detection.restore(bootstrap, extra, offsets)
        self.users_first.start(consumer, metadata, partitions)


class UsersFirst:
    """Holds the access log back (paused) until the group has committed the users topic up to
    its end as of the moment this worker started reading."""

    def __init__(self, access_topic: str, users_topic: str | None) -> None:
        self.access_topic, self.users_topic = access_topic, users_topic
        self.access: list[TopicPartition] = []  # paused
        self.users_end: list[TopicPartition] = []
        self.until = self.next_check = 0.0

    def start(self, consumer: Consumer, metadata: Producer,
              partitions: list[TopicPartition]) -> None:
        """Pause this worker's access-log partitions while the users topic is not committed
        to its end."""
        self.release(consumer)
        access = [TopicPartition(tp.topic, tp.partition) for tp in partitions
                  if tp.topic == self.access_topic]
        if not access or self.users_topic is None:
            return
        try:
            users = [TopicPartition(self.users_topic, p)
                     for p in partitions_of(metadata, self.users_topic, 30)]
        except RuntimeError:
            return  # no users topic yet: nothing to wait for
        ends = [TopicPartition(tp.topic, tp.partition,
                               watermarks(consumer, tp.topic, tp.partition, 30)[1])
                for tp in users]
        if self._reached(consumer, ends):
            return
        consumer.pause(access)
        self.access, self.users_end = access, ends
        self.until = time.monotonic() + USERS_FIRST_MAX_S
        log.info("access log held until the users topic is committed up to its end")

    def _reached(self, consumer: Consumer, ends: list[TopicPartition]) -> bool:
        done_upto = committed(consumer, [TopicPartition(t.topic, t.partition) for t in ends])
        for end, done in zip(ends, done_upto, strict=True):
            low, _ = consumer.get_watermark_offsets(end, cached=True)
            if max(done.offset, low) < end.offset:
                return False
        return True

    def check(self, consumer: Consumer) -> None:
        """Resume the access log once the users topic is committed to the end (or waited too
        long)."""
        if not self.users_end:
            return
        now = time.monotonic()
        if now < self.next_check:
            return
        self.next_check = now + USERS_FIRST_POLL_S
        if self._reached(consumer, self.users_end):
            log.info("users topic committed up to its end: access log resumed")
        elif now >= self.until:
            log.warning("users topic not committed to its end within %.0fs: access log "
                        "resumed; accesses may meet users not known yet", USERS_FIRST_MAX_S)
        else:
            return
        self.release(consumer)

    def release(self, consumer: Consumer) -> None:
        if self.access:
            consumer.resume(self.access)
        self.access, self.users_end = [], []


def alert_record(alert: Alert, rules_version: str, lineage: dict[str, Any]) -> tuple[bytes, bytes]:
    return alert.alert_id.encode(), orjson.dumps(
        {**alert.to_json(), "rules_version": rules_version, "source": lineage})

