"""The by-actor items that the native core makes in a batch are the items that
``ByActor.forward`` makes of the same changes, in the same partitions; an event whose row's
values are not plain is left to the Python engine whole (which reads the row, or warns of it
where it lacks a column), so that the items keep the input's order."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
from confluent_kafka import Message

from processor.generator.stream import CrmStream
from processor.masking.native import NativeEngine
from processor.pipeline.anomaly_stage import AnomalyStage
from processor.pipeline.records import H_SRC_OFFSET, H_SRC_PARTITION, H_SRC_TOPIC, policy_headers
from processor.rules import load_validated
from tests.helpers import RULES, engine, require_native_core

#: values as the CRM's rows may hold them: texts with escapes and non-ASCII, integers
#: (-0 and 0 among them), and what only Python reads (floats, booleans, objects)
ODD_VALUES = ["J\u00fcrgen \"JJ\" \\", "", "0", 0, -0, 17, 2**63 - 1, 2**63, 1.5, True, False,
              None, [1], {"a": 1}]


def crafted(records: list[Any]) -> list[tuple[str, Any, Any]]:
    """Access events and user rows with every odd value in every mapped column, and with
    each mapped column missing."""
    out = []
    base = {r.topic.rsplit(".", 1)[1]: r for r in records
            if r.value is not None and r.value.get("op") == "c"}
    columns = {"audit_log": ["id", "user_id", "action", "object_type", "record_count",
                             "classification", "occurred_at"],
               "users": ["id", "role", "active", "deactivated_at"]}
    for table, mapped in columns.items():
        for column in mapped:
            for value in [*ODD_VALUES, "missing"]:
                record = copy.deepcopy(base[table])
                if value == "missing":
                    del record.value["after"][column]
                else:
                    record.value["after"][column] = value
                out.append((record.topic, record.key, record.value))
                if table == "users":  # a delete's before image: an inactive account
                    deleted = copy.deepcopy(record)
                    deleted.value.update(op="d", before=deleted.value["after"], after=None)
                    out.append((deleted.topic, deleted.key, deleted.value))
    return out


def test_the_cores_items_are_pythons() -> None:
    core = require_native_core()
    validated = load_validated(RULES)
    assert validated.rules.anomaly is not None
    by_actor = AnomalyStage(validated.rules, validated.rules.anomaly).by_actor
    by_actor.partitions, by_actor.source_partitions = 7, 3
    topics = set(by_actor.table_of)
    # every row comes back (batch_detected), so that Python's item of it can be compared
    fast = NativeEngine(engine().compiled, core, topics, None, topics, by_actor.native_specs())
    fast.set_headers(policy_headers("v1", "abc"), (H_SRC_TOPIC, H_SRC_PARTITION, H_SRC_OFFSET))
    fast.set_partitions({by_actor.access_topic: 3}, 7)
    records = list(CrmStream(seed=23, users=40).events(8_000))
    changes = [(r.topic, r.key, r.value) for r in records] + crafted(records)
    messages = [Message(topic=topic, partition=i % 3, offset=i, key=orjson.dumps(key),
                        value=None if value is None else json.dumps(value).encode())
                for i, (topic, key, value) in enumerate(changes)]
    at = made = left = 0
    kinds = set()
    while at < len(messages):
        segment = fast.process_batch(messages, at, len(messages), 10**7)
        if segment.end == at:  # the Python engine takes the whole event, its row included
            one = fast.process(messages[at].topic(), messages[at].key(), messages[at].value())
            assert one is None or one[0].event is not None
            left += at >= len(records)
            at += 1
            continue
        items = {offset: (partition, orjson.loads(value), ts_ms)
                 for partition, value, _, offset, ts_ms in segment.items}
        for topic, partition, offset, op, row, _ in segment.detected:
            expected = by_actor.forward(topic, op, orjson.loads(row), partition, offset)
            got = items.pop(offset, None)
            if expected is None:
                assert got is None
                continue
            assert got is not None, (topic, offset)
            assert got[:2] == (expected.partition, orjson.loads(expected.value))
            assert got[2] == (got[1]["a"][6] if "a" in got[1] else None)
            kinds.add("a" if "a" in got[1] else "u" if got[1]["u"][2] else "inactive")
            made += 1
        assert not items  # no item without its row
        at = segment.end
    assert made > 3_000 and kinds == {"a", "u", "inactive"}
    assert 30 < left < 200  # the odd values, not the plain ones
