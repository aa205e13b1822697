"""`crm-masker generate --crm-days`: the changes spread over days of the CRM's own time, so
that the demo's day-long KPI windows close within one run."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from processor.cli import main

DAY_MS = 86_400_000


def source_times(path: Path) -> list[int]:
    return [orjson.loads(line)["value"]["source"]["ts_ms"]
            for line in path.read_bytes().splitlines() if orjson.loads(line)["value"]]


@pytest.mark.parametrize(("days", "low", "high"), [
    (None, 0, DAY_MS // 24),  # a busy CRM: 3,000 changes within minutes
    ("3", 2.5 * DAY_MS, 3.5 * DAY_MS), ("0.5", 0.4 * DAY_MS, 0.6 * DAY_MS)])
def test_the_changes_span_the_days_asked_for(tmp_path: Path, days: str | None, low: float,
                                             high: float) -> None:
    out = tmp_path / "events.jsonl"
    args = ["generate", "--output", str(out), "--events", "3000", "--seed", "4"]
    result = CliRunner().invoke(main, [*args, *(["--crm-days", days] if days else [])])
    assert result.exit_code == 0, result.output
    times = source_times(out)
    assert low <= max(times) - min(times) <= high
    assert times == sorted(times)  # the CRM's time moves forward


def test_zero_days_is_refused_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["generate", "--output", str(tmp_path / "e.jsonl"),
                                       "--crm-days", "0"])
    assert result.exit_code == 2 and "--crm-days" in result.output
