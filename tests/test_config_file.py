"""`--config FILE`: options from YAML, with flag > environment > file > default, one clear line
for a file that cannot be used, and paths taken from the file's directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from processor.cli import _envvars, main
from processor.config_file import ConfigFileProblem, load_default_map, option_key
from tests.helpers import RULES

_envvars(main)


def generated(tmp_path: Path, config: str, args: list[str], env: dict[str, str]) -> int:
    """How many events `generate` wrote with this file, flags and environment."""
    path = tmp_path / "crm-masker.yaml"
    path.write_text(config)
    result = CliRunner().invoke(main, ["--config", str(path), "generate", "--output", "-", *args],
                                env=env)
    assert result.exit_code == 0, result.output
    return len(result.stdout_bytes.splitlines())


@pytest.mark.parametrize(("args", "env", "expected"), [
    ([], {}, 5),                                                  # the file
    ([], {"CRM_MASKER_GENERATE_EVENTS": "4"}, 4),                 # env beats the file
    (["--events", "3"], {"CRM_MASKER_GENERATE_EVENTS": "4"}, 3),  # the flag beats both
])
def test_precedence_is_flag_then_environment_then_file(tmp_path: Path, args: list[str],
                                                       env: dict[str, str], expected: int) -> None:
    assert generated(tmp_path, "generate:\n  events: 5\n", args, env) == expected


def test_the_file_beats_the_built_in_default(tmp_path: Path) -> None:
    # generate's default is 10,000 events; a top-level key reaches every command that takes it
    assert generated(tmp_path, "generate: {events: 2, seed: 7}\n", [], {}) == 2


def test_options_of_crm_masker_itself_and_relative_paths(tmp_path: Path) -> None:
    shutil.copytree(RULES, tmp_path / "conf" / "rules")
    config = tmp_path / "conf" / "crm-masker.yaml"
    config.write_text("rules: rules\nreport:\n  lang: de\n")  # rules: next to the file
    result = CliRunner().invoke(main, ["--config", str(config), "report"])
    assert result.exit_code == 0, result.output
    assert "Verzeichnis von Verarbeitungstätigkeiten" in result.output


def test_the_file_can_come_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("generate: {events: 2}\n")
    result = CliRunner().invoke(main, ["generate", "--output", "-"],
                                env={"CRM_MASKER_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    assert len(result.stdout_bytes.splitlines()) == 2


def test_repeatable_options_take_lists_and_key_value_mappings(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("bootstrap-servers: kafka:9092\n"
                      "kafka-option: {security.protocol: SASL_SSL, sasl.mechanism: SCRAM-SHA-512}\n"
                      "scan: {topic: [crm.view.a, crm.view.b]}\n")
    default_map = load_default_map(config, main)
    assert default_map["run"]["kafka_options"] == ["security.protocol=SASL_SSL",
                                                   "sasl.mechanism=SCRAM-SHA-512"]
    assert default_map["audit"]["verify"]["bootstrap"] == "kafka:9092"
    assert default_map["scan"]["topics"] == ["crm.view.a", "crm.view.b"]
    assert "bootstrap" not in default_map["validate"]


@pytest.mark.parametrize(("text", "message"), [
    ("run:\n  worker: 2\n", "c.yaml:2: unknown option or command 'worker' for run "
                            "(did you mean workers?)"),
    ("bootstrap-server: x\n", "c.yaml:1: unknown option or command 'bootstrap-server' here "
                              "(did you mean bootstrap-servers?)"),
    ("audit: 3\n", "c.yaml:1: audit is a command; give its options as a mapping"),
    ("run:\n  workers: 1\n  workers: 2\n", "c.yaml:3: 'workers' again (first on line 2)"),
    ("a: &x 1\nrun: {group-id: *x}\n", "YAML aliases"),
    ("- run\n", "the file must be a mapping"),
    ("run: {group-id: [a, b]}\n", "group-id takes one value, not a list"),
    ("run: [\n", "not YAML"),
])
def test_a_file_that_cannot_be_used_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text)
    with pytest.raises(ConfigFileProblem, match=None) as raised:
        load_default_map(config, main)
    assert message in str(raised.value.message)
    result = CliRunner().invoke(main, ["--config", str(config), "validate", str(RULES)])
    assert result.exit_code == 2
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1 and message in error_lines[0]
    assert "Traceback" not in result.output


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "nope.yaml"), "validate"])
    assert result.exit_code == 2
    assert "cannot read" in result.output and "No such file" in result.output


def every_command(group: click.Group) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    for name, sub in group.commands.items():
        if isinstance(sub, click.Group):
            found += [((name, *path), cmd) for path, cmd in every_command(sub)]
        else:
            found.append(((name,), sub))
    return found


@pytest.mark.parametrize("path,command", every_command(main),
                         ids=lambda p: " ".join(p) if isinstance(p, tuple) else "")
def test_every_option_of_every_command_can_be_in_the_file(tmp_path: Path, path: tuple[str, ...],
                                                           command: click.Command) -> None:
    options = [p for p in command.params if isinstance(p, click.Option)
               and p.name not in ("help", "version")]
    section = "".join(f"{'  ' * len(path)}{option_key(o)}: null\n" for o in options)
    header = "".join(f"{'  ' * depth}{name}:\n" for depth, name in enumerate(path))
    config = tmp_path / "c.yaml"
    config.write_text(header + section if options else "")
    default_map = load_default_map(config, main)
    for name in path:
        default_map = default_map.get(name, {})
    assert {o.name for o in options} <= set(default_map)
