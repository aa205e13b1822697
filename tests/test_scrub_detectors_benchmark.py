"""The detector-cost benchmark leaves each detector out and puts it back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.scrub_detectors import NEVER, without
from processor.pii.recognizers import recognizer, recognizer_kinds
from tests.helpers import require_native_core

REPO = Path(__file__).resolve().parents[1]


def test_a_detector_left_out_finds_nothing_and_comes_back() -> None:
    found = recognizer("phone")
    pattern = found.pattern
    undo = without("phone")
    try:
        assert found.pattern is NEVER and found.required_any is None
        assert list(found.find("Ruf 030 1234567 an")) == []
    finally:
        undo()
    assert found.pattern is pattern
    assert list(found.find("Ruf 030 1234567 an")) == [(4, 15)]


def test_the_table_names_every_pattern_detector(tmp_path: Path) -> None:
    require_native_core()
    out = tmp_path / "detectors.json"
    subprocess.run([sys.executable, "-m", "benchmarks.scrub_detectors", "--events", "300",
                    "--rounds", "1", "--output", str(out)], cwd=REPO, check=True,
                   capture_output=True)
    result = json.loads(out.read_text())
    kinds = {k for k in recognizer_kinds() if recognizer(k).by_pattern}
    assert set(result["cost_us_per_event"]) == kinds
    assert result["all_us_per_event"] > 0 and len(result["all_runs_us_per_event"]) == 1
