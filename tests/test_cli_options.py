"""Every option of every command has an environment variable, named in its --help; NO_COLOR
turns colours off; the command list does not cut "Art. 30" short."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from processor.cli import _envvars, main
from tests.helpers import RULES

_envvars(main)


def commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    for name, sub in group.commands.items():
        out += commands(sub, (*path, name)) if isinstance(sub, click.Group) else [(*path, name)]
    return out


@pytest.mark.parametrize("path", commands(main), ids=lambda p: " ".join(p) or "crm-masker")
def test_every_option_names_its_environment_variable(path: tuple[str, ...]) -> None:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    result = CliRunner().invoke(main, [*path, "--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    help_text = " ".join(result.output.split())
    options = [p for p in command.params if isinstance(p, click.Option)
               and p.name not in ("help", "version")]
    for option in options:
        assert isinstance(option.envvar, str) and option.envvar.startswith("CRM_MASKER_")
        assert f"env var: {option.envvar}" in help_text, (path, option.opts)


def test_an_option_is_taken_from_its_environment_variable() -> None:
    done = subprocess.run([sys.executable, "-m", "processor", "generate", "--output", "-"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CRM_MASKER_GENERATE_EVENTS": "3"})
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3


def test_no_color_turns_colours_off(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    contacts = rules / "tables" / "contacts.yaml"
    contacts.write_text(contacts.read_text().replace("action: mask, keep_last: 2}",
                                                     "action: mask, keep_lats: 2}"))
    coloured = CliRunner().invoke(main, ["validate", str(rules)], color=True)
    plain = CliRunner().invoke(main, ["validate", str(rules)], color=True,
                               env={"NO_COLOR": "1"})
    assert coloured.exit_code == plain.exit_code == 1
    assert "\x1b[" in coloured.output and "\x1b[" not in plain.output
    assert "keep_lats" in plain.output


def test_the_command_list_keeps_article_numbers_whole() -> None:
    listed = CliRunner().invoke(main, ["--help"]).output
    assert "(Art. 30 GDPR)" in listed
    assert "(Art. 17 GDPR)" in CliRunner().invoke(main, ["audit", "--help"]).output
