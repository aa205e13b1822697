"""The native core (Rust, ``native/``): the JSON hot path of ``MaskingEngine``, same outputs.

The core receives the compiled plans as data (each action describes itself with
``Action.native_spec``) together with every action's Python ``apply``. It masks JSON events
on its own and hands back to Python whatever it is not sure to treat exactly alike: a value
an action cannot take natively goes to that action's ``apply``; an event it cannot finish (not
JSON, not an envelope, a value Python refuses …) comes back as ``None`` and the caller runs
the Python engine on it, which produces the outputs or names the dead-letter reason. The
differential tests hold the two engines to the same outputs.

``process`` takes one event; ``process_batch`` takes the processor's consumed messages as they
are, with the output headers and the transaction's tally (``Segment``), and stops at the first
message that Python must take.

The core is optional: without the extension module (no Rust toolchain) everything runs on the
Python engine, only slower. ``make install`` builds it when ``cargo`` is there.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import orjson

from processor.actions.base import Action
from processor.errors import CrmMaskerError
from processor.formats.envelope import UNAVAILABLE_MARKERS, ChangeEvent
from processor.formats.headers import DEBEZIUM_KEY_HEADERS, KEY_ID_HEADER, VALUE_ID_HEADER, Header
from processor.formats.json_types import SOURCE_FIELDS, TRANSACTION_FIELDS, native_fields
from processor.masking.compiler import CompiledRules, TableRoute
from processor.masking.engine import Outcome
from processor.masking.plan import ApplyFn, FieldPlan
from processor.pii.names import PyNameSet

#: input headers that Python reads (the schema ids of Avro records, Debezium's key headers,
#: masked like the key): a message with one is left to the Python path
PYTHON_HEADERS = (KEY_ID_HEADER, VALUE_ID_HEADER, *DEBEZIUM_KEY_HEADERS)
JSON_SCALARS = (str, int, float, bool, type(None))
#: an encoded output record: topic, key, value (None: a tombstone)
EncodedRecord = tuple[str, bytes | None, bytes | None]
#: an output record ready for ``Producer.produce``: topic, key, value, headers
ReadyRecord = tuple[str, bytes | None, bytes | None, list[Header]]


@dataclass(frozen=True, slots=True)
class TopicTally:
    """What a segment's inputs from one source topic did, for the transaction's facts."""

    topic: str
    ops: dict[str, int]  # by op, or by skip reason for an event without one (a tombstone)
    skipped: dict[str, int]  # by skip reason
    unknown_fields: int
    masked: int  # events masked (not skipped)
    published: dict[str, int]  # output records by view topic
    partitions: list[tuple[int, int, int, int]]  # (partition, inputs, first, last offset)
    unknown_names: list[str]  # the unknown columns' names, each once (schema drift)


@dataclass(frozen=True, slots=True)
class Segment:
    """Consumed messages ``[start:end]`` masked by the core in one call, in their order."""

    end: int
    records: list[ReadyRecord]
    topics: list[TopicTally]
    deletes: list[tuple[str, bytes | None]]  # (source topic, masked key JSON) per delete
    source_ts_ms: list[int]
    #: (source topic, partition, offset, op, unmasked row JSON, is after image) of each event
    #: of a detected topic, for the anomaly detectors and the KPIs that Python serves
    detected: list[tuple[str, int, int, str, bytes, bool]]
    #: (source topic, its records) of each message that the leak watch samples
    watched: list[tuple[str, list[EncodedRecord]]]
    #: (table, data key id) shredded by the segment's erasures (deletes of a subject's row)
    shredded: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    #: the KPI facts that the core made (of the KPIs in ``NativeEngine.fact_kpis``), in order
    facts: list[bytes] = dataclasses.field(default_factory=list)
    #: (by-actor partition, item, source partition, offset, access time or None) of each item
    #: that the core made for the anomaly detectors, in order
    items: list[tuple[int, bytes, int, int, int | None]] = dataclasses.field(
        default_factory=list)


def load_core() -> ModuleType | None:
    """The extension module, or None when it is not installed."""
    try:
        return importlib.import_module("crm_masker_native")
    except ImportError:
        return None


ENGINE_CHOICES = ("auto", "native", "python")


def select(compiled: CompiledRules, choice: str = "auto", detected: Collection[str] = (),
           facts: Mapping[str, list[dict[str, Any]]] | None = None,
           batch_detected: Collection[str] | None = None,
           by_actor: Mapping[str, dict[str, Any]] | None = None) -> NativeEngine | None:
    """The native engine for ``auto`` (when installed) and ``native`` (else an error);
    None: everything on the Python engine. ``detected``, ``facts``, ``batch_detected``,
    ``by_actor``: see ``NativeEngine``."""
    if choice not in ENGINE_CHOICES:
        raise CrmMaskerError(f"engine must be one of {', '.join(ENGINE_CHOICES)}")
    core = load_core() if choice != "python" else None
    if core is None:
        if choice == "native":
            raise CrmMaskerError("the native core (crm_masker_native) is not installed; "
                                 "`make install` builds it when cargo is there")
        return None
    return NativeEngine(compiled, core, detected, facts, batch_detected, by_actor)


class _SpecBuilder:
    """Numbers actions and plans as the core's spec refers to them by index."""

    def __init__(self) -> None:
        self.actions: list[dict[str, Any]] = []
        self.callbacks: list[ApplyFn] = []
        #: other Python functions that action specs name, by index (scrub's confirms)
        self.helpers: list[Callable[..., Any]] = []
        self._helper_index: dict[Callable[..., Any], int] = {}
        self._action_index: dict[int, int] = {}
        self.plans: list[dict[str, Any]] = []
        self._plan_index: dict[int, int] = {}

    def action(self, fn: ApplyFn | None) -> int | None:
        if fn is None:
            return None
        owner = getattr(fn, "__self__", None)
        identity = id(owner) if isinstance(owner, Action) else id(fn)
        found = self._action_index.get(identity)
        if found is None:
            spec = owner.native_spec() if isinstance(owner, Action) else None
            if spec is None:  # the core calls ``apply``, a per-subject action's with the subject
                spec = {"kind": "per_subject" if isinstance(owner, Action) and owner.per_subject
                        else "python"}
            found = self._action_index[identity] = len(self.actions)
            self.actions.append(self._helpers_by_index(spec))
            self.callbacks.append(fn)
        return found

    def helper(self, obj: Any) -> int:
        """The index of a Python object that the core calls or reads (``helpers``)."""
        index: int = self._helpers_by_index(obj)
        return index

    def _helpers_by_index(self, spec: Any) -> Any:
        """The spec with each Python function in it replaced by its index in ``helpers``."""
        if callable(spec) or hasattr(spec, "contains_hash"):  # functions, the name set
            # bound methods of one object compare equal: one index each
            if spec not in self._helper_index:
                self._helper_index[spec] = len(self.helpers)
                self.helpers.append(spec)
            return self._helper_index[spec]
        if isinstance(spec, dict):
            return {name: self._helpers_by_index(item) for name, item in spec.items()}
        if isinstance(spec, list):
            return [self._helpers_by_index(item) for item in spec]
        return spec

    def plan(self, plan: FieldPlan, shows_before: bool) -> int:
        found = self._plan_index.get(id(plan))
        if found is not None:
            return found
        steps: list[dict[str, Any]] = []
        for name, fn, cond in plan.steps:
            if cond is None:
                steps.append({"name": name, "action": self.action(fn)})
            else:
                steps.append({"name": name, "when": {"field": cond.test_field,
                                                     "not_null": cond.not_null,
                                                     "equals": cond.equals},
                              "then": self.action(cond.then),
                              "otherwise": self.action(cond.otherwise)})
        found = self._plan_index[id(plan)] = len(self.plans)
        self.plans.append({"shows_before": shows_before, "steps": steps,
                           "key_fields": [(name, self.action(fn)) for name, fn in plan.key_fields],
                           # per-subject actions (encrypt) are called with the subject's value
                           "subject": plan.subject.column if plan.subject else None})
        return found


def detected_event(op: str, row: bytes, is_after: bool) -> ChangeEvent:
    """The event that the anomaly detectors read from the core's unmasked row image (they
    read nothing else of it)."""
    image = orjson.loads(row)
    return ChangeEvent(op, None if is_after else image, image if is_after else None, {}, None,
                       None)


def _native_route(route: TableRoute) -> bool:
    """Whether the core can mask this table exactly as the Python engine does: its view
    formats, its conditions' values, and no column that the flat format would overwrite."""
    conditions = [cond for view in route.views for _, _, cond in view.plan.steps if cond]
    clash = any(view.format.clashes(view.plan.known) for view in route.views)
    return (all(view.format.native for view in route.views) and not clash
            and all(isinstance(cond.equals, JSON_SCALARS) for cond in conditions))


class NativeEngine:
    """``MaskingEngine.process`` for JSON bytes in and out, in the native core."""

    def __init__(self, compiled: CompiledRules, core: ModuleType | None = None,
                 detected: Collection[str] = (),
                 facts: Mapping[str, list[dict[str, Any]]] | None = None,
                 batch_detected: Collection[str] | None = None,
                 by_actor: Mapping[str, dict[str, Any]] | None = None) -> None:
        """``detected``: source topics whose outcomes carry the unmasked input row as
        ``Outcome.event`` (for the anomaly detectors and the KPIs), so that the caller need
        not parse the event a second time. ``facts``: source topic → the KPI facts that
        ``process_batch`` makes of its changes (``KpiSource.native_spec``);
        ``batch_detected``: the topics whose rows ``process_batch`` hands back all the same
        (default: ``detected``); ``by_actor``: source topic → what the anomaly detectors
        read of its rows, of which ``process_batch`` makes their by-actor items
        (``ByActor.native_specs``; an event whose row it cannot read is left to Python)."""
        core = core or load_core()
        if core is None:
            raise ImportError("the native core (crm_masker_native) is not installed")
        builder = _SpecBuilder()
        routes = []
        self._routes: dict[str, tuple[str, dict[str, int]]] = {}
        self._detected = frozenset(detected)
        self._batch_detected = self._detected if batch_detected is None else frozenset(
            batch_detected)
        facts = facts or {}
        #: the KPIs whose facts ``process_batch`` makes (of the topics that the core masks)
        self.fact_kpis: frozenset[str] = frozenset()
        #: routes whose deletes erase their subject: the core hands back the deleted row
        self._erasing = {topic: route for topic, route in compiled.routes.items()
                         if route.shreds is not None}
        self._compiled = compiled
        shows_before = compiled.plans_showing_before()
        for topic, route in compiled.routes.items():
            if not _native_route(route):
                continue
            views = [{"topic": view.topic, "layout": view.format.layout,
                      "plan": builder.plan(view.plan, id(view.plan) in shows_before)}
                     for view in route.views]
            # a table's plans all know its columns: every column that a rule names
            columns = sorted(route.views[0].plan.known) if route.views else []
            made = [{**fact, "plan": builder.plan(fact["plan"], False)}
                    for fact in facts.get(topic, ())]
            self.fact_kpis |= {fact["kpi"] for fact in made}
            routes.append({"topic": topic, "columns": columns, "views": views,
                           "detected": topic in detected, "facts": made,
                           "by_actor": (by_actor or {}).get(topic),
                           "batch_detected": topic in self._batch_detected,
                           "name_columns": list(route.name_columns),
                           # its deletes erase the subject: Python shreds the data keys
                           "erases": route.shreds is not None})
            self._routes[topic] = (route.table, route.action_counts)
        spec = {"routes": routes, "plans": builder.plans, "actions": builder.actions,
                "source_fields": native_fields(SOURCE_FIELDS),
                "transaction_fields": native_fields(TRANSACTION_FIELDS),
                "defer_markers": list(UNAVAILABLE_MARKERS),
                "python_headers": list(PYTHON_HEADERS),
                # the known names, which rows of name columns feed before they are masked
                "names": (builder.helper(compiled.names.names)
                          if compiled.names is not None
                          and not isinstance(compiled.names.names, PyNameSet) else None)}
        # the spec carries the pseudonym keys: built, handed over, not kept
        self._core = core.NativeEngine(orjson.dumps(spec).decode(), builder.callbacks,
                                       builder.helpers)

    def handles(self, topic: str) -> bool:
        """Whether the core masks this topic's events (the offline ``mask`` asks)."""
        return topic in self._routes

    def route(self, topic: str) -> tuple[str, dict[str, int]]:
        """The table of a topic that the core masks, and its plans' action counts."""
        return self._routes[topic]

    def set_headers(self, policy: list[Header], lineage_names: tuple[str, str, str]) -> None:
        """What ``process_batch`` puts on every output: the ``policy`` headers, then the
        lineage headers with these names (source topic, partition, offset). A message with
        one of ``PYTHON_HEADERS`` (in the spec: ``learn_names`` too, whether this was called
        or not) is left to Python; other input headers are not copied."""
        self._core.set_headers(policy, list(lineage_names))

    def process_batch(self, messages: Sequence[Any], start: int, stop: int, max_bytes: int,
                      watch: Sequence[int] = (), max_record_bytes: int = 2**62) -> Segment:
        """Consumed Kafka messages from ``start`` (before ``stop``) masked in order, up to the
        first that the core leaves to Python (a consumer error, one of ``python_headers``, a
        value over ``max_bytes``, an event for the Python engine, an output record whose key
        and value are over ``max_record_bytes``): ``Segment.end``. The records of the
        messages at the indexes ``watch`` also come back on their own."""
        end, records, (topics, deletes, source_ts_ms, detected, facts, items), watched = (
            self._core.process_batch(messages, start, stop, max_bytes, list(watch),
                                     max_record_bytes))
        shredded: list[tuple[str, str]] = []
        erasures = [d for d in detected if d[0] in self._erasing] if self._erasing else []
        if erasures:  # rows that came back for their erasure, not for the detectors
            for topic, _, _, op, row, is_after in erasures:
                if op == "d":
                    shredded += self._shred(topic, detected_event(op, row, is_after))
            detected = [d for d in detected if d[0] in self._batch_detected]
        return Segment(end, records, [TopicTally(*t) for t in topics], deletes, source_ts_ms,
                       detected, watched, shredded, facts, items)

    def learn_names(self, messages: Sequence[Any], max_bytes: int) -> list[int]:
        """The known names of consumed messages of the name tables, learnt as Python's
        restore learns them (``pipeline/known_names.py``), without masking; the indexes of the
        messages left to Python."""
        left: list[int] = self._core.learn_names(messages, max_bytes)
        return left

    def set_partitions(self, sources: Mapping[str, int], by_actor: int = 1) -> None:
        """The partition count of each source topic, which the KPI facts and the access
        events name, and of the by-actor topic (1 until set)."""
        self._core.set_partitions(dict(sources), by_actor)

    def _shred(self, topic: str, event: ChangeEvent) -> list[tuple[str, str]]:
        """The erasure of a subject (the delete of its row), as ``CompiledRules.shred``."""
        route = self._erasing[topic]
        return [(route.table, key_id) for key_id in self._compiled.shred(route, event.before)]

    @property
    def tables(self) -> list[str]:
        return sorted(table for table, _ in self._routes.values())

    def process(self, topic: str, key: bytes | None,
                value: bytes | None) -> tuple[Outcome, list[EncodedRecord]] | None:
        """The outcome and the encoded records, or None: run the Python engine instead."""
        result = self._core.process(topic, key, value)
        if result is None:
            return None
        op, skipped, source_ts_ms, unknown, encoded, row = result
        table, counts = self._routes[topic]
        event = None if row is None else detected_event(op, *row)
        shredded = self._shred(topic, event) if event is not None and op == "d" \
            and topic in self._erasing else []
        if topic not in self._detected:
            event = None  # an erasure's row, not the detectors'
        # positional: half the cost of keywords, on every event (fields in declaration order)
        outcome = Outcome(table, op, [], skipped, unknown, counts if skipped is None else {},
                          [], event, source_ts_ms)
        outcome.shredded = [key_id for _, key_id in shredded]
        if op == "d" and encoded:
            outcome.deleted = True
            outcome.deleted_key = orjson.loads(encoded[0][1]) if encoded[0][1] else None
        return outcome, encoded
