"""deploy/deps.sh, the prerequisite step of `make demo`, `make test` and .ci/run: on a machine
without the tools it names every one and the command that installs it, and changes nothing in
a dry run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import PREREQUISITES, REPO

DEPS = REPO / "deploy" / "deps.sh"
#: what a bare machine has: a shell and the few commands that the script itself uses
BASE_COMMANDS = ("bash", "env", "id", "cat", "dirname")


def prerequisites(target: str) -> list[tuple[str, str]]:
    """(tool, Debian package) of each prerequisite of ``target``."""
    rows = [line.split("\t") for line in PREREQUISITES.read_text().splitlines()
            if line and not line.startswith("#")]
    return [(row[0], row[1]) for row in rows if target in row[2].split(",")]


def bare_path(tmp_path: Path) -> str:
    """A PATH with a shell and nothing else that the prerequisites name."""
    bare = tmp_path / "bin"
    bare.mkdir()
    for name in BASE_COMMANDS:
        found = shutil.which(name)
        assert found, name
        (bare / name).symlink_to(found)
    return str(bare)


def deps(tmp_path: Path, *args: str, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([shutil.which("bash") or "bash", str(DEPS), *args],
                          env={"PATH": path, "HOME": str(tmp_path), **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("target", ["demo", "test"])
def test_a_bare_machine_gets_every_missing_tool_and_its_install_command(tmp_path: Path,
                                                                       target: str) -> None:
    result = deps(tmp_path, target, "--dry-run", path=bare_path(tmp_path))
    assert result.returncode == 1, result.stderr
    wanted = prerequisites(target)
    assert wanted
    for tool, _ in wanted:
        assert f"deps:   {tool}: " in result.stderr, (tool, result.stderr)
    packages = " ".join(dict.fromkeys(package for _, package in wanted))
    assert f"apt-get install -y {packages}" in result.stderr
    assert "Traceback" not in result.stderr
    others = {tool for tool, _ in prerequisites("test")} - {tool for tool, _ in wanted}
    for tool in others:  # the demo asks for what the demo uses only
        assert f"deps:   {tool}: " not in result.stderr


def test_where_it_may_not_install_it_stops_with_the_commands(tmp_path: Path) -> None:
    result = deps(tmp_path, "demo", path=bare_path(tmp_path), DEPS_INSTALL="0")
    assert result.returncode == 2
    assert "apt-get install -y python3 python3-venv" in result.stderr
    assert "then make demo again" in result.stderr


def test_own_services_need_no_java_or_jars(tmp_path: Path) -> None:
    result = deps(tmp_path, "test", "--dry-run", path=bare_path(tmp_path),
                  KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9", SCHEMA_REGISTRY_URL="http://127.0.0.1:9",
                  KAFKA_CONNECT_URL="http://127.0.0.1:9", CRM_POSTGRES_URL="postgresql://x@y/crm")
    for local in ("java", "mvn", "postgres"):
        assert f"deps:   {local}: " not in result.stderr
    assert "deps:   promtool: " in result.stderr
    assert "fetch" not in result.stderr


def test_this_machine_has_everything_that_make_test_needs(tmp_path: Path) -> None:
    """`make test` ran deps.sh before this suite: a dry run now finds nothing missing."""
    result = deps(tmp_path, "test", "--dry-run", path=os.environ["PATH"])
    assert result.returncode == 0, result.stderr
    assert "missing" not in result.stderr
