"""The cells of one KPI: event-time windows of masked rows, released with small-cell suppression.

A window holds the latest state of each row whose event time falls into it (an update
replaces the row, a delete removes it). The table's partitions are read at their own pace, so
the watermark is the least of their latest event times (as Flink's), less the allowed
lateness: a window is released once the watermark passes its end, and a row for a released
window is late (counted, not added). A partition without changes holds the release back.
Everything follows from the order of the facts, which is one partition's: a replay gives the
same cells.

Released cells: the distinct data subjects, the rows and the measures of each group. A cell
of fewer than ``min_group_size`` subjects is suppressed (its group is named, no number). With
a total, one suppressed cell could be computed back (total less the others), so the smallest
other cell is suppressed with it (complementary suppression); a total of fewer than k
subjects is suppressed too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from processor.kpi.config import KpiRules

Group = tuple[Any, ...]


class Fact(NamedTuple):
    """One masked row's state at one change, as the KPI reads it (a named tuple: one is made
    for every fact, several times faster than a frozen dataclass)."""

    time_ms: int
    #: the partition of the table's topic that the change came from, and their number
    source: int
    sources: int
    row: str  # the row's masked key (JSON)
    deleted: bool
    group: Group
    subject: Any
    measures: tuple[Any, ...]


@dataclass
class Cell:
    """A released cell (or a window's total, ``group`` None)."""

    window_start: int
    group: dict[str, Any] | None
    suppressed: bool
    subjects: int
    rows: int
    measures: dict[str, str | None]

    def to_json(self, kpi: str, rules: KpiRules) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kpi": kpi, "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_start + rules.window_ms),
            "group": self.group, "total": self.group is None, "suppressed": self.suppressed,
            "min_group_size": rules.min_group_size}
        if not self.suppressed:
            out.update(subjects=self.subjects, rows=self.rows, **self.measures)
        return out


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None  # NaN, sNaN, Infinity: not a measure


class KpiWindows:
    """The open windows of one KPI and its watermark."""

    def __init__(self, name: str, rules: KpiRules) -> None:
        self.name, self.rules = name, rules
        # read on every fact: the durations in milliseconds once
        self.window_ms, self.advance_ms = rules.window_ms, rules.advance_ms
        self.lateness_ms = rules.lateness_ms
        self.open: dict[int, dict[str, Fact]] = {}
        #: the open windows that hold each row (a row whose event time changes moves)
        self.held: dict[str, list[int]] = {}
        #: the latest event time of each partition of the table's topic
        self.latest: dict[int, int] = {}
        self.sources = 1
        self.late = 0
        #: the watermark, kept as ``latest`` and ``sources`` change; and the one that the
        #: last release looked at (the windows only close when it moves)
        self.watermark: int | None = None
        self._released_at: int | None = None

    def _update_watermark(self) -> None:
        if any(p not in self.latest for p in range(self.sources)):
            self.watermark = None
        else:
            self.watermark = min(self.latest[p] for p in range(self.sources)) - self.lateness_ms

    def starts(self, time_ms: int) -> list[int]:
        """The starts of the windows that hold ``time_ms`` (one, or window/advance hopping)."""
        advance, size = self.advance_ms, self.window_ms
        last = time_ms - time_ms % advance
        if advance == size:
            return [last]
        return [last - i * advance for i in range(size // advance)]

    def on_fact(self, fact: Fact) -> list[Cell]:
        """Add one fact; the cells of the windows that it closes, oldest first."""
        watermark, size = self.watermark, self.window_ms
        starts = self.starts(fact.time_ms)
        row = fact.row
        moved = self.held.pop(row, None)
        if moved is not None:
            for start in moved:
                if start not in starts and start in self.open:  # its event time moved
                    self.open[start].pop(row, None)
        held = []
        for start in starts:
            if watermark is not None and start + size <= watermark:
                self.late += 1  # released already: its cells stay as they were
                continue
            rows = self.open.setdefault(start, {})
            if fact.deleted:
                rows.pop(row, None)
            else:
                rows[row] = fact
                held.append(start)
        if held:
            self.held[row] = held
        moved_on = fact.time_ms > self.latest.get(fact.source, fact.time_ms - 1)
        if moved_on:
            self.latest[fact.source] = fact.time_ms
        sources = max(fact.sources, 1)  # the topic may have grown
        if moved_on or sources != self.sources:
            self.sources = sources
            self._update_watermark()
        if self.watermark is None or self.watermark == self._released_at:
            return []  # no window can have closed since the last release
        return self.release()

    def release(self) -> list[Cell]:
        watermark = self.watermark
        if watermark is None:
            return []
        self._released_at = watermark
        size = self.window_ms
        done = sorted(s for s in self.open if s + size <= watermark)
        cells: list[Cell] = []
        for start in done:
            rows = self.open.pop(start)
            for row in rows:
                starts = [s for s in self.held.get(row, ()) if s != start]
                if starts:
                    self.held[row] = starts
                else:
                    self.held.pop(row, None)
            if rows:  # every row of it deleted: nothing to release
                cells += self.cells(start, list(rows.values()))
        return cells

    def cells(self, start: int, rows: list[Fact]) -> list[Cell]:
        """The cells of one window's rows, suppressed where they must be."""
        by_group: dict[Group, list[Fact]] = {}
        for fact in rows:
            by_group.setdefault(fact.group, []).append(fact)
        cells = [self._cell(start, dict(zip(self.rules.group_by, group, strict=True)), facts)
                 for group, facts in sorted(by_group.items(), key=lambda g: repr(g[0]))]
        k = self.rules.min_group_size
        for cell in cells:
            cell.suppressed = cell.subjects < k
        if not self.rules.total:
            return cells
        total = self._cell(start, None, rows)
        total.suppressed = total.subjects < k
        hidden = [c for c in cells if c.suppressed]
        shown = [c for c in cells if not c.suppressed]
        if len(hidden) == 1 and shown and not total.suppressed:
            # total less the shown cells would be the hidden one: hide the smallest other
            min(shown, key=lambda c: (c.subjects, c.rows)).suppressed = True
        return [*cells, total]

    def _cell(self, start: int, group: dict[str, Any] | None, facts: list[Fact]) -> Cell:
        measures: dict[str, str | None] = {}
        for i, (name, measure) in enumerate(self.rules.measures.items()):
            values = [v for v in (_number(f.measures[i]) for f in facts) if v is not None]
            total = sum(values, Decimal(0))
            if measure.sum is not None:
                measures[name] = str(total)
            else:
                measures[name] = str((total / len(values)).quantize(Decimal("0.01"))) \
                    if values else None
        subjects = {f.subject for f in facts if f.subject is not None}
        return Cell(start, group, False, len(subjects), len(facts), measures)
