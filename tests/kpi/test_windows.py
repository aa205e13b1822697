"""The cells of a KPI: windows by event time, released when the slowest partition has passed
them, small cells suppressed so that no number of fewer than k subjects can be read or
computed back."""

from __future__ import annotations

from typing import Any

import orjson

from processor.kpi.config import KpiRules
from processor.kpi.windows import Fact, KpiWindows

DAY = 86_400_000


def rules(**extra: Any) -> KpiRules:
    return KpiRules.model_validate({
        "topic": "k", "view": "v", "table": "t", "group_by": ["segment"], "time": "at",
        "window": "P1D", "allowed_lateness": "PT0S", "min_group_size": 3,
        "measures": {"fee": {"sum": "fee"}, "avg_fee": {"avg": "fee"}}, **extra})


def fact(at: int, row: str, segment: str, subject: str, fee: str = "10.00",
         deleted: bool = False, source: int = 0, sources: int = 1) -> Fact:
    return Fact(at, source, sources, row, deleted, (segment,), subject, (fee, fee))


def released(windows: KpiWindows, facts: list[Fact]) -> list[dict[str, Any]]:
    return [cell.to_json("k", windows.rules) for f in facts for cell in windows.on_fact(f)]


def test_a_window_is_released_with_exact_cells_once_time_has_passed_it() -> None:
    windows = KpiWindows("k", rules(total=False))
    day0 = [fact(1000 + i, f"r{i}", "A", f"s{i}") for i in range(4)]
    # an update replaces its row's state; a second row of the same subject adds no subject
    day0 += [fact(2000, "r0", "A", "s0", fee="30.00"), fact(2001, "r9", "A", "s1")]
    assert released(windows, day0) == []  # the day is still open
    cells = released(windows, [fact(DAY + 5, "x", "B", "s9")])
    assert cells == [{"kpi": "k", "window_start": "1970-01-01T00:00:00Z",
                      "window_end": "1970-01-02T00:00:00Z", "group": {"segment": "A"},
                      "total": False, "suppressed": False, "min_group_size": 3,
                      "subjects": 4, "rows": 5, "fee": "70.00", "avg_fee": "14.00"}]
    # late for a released window: counted, never added
    assert released(windows, [fact(10, "late", "A", "s7")]) == [] and windows.late == 1


def test_a_small_cell_is_suppressed_and_the_total_gives_none_away() -> None:
    windows = KpiWindows("k", rules())
    facts = [fact(i, f"a{i}", "A", f"a{i}") for i in range(5)]
    facts += [fact(i, f"b{i}", "B", f"b{i}") for i in range(4)]
    facts += [fact(i, f"c{i}", "C", f"c{i}") for i in range(2)]  # 2 < k = 3
    cells = released(windows, [*facts, fact(DAY, "x", "A", "x")])
    by_group = {(c["group"] or {}).get("segment", "total"): c for c in cells}
    assert by_group["C"] == {**by_group["C"], "suppressed": True}
    assert "subjects" not in by_group["C"] and "fee" not in by_group["C"]
    # total − A − B would be C: the smallest other cell (B) is suppressed with it
    assert by_group["B"]["suppressed"] and not by_group["A"]["suppressed"]
    assert by_group["total"]["subjects"] == 11 and not by_group["total"]["suppressed"]
    shown = [c for c in cells if not c["suppressed"] and not c["total"]]
    assert sum(c["subjects"] for c in shown) == 5  # A only: B + C stay hidden together


def test_a_window_of_fewer_than_k_subjects_shows_nothing() -> None:
    windows = KpiWindows("k", rules())
    cells = released(windows, [fact(1, "a", "A", "s1"), fact(2, "b", "A", "s1"),
                               fact(DAY, "x", "A", "x")])
    assert [c["suppressed"] for c in cells] == [True, True]  # the cell and the total


def test_a_delete_takes_its_row_out_of_its_window() -> None:
    windows = KpiWindows("k", rules(total=False))
    facts = [fact(i, f"r{i}", "A", f"s{i}") for i in range(3)]
    facts.append(fact(5, "r2", "A", "s2", deleted=True))
    cells = released(windows, [*facts, fact(DAY, "x", "B", "x")])
    assert cells[0]["suppressed"]  # two subjects left


def test_the_slowest_partition_holds_the_release_back() -> None:
    windows = KpiWindows("k", rules(total=False))
    facts = [fact(i, f"r{i}", "A", f"s{i}", source=0, sources=2) for i in range(3)]
    # partition 0 is a day ahead; partition 1 has not passed the first day
    assert released(windows, [*facts, fact(DAY + 1, "y", "A", "y", source=0, sources=2),
                              fact(500, "z", "A", "z", source=1, sources=2)]) == []
    cells = released(windows, [fact(DAY + 2, "w", "A", "w", source=1, sources=2)])
    assert cells[0]["subjects"] == 4  # the row of partition 1 made it in time


def test_hopping_windows_hold_each_row_in_every_window_that_covers_it() -> None:
    windows = KpiWindows("k", rules(window="P2D", advance="P1D", total=False))
    assert windows.starts(DAY + 7) == [DAY, 0]
    facts = [fact(DAY + i, f"r{i}", "A", f"s{i}") for i in range(3)]
    cells = released(windows, [*facts, fact(3 * DAY, "x", "A", "x")])
    assert [c["window_start"][:10] for c in cells] == ["1970-01-01", "1970-01-02"]
    assert all(c["subjects"] == 3 for c in cells)


def test_a_row_whose_event_time_moves_leaves_its_old_window() -> None:
    windows = KpiWindows("k", rules(total=False))
    facts = [fact(i, f"r{i}", "A", f"s{i}") for i in range(3)]
    facts.append(fact(DAY + 1, "r0", "A", "s0"))  # r0 now belongs to the next day
    cells = released(windows, [*facts, fact(2 * DAY, "x", "A", "x")])
    assert [(c["window_start"][:10], c["suppressed"]) for c in cells] == [
        ("1970-01-01", True), ("1970-01-02", True)]
    assert not windows.held.keys() - {"x"}  # nothing kept of released windows


def test_what_no_window_can_hold_is_skipped_not_raised() -> None:
    """Facts from hostile or odd rows: PostgreSQL's infinity as the event time, an array as
    the group, a measure of "sNaN" — no fact, or no number, never an exception."""
    from processor.pipeline.kpi_stage import KpiStage
    from tests.helpers import engine

    stage = KpiStage(engine().compiled)
    activity = {"id": 1, "contact_id": 2, "user_id": 3, "type": "call", "subject": "x",
                "body": "y", "occurred_at": 2**63 - 1}
    topic = next(t for t, sources in stage.sources.items()
                 if any(s.name == "activities_per_day" for s in sources))
    assert stage.facts(topic, "c", activity, 0) == []  # infinity: no event time
    assert stage.facts(topic, "c", {**activity, "type": ["call", "mail"]}, 0) == []
    assert len(stage.facts(topic, "c", {**activity, "occurred_at": 10**15}, 0)) == 1
    for hostile in ({"k": "activities_per_day", "t": 2**62, "p": 0, "n": 1, "r": "a",
                     "d": False, "g": ["call"], "s": "x", "m": []},
                    {"k": "activities_per_day", "t": 5, "p": 0, "n": 1, "r": "a",
                     "d": False, "g": [["call"]], "s": "x", "m": []}):
        assert stage.on_record(orjson.dumps(hostile)) == []
    windows = KpiWindows("k", rules(total=False))
    cells = released(windows, [*(fact(i, f"r{i}", "A", f"s{i}", fee="sNaN") for i in range(3)),
                               fact(DAY, "x", "A", "x")])
    assert cells[0]["fee"] == "0" and cells[0]["avg_fee"] is None
