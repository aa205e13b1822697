"""The audit chain detects removed, altered and reordered records (no Kafka needed)."""

from __future__ import annotations

import copy
from typing import Any

from processor.governance.audit import ChainState, chained, verify
from processor.pipeline.facts import TransactionFacts


def chain(n: int, producer: str = "p1") -> list[dict[str, Any]]:
    state, records = ChainState(), []
    for i in range(n):
        facts = TransactionFacts()
        facts.ops[("contacts", "c")] += 10 + i
        facts.consumed_offset("crm.public.contacts", 0, 100 * i)
        facts.consumed_offset("crm.public.contacts", 0, 100 * i + 9)
        facts.published["bi.analytics.contacts"] += 10 + i
        facts.deletes.append(("contacts", {"id": f"k2026a:{i:032x}"}))
        record = chained(facts.audit_body(), state, producer=producer, rules_version="1",
                         rules_sha256="ab" * 32, now=1_700_000_000 + i)
        state = ChainState(record["seq"], record["hash"])
        records.append(record)
    return records


def located(records: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"@{i}", r) for i, r in enumerate(records)]


def test_an_intact_chain_verifies_with_totals() -> None:
    report = verify(located(chain(5)))
    assert report.intact and report.records == 5 and report.producers == 1
    assert report.inputs == sum(10 + i for i in range(5)) == report.outputs
    assert report.deletes == 5


def test_a_removed_record_breaks_the_chain_there() -> None:
    records = chain(5)
    del records[2]
    report = verify(located(records))
    assert [(b.where, "sequence" in b.problem) for b in report.breaks] == [("@2", True)]


def test_an_altered_record_is_detected() -> None:
    records = chain(5)
    records[3] = copy.deepcopy(records[3])
    records[3]["counts"]["inputs"] -= 1
    report = verify(located(records))
    assert [(b.where, "altered" in b.problem) for b in report.breaks] == [("@3", True)]


def test_a_forged_record_with_a_fresh_hash_still_breaks_the_link() -> None:
    from processor.governance.audit import record_hash

    records = chain(4)
    forged = copy.deepcopy(records[1])
    forged["prev_hash"] = "f" * 64
    forged["hash"] = record_hash(forged)
    records[1] = forged
    report = verify(located(records))
    assert report.breaks and report.breaks[0].where == "@1"
    assert "previous hash" in report.breaks[0].problem


def test_producers_are_chained_independently_and_interleave() -> None:
    a, b = chain(3, "a"), chain(3, "b")
    mixed = [a[0], b[0], b[1], a[1], a[2], b[2]]
    assert verify(located(mixed)).intact
    assert not verify(located([a[0], a[2], b[0]])).intact
