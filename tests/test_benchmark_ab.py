"""The A/B benchmark's table: medians per tree, a stage that a tree does not time left blank."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.ab import row


def test_a_row_holds_the_medians_of_the_runs() -> None:
    runs = [{"events_per_s": rate, "cpu_us_per_event": cpu,
             "stages": {"mask": cpu / 2, "forward": 2.0}}
            for rate, cpu in ((10_000, 40.0), (30_000, 60.0), (20_000, 50.0))]
    cells = row("/tmp/a", runs).split()
    assert cells[:5] == ["/tmp/a", "20,000", "50.0", "25.00", "nan"]  # produce: not timed
    assert cells[5] == "2.00"


def test_it_says_what_it_takes() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.ab", "--help"],
                          capture_output=True, text=True, check=True)
    assert "PYTHONPATHs of the source trees" in done.stdout
