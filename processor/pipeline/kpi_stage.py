"""Released KPIs in the pipeline: facts from the masked changes, cells from one partition.

Whatever worker masks a change of a KPI's table, the change's row, masked by the KPI's view
(its own functions, on the columns that the KPI reads), goes as a *fact* (event time, group
values, subject pseudonym, measures) to the internal facts topic, in the same transaction as
the view's record (the facts of one step packed in one record, ``packed``). The facts topic
has one partition: its owner holds every open window (``KpiWindows``), so each window's cells
and its total are computed together, and its cells go into the transaction that commits the
facts' offsets. On an assignment or an abort the windows are rebuilt by replaying the facts
up to the committed offset (their cells dropped: released then), as the anomaly detectors are.

Only masked values reach a fact: a KPI groups by what its view publishes.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

import orjson
from confluent_kafka import Producer, TopicPartition

from processor.errors import PoisonEvent
from processor.formats.decoded import Decoder, decoder_of
from processor.formats.logical_types import LogicalType
from processor.kpi.config import KpiRules
from processor.kpi.windows import Cell, Fact, KpiWindows
from processor.masking.compiler import CompiledRules
from processor.masking.plan import FieldPlan
from processor.pipeline.packed import unpacked
from processor.pipeline.topic_reader import partitions_of, replay

log = logging.getLogger(__name__)
#: milliseconds per unit of the event-time encodings (None: days)
_MS = {"io.debezium.time.Date": None, "org.apache.kafka.connect.data.Date": None,
       "io.debezium.time.MicroTimestamp": 0.001, "io.debezium.time.Timestamp": 1,
       "org.apache.kafka.connect.data.Timestamp": 1}


#: the event times whose windows (a year at most) start and end in years 1 to 9999
TIME_RANGE_MS = (-62_135_596_800_000 + 400 * 86_400_000,
                 253_402_300_799_999 - 400 * 86_400_000)
#: what a fact's group values and subject may be (they key the cells)
SCALARS = (str, int, float, bool, type(None))


def epoch_ms(logical: LogicalType, value: Any) -> int | None:
    """An event-time value in milliseconds since the epoch; None: not one, or beyond the
    years a window can name (PostgreSQL's infinity, as Debezium sends it)."""
    if type(value) is not int or logical.name not in _MS:
        return None
    per = _MS[logical.name]
    ms = value * 86_400_000 if per is None else int(value * per)
    return ms if TIME_RANGE_MS[0] <= ms <= TIME_RANGE_MS[1] else None


@dataclass(frozen=True)
class KpiSource:
    """How one KPI reads a change of its table: its view's plan, on the KPI's columns."""

    name: str
    rules: KpiRules
    plan: FieldPlan
    subject: str
    time_type: LogicalType
    measure_decoders: tuple[Decoder | None, ...]

    @classmethod
    def of(cls, name: str, rules: KpiRules, plan: FieldPlan, subject: str) -> KpiSource:
        read = {rules.time, subject, *rules.group_by, *(m.column for m in rules.measures.values())}
        declared = plan.declared
        return cls(name, rules, replace(plan, steps=tuple(
            step for step in plan.steps if step[0] in read)), subject, declared[rules.time],
            tuple(decoder_of(declared[m.column]) if m.column in declared else None
                  for m in rules.measures.values()))

    def native_spec(self) -> dict[str, Any] | None:
        """What the native core needs to make this KPI's facts in a batch, as ``fact`` makes
        them (``native/src/engine.rs``, ``fact``); ``plan`` is the plan itself, which the
        core's spec numbers. None: the facts stay Python's — measures, which decode their
        values, and a key of several columns, which a fact names sorted."""
        if self.rules.measures or len(self.plan.key_fields) > 1:
            return None
        per = _MS.get(self.time_type.name, "none")
        unit = None if per == "none" else "days" if per is None else {"factor": per}
        return {"kpi": self.name, "plan": self.plan, "time": self.rules.time,
                "time_unit": unit, "time_range": TIME_RANGE_MS,
                "group_by": list(self.rules.group_by), "subject": self.subject}

    def fact(self, op: str, row: dict[str, Any], source: int, sources: int
             ) -> dict[str, Any] | None:
        """The fact of one change (``row``: unmasked, the before image of a delete) from
        partition ``source`` of ``sources``; None: the row has no event time."""
        image = self.plan.mask_row(row)
        time_ms = epoch_ms(self.time_type, image.get(self.rules.time))
        group = [image.get(column) for column in self.rules.group_by]
        if time_ms is None or not all(isinstance(v, SCALARS) for v in group):
            return None  # no cell can hold it (an array or object is no group)
        key = self.plan.mask_key({name: row[name] for name, _ in self.plan.key_fields
                                  if name in row})
        measures = []
        for decode, measure in zip(self.measure_decoders, self.rules.measures.values(),
                                   strict=True):
            raw = image.get(measure.column)
            measures.append(decode(raw) if decode is not None and raw is not None else raw)
        return {"k": self.name, "t": time_ms, "p": source, "n": sources,
                "r": orjson.dumps(key, option=orjson.OPT_SORT_KEYS).decode(),
                "d": op == "d", "g": group,
                "s": image.get(self.subject), "m": measures}


class KpiStage:
    """The facts of the masked records, and the windows of the facts topic's partition."""

    def __init__(self, compiled: CompiledRules) -> None:
        rules = compiled.validated.rules
        self.topic = rules.kpi.facts_topic
        self.kpis = rules.kpis
        self.sha256 = compiled.validated.sha256
        self.version = compiled.validated.version
        #: source topic → the KPIs that read its table
        self.sources: dict[str, list[KpiSource]] = {}
        for route in compiled.routes.values():
            for view in route.views:
                for name, kpi in rules.kpis.items():
                    if (kpi.view, kpi.table) == (view.view, route.table):
                        self.sources.setdefault(route.source_topic, []).append(KpiSource.of(
                            name, kpi, view.plan, rules.tables[kpi.table].subject or ""))
        #: partitions of each source topic (``refresh``)
        self.partitions: dict[str, int] = {}
        self.windows = self._fresh()

    def _fresh(self) -> dict[str, KpiWindows]:
        return {name: KpiWindows(name, kpi) for name, kpi in self.kpis.items()}

    def refresh(self, metadata: Producer) -> None:
        """The source topics' partition counts, from the cluster's metadata."""
        for topic in self.sources:
            try:
                self.partitions[topic] = len(partitions_of(metadata, topic, 30))
            except RuntimeError:
                continue

    def native_specs(self) -> dict[str, list[dict[str, Any]]]:
        """Source topic → the facts that the native core can make of its changes."""
        specs: dict[str, list[dict[str, Any]]] = {}
        for topic, sources in self.sources.items():
            for source in sources:
                spec = source.native_spec()
                if spec is not None:
                    specs.setdefault(topic, []).append(spec)
        return specs

    def python_topics(self) -> set[str]:
        """The source topics of which some KPI's facts are Python's to make (their rows must
        come back from the native core)."""
        return {topic for topic, sources in self.sources.items()
                if any(source.native_spec() is None for source in sources)}

    def facts(self, topic: str, op: str, row: dict[str, Any] | None, partition: int,
              made: Collection[str] = ()) -> list[bytes]:
        """The facts of one change of a source topic (its unmasked row), for the facts topic,
        but for the KPIs named in ``made`` (the native core made theirs); a change that the
        KPIs cannot read (no event time, a value the view refuses) is left out of them."""
        if row is None or op not in ("c", "u", "r", "d"):
            return []
        out = []
        for source in self.sources.get(topic, ()):
            if source.name in made:
                continue
            try:
                fact = source.fact(op, row, partition, self.partitions.get(topic, 1))
            except PoisonEvent:
                continue  # the view dead-letters the event
            if fact is not None:
                out.append(orjson.dumps(fact))
        return out

    def on_record(self, value: bytes | None) -> list[tuple[str, bytes, bytes]]:
        """One record of the facts topic (its packed facts) into their KPIs' windows; the
        released cells as (topic, key, value)."""
        try:
            items = unpacked(value)
        except orjson.JSONDecodeError:
            items = [None]
        cells, skipped = [], 0
        for item in items:
            try:
                windows, fact = self._fact(item)
            except (KeyError, TypeError, ValueError):
                skipped += 1
                continue
            cells += [self._record(windows, cell) for cell in windows.on_fact(fact)]
        if skipped:
            log.warning("%s: %d item(s) that the processor did not write (or of a KPI that the "
                        "rules no longer name); skipped", self.topic, skipped)
        return cells

    def _fact(self, raw: Any) -> tuple[KpiWindows, Fact]:
        """A fact item read back, with its KPI's windows; KeyError, TypeError or ValueError
        for what no window can hold."""
        windows = self.windows[raw["k"]]
        fact = Fact(int(raw["t"]), int(raw["p"]), int(raw["n"]), str(raw["r"]),
                    bool(raw["d"]), tuple(raw["g"]), raw["s"], tuple(raw["m"]))
        if not (TIME_RANGE_MS[0] <= fact.time_ms <= TIME_RANGE_MS[1]
                and all(isinstance(v, SCALARS) for v in (*fact.group, fact.subject))):
            raise ValueError("a fact that no window can hold")
        return windows, fact

    def _record(self, windows: KpiWindows, cell: Cell) -> tuple[str, bytes, bytes]:
        value = {**cell.to_json(windows.name, windows.rules), "rules_version": self.version,
                 "rules_sha256": self.sha256}
        key = orjson.dumps([windows.name, value["window_start"], cell.group],
                           option=orjson.OPT_SORT_KEYS)
        return windows.rules.topic, key, orjson.dumps(value)

    @property
    def late(self) -> dict[str, int]:
        return {name: w.late for name, w in self.windows.items()}

    def restore(self, bootstrap: str, extra: dict[str, str], committed: list[TopicPartition],
                timeout_s: float = 60.0) -> int:
        """Fresh windows, fed with the facts before the committed offset (their cells were
        released then); none when this worker does not own the facts partition."""
        self.windows = self._fresh()
        replayed = replay(bootstrap, "kpi-restore", extra, committed,
                          lambda msg: self.on_record(msg.value()), timeout_s)
        if committed:
            log.info("KPI windows rebuilt from %d committed facts", replayed)
        return replayed
