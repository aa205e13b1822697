"""The offline ``mask`` command: JSON lines in, masked JSON lines out, for trying rules.

Input lines are ``{"topic": str, "key": json|null, "value": json|null}`` as the events would sit
on Kafka; output lines have the same shape. A line that cannot be processed becomes a DLQ line
with the reason and the input line number — never the raw values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from processor.avro.codec import encode_json
from processor.errors import CrmMaskerError, PoisonEvent
from processor.formats.envelope import decode_json, printable_column
from processor.masking.engine import MaskingEngine, Outcome
from processor.masking.native import NativeEngine

#: an output line's parts: topic, key, value (decoded JSON; value None: a tombstone)
OutputLine = tuple[str, Any, Any]


@dataclass
class Summary:
    lines: int = 0
    outputs: int = 0
    dlq: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    unknown_fields: Counter[str] = field(default_factory=Counter)

    def render(self) -> str:
        parts = [f"{self.lines} input lines", f"{self.outputs} output records",
                 f"{sum(self.dlq.values())} to the DLQ"]
        text = ", ".join(parts)
        for title, counter in (("DLQ", self.dlq), ("skipped", self.skipped),
                               ("unknown fields (dropped)", self.unknown_fields)):
            if counter:
                text += f"\n  {title}: " + ", ".join(f"{k}={v}" for k, v in sorted(counter.items()))
        return text


def dlq_line(dlq_topic: str, reason: str, detail: str, line_no: int,
             topic: str | None) -> dict[str, Any]:
    return {"topic": dlq_topic, "key": None,
            "value": {"reason": reason, "detail": detail,
                      "source": {"topic": topic, "line": line_no}}}


def _python(engine: MaskingEngine, topic: str, key: Any, value: Any
            ) -> tuple[Outcome, list[OutputLine]]:
    outcome = engine.process(topic, key, value)
    for out in outcome.records:  # what run's JSON encoder refuses, `mask` refuses too
        encode_json(out.key, "key")
        encode_json(out.value, "value")
    return outcome, [(out.topic, out.key, out.value) for out in outcome.records]


def _native(core: NativeEngine, engine: MaskingEngine, topic: str, key: Any, value: Any
            ) -> tuple[Outcome, list[OutputLine]]:
    """The native core on the line's key and value as they would sit on Kafka; what it leaves
    takes the Python engine, as in ``run``."""
    try:
        raw_key = None if key is None else orjson.dumps(key)
        raw_value = None if value is None else orjson.dumps(value)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes: Python refuses it
        return _python(engine, topic, key, value)
    done = core.process(topic, raw_key, raw_value) if core.handles(topic) else None
    if done is None:
        return _python(engine, topic, key, value)
    outcome, encoded = done
    return outcome, [(t, None if k is None else orjson.loads(k),
                      None if v is None else orjson.loads(v)) for t, k, v in encoded]


def mask_lines(engine: MaskingEngine, lines: Iterable[bytes], summary: Summary,
               core: NativeEngine | None = None) -> Iterator[dict[str, Any]]:
    """Masked output lines (and DLQ lines) for the input lines; ``core``: mask on the native
    core where it takes the event."""
    dlq_topic = engine.compiled.dlq_topic
    limit = engine.compiled.max_event_bytes
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        summary.lines += 1
        topic: str | None = None
        try:
            if len(line) > limit:
                raise PoisonEvent("oversized", f"line longer than max_event_bytes={limit}")
            record = decode_json(line, "line")
            if not isinstance(record, dict) or not isinstance(record.get("topic"), str):
                raise PoisonEvent("bad_line", 'expected {"topic": ..., "key": ..., "value": ...}')
            topic = record["topic"]
            key, value = record.get("key"), record.get("value")
            outcome, outputs = (_python(engine, topic, key, value) if core is None
                                else _native(core, engine, topic, key, value))
        except CrmMaskerError as exc:
            if not isinstance(exc, PoisonEvent):
                raise
            summary.dlq[exc.reason] += 1
            yield dlq_line(dlq_topic, exc.reason, exc.detail, line_no, topic)
            continue
        except Exception as exc:  # the last resort, as in run: the class name, no message
            summary.dlq["internal_error"] += 1
            yield dlq_line(dlq_topic, "internal_error", type(exc).__name__, line_no, topic)
            continue
        if outcome.skipped:
            summary.skipped[outcome.skipped] += 1
        for name in outcome.unknown_fields:
            summary.unknown_fields[f"{outcome.table}.{printable_column(name)}"] += 1
        for out_topic, out_key, out_value in outputs:
            summary.outputs += 1
            yield {"topic": out_topic, "key": out_key, "value": out_value}


def dumps_line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record) + b"\n"
