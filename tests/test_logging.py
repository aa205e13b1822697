"""--log-level and --log-format (and their environment variables) for every command: JSON lines
with stable keys for log pipelines, text for people."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

from tests.helpers import DEMO_KEYS, RULES

RUN = ["run", "--rules", str(RULES), "--keys", str(DEMO_KEYS), "--allow-demo-keys",
       "--metrics-port", "-1", "--bootstrap-servers", "127.0.0.1:1"]


def stderr_of(*args: str, **env: str) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "processor", *args], capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "CRM_MASKER_CONNECT_TIMEOUT": "1", **env})
    assert done.returncode == 2, done.stderr
    return done.stderr.splitlines()


def test_json_lines_have_stable_keys() -> None:
    lines = stderr_of("--log-format", "json", *RUN)
    logged = [orjson.loads(line) for line in lines if line.startswith("{")]
    assert logged and all(set(entry) == {"ts", "level", "logger", "message", "worker"}
                          for entry in logged)
    assert logged[0]["level"] == "info" and logged[0]["message"].startswith("rule set version")
    assert lines[-1].startswith("error: cannot reach Kafka")  # the outcome stays one plain line


def test_the_environment_chooses_too_and_a_level_hides_what_is_below() -> None:
    assert any(line.startswith("{") for line in stderr_of(*RUN, CRM_MASKER_LOG_FORMAT="json"))
    quiet = stderr_of("--log-level", "warning", *RUN)
    assert quiet == [quiet[-1]] and quiet[-1].startswith("error: cannot reach Kafka")
    text = stderr_of(*RUN)
    assert " INFO [worker 0] crm_masker: rule set version" in text[0]
