"""deploy/local-kafka/kafka.sh: idempotent start, one broker, clean stop."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.broker import KAFKA_SH

pytestmark = pytest.mark.kafka


def _run(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAFKA_STATE_DIR": str(state)}
    return subprocess.run(["bash", str(KAFKA_SH), *args], env=env, capture_output=True,
                          text=True, timeout=180)


def test_up_twice_leaves_one_broker_and_down_removes_its_data(tmp_path: Path) -> None:
    state = tmp_path / "kafka"
    first = _run(state, "up")
    try:
        assert first.returncode == 0, first.stderr
        second = _run(state, "up")
        assert second.returncode == 0, second.stderr
        assert first.stdout.strip() == second.stdout.strip()
        assert first.stdout.strip().startswith("127.0.0.1:")
        assert "already running" in second.stderr
        pid = int((state / "pid").read_text())
        assert (state / "data").is_dir()
        brokers = subprocess.run(["pgrep", "-f", f"kafka.Kafka {state}/server.properties"],
                                 capture_output=True, text=True).stdout.split()
        assert brokers == [str(pid)]
        status = _run(state, "status")
        assert status.returncode == 0 and status.stdout.strip() == first.stdout.strip()
    finally:
        down = _run(state, "down")
    assert down.returncode == 0
    assert not state.exists()
    assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0
    assert _run(state, "status").returncode == 1
