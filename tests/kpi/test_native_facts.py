"""The KPI facts that the native core makes in a batch are the facts that ``KpiSource.fact``
makes of the same changes: on the reference mix (inserts, updates, deletes of three KPI
tables) and on crafted rows (no event time, an infinite one, a float, a string; an array or
object as the group value; no subject)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import orjson
from confluent_kafka import Message

from processor.generator.stream import CrmStream
from processor.masking.native import NativeEngine
from processor.pipeline.kpi_stage import KpiStage
from processor.pipeline.records import H_SRC_OFFSET, H_SRC_PARTITION, H_SRC_TOPIC, policy_headers
from tests.helpers import engine, require_native_core


def crafted(records: list[Any]) -> list[tuple[str, Any, Any]]:
    """Changes of the KPI tables with values that no window can hold, or no group."""
    out = []
    base = {r.topic.rsplit(".", 1)[1]: r for r in records
            if r.value is not None and r.value.get("op") == "c"}
    edits = {"activities": [("occurred_at", 2**63 - 1), ("occurred_at", 1.5e15),
                            ("occurred_at", "2026-05-05"), ("occurred_at", None),
                            ("occurred_at", 2**64 + 7), ("occurred_at", -(10**18)),
                            ("type", ["call", "mail"]), ("type", {"a": 1}), ("type", None),
                            ("type", 1.25), ("type", True)],
             "contacts": [("created_at", 2**40), ("segment", ["x"]), ("zip", None),
                          ("created_at", 0), ("id", None)]}
    for table, changes in edits.items():
        for column, value in changes:
            record = copy.deepcopy(base[table])
            record.value["after"][column] = value
            out.append((record.topic, record.key, record.value))
        record = copy.deepcopy(base[table])
        del record.value["after"][changes[0][0]]  # the time column missing
        out.append((record.topic, record.key, record.value))
    return out


def test_the_cores_facts_are_pythons() -> None:
    core = require_native_core()
    masking = engine()
    stage = KpiStage(masking.compiled)
    specs = stage.native_specs()
    made_natively = {spec["kpi"] for specs_of in specs.values() for spec in specs_of}
    assert made_natively and made_natively < set(stage.kpis)  # a KPI with measures is Python's
    topics = set(stage.sources)
    fast = NativeEngine(masking.compiled, core, topics, specs, topics)
    fast.set_headers(policy_headers("v1", "abc"), (H_SRC_TOPIC, H_SRC_PARTITION, H_SRC_OFFSET))
    stage.partitions = {topic: 3 for topic in topics}
    fast.set_partitions(stage.partitions)
    records = list(CrmStream(seed=21).events(6_000))
    changes = [(r.topic, r.key, r.value) for r in records] + crafted(records)
    # written by the standard library: orjson refuses an integer beyond 64 bits
    messages = [Message(topic=topic, partition=i % 3, offset=i, key=orjson.dumps(key),
                        value=None if value is None else json.dumps(value).encode())
                for i, (topic, key, value) in enumerate(changes)]
    at = compared = left = 0
    kinds: Counter[tuple[str, bool]] = Counter()
    while at < len(messages):
        segment = fast.process_batch(messages, at, len(messages), 10**7)
        if segment.end == at:  # left to the Python engine, which makes its facts itself
            at += 1
            left += at > len(records)
            continue
        expected = [orjson.loads(fact) for topic, partition, _, op, row, _ in segment.detected
                    for fact in stage.facts(topic, op, orjson.loads(row), partition)
                    if orjson.loads(fact)["k"] in made_natively]
        got = [orjson.loads(fact) for fact in segment.facts]
        assert got == expected
        kinds.update((fact["k"], fact["d"]) for fact in got)
        compared += len(got)
        at = segment.end
    assert compared > 1_000
    assert left <= 3, f"{left} crafted changes were left to the Python engine"
    assert {kpi for kpi, _ in kinds} == made_natively
    assert any(deleted for _, deleted in kinds)  # the before image of deletes too
