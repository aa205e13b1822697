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

from processor.errors import PoisonEvent
from processor.formats.envelope import decode_json
from processor.masking.engine import MaskingEngine


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


def mask_lines(engine: MaskingEngine, lines: Iterable[bytes],
               summary: Summary) -> Iterator[dict[str, Any]]:
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
            outcome = engine.process(topic, record.get("key"), record.get("value"))
        except PoisonEvent as exc:
            summary.dlq[exc.reason] += 1
            yield dlq_line(dlq_topic, exc.reason, exc.detail, line_no, topic)
            continue
        if outcome.skipped:
            summary.skipped[outcome.skipped] += 1
        for name in outcome.unknown_fields:
            summary.unknown_fields[f"{outcome.table}.{name}"] += 1
        for out in outcome.records:
            summary.outputs += 1
            yield {"topic": out.topic, "key": out.key, "value": out.value}


def dumps_line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record) + b"\n"
