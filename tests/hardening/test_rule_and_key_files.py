"""Crafted rule and key files (issue #19): each is one clear problem, found fast, never a
traceback or gigabytes of memory; a duplicated key never wins silently."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processor.errors import KeyFileError
from processor.keys import load_keys, parse_keys
from processor.rules import validate
from tests.helpers import DEMO_KEYS, RULES

ALIAS_BOMB = """a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def rules_with(tmp_path: Path, name: str, content: bytes) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / name).write_bytes(content)
    return rules


def problems(path: Path) -> list[str]:
    started = time.monotonic()
    validated, found = validate(path)
    assert time.monotonic() - started < 10, "validating a crafted file took too long"
    assert validated is None
    return [str(p) for p in found]


@pytest.mark.parametrize(("content", "expected"), [
    (ALIAS_BOMB.encode(), "aliases (*name) are not allowed"),
    (b"x: " + b"[" * 20_000 + b"]" * 20_000 + b"\n", "nested deeper than 32 levels"),
    (b"version: 1\nname: \"M\xfcller\"\n", "not UTF-8 text"),
    (b"# padding\n" * 120_000, "limited to 1024 KiB"),
    (b"a: [unclosed\n", "YAML syntax"),
])
def test_a_crafted_rule_file_is_one_clear_problem(tmp_path: Path, content: bytes,
                                                  expected: str) -> None:
    found = problems(rules_with(tmp_path, "crafted.yaml", content))
    assert len(found) == 1 and expected in found[0], found
    assert "crafted.yaml" in found[0]


def test_a_duplicated_field_is_reported_with_both_lines(tmp_path: Path) -> None:
    """Appending `email: keep` to the contacts fields would publish raw e-mails."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    contacts = rules / "tables" / "contacts.yaml"
    text = contacts.read_text()
    first = next(i for i, line in enumerate(text.splitlines(), 1)
                 if line.strip().startswith("email:"))
    contacts.write_text(text + "      email:       {class: technical, action: keep}\n")
    last = len(contacts.read_text().splitlines())
    found = problems(rules)
    assert found == [f"{contacts}:{last}: error: email: key 'email' is defined twice "
                     f"(hint: first at line {first}; YAML would silently keep the last one)"]


@pytest.mark.parametrize(("content", "expected"), [
    (b"tables:\n", "defined in more than one file"),       # found by `make fuzz`: a crash
    (b"views:\n  x: {topic: 'bi.{table}.{who}'}\n", "no other placeholder"),  # likewise
])
def test_a_section_that_another_file_also_defines_is_a_problem(tmp_path: Path, content: bytes,
                                                               expected: str) -> None:
    found = problems(rules_with(tmp_path, "crafted.yaml", content))
    assert any(expected in p for p in found), found


def test_schema_and_parameter_errors_are_reported_in_one_run(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    contacts = rules / "tables" / "contacts.yaml"
    contacts.write_text(contacts.read_text().replace("legal_basis: contract", "legal_basis: x")
                        .replace("action: mask, keep_last: 2", "action: mask, keep_lost: 2", 1))
    found = problems(rules)
    assert any("legal_basis" in p for p in found), found
    assert any("keep_lost" in p for p in found), found


def test_the_validate_command_prints_one_line_not_a_traceback(tmp_path: Path) -> None:
    rules = rules_with(tmp_path, "bomb.yaml", ALIAS_BOMB.encode())
    result = subprocess.run([sys.executable, "-m", "processor", "validate", str(rules)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "aliases" in result.stderr


DEMO_SECRET = next(line.split('"')[1] for line in DEMO_KEYS.read_text().splitlines()
                   if line.strip().startswith("k2026a:"))


def test_the_demo_secret_is_a_demo_key_without_its_marker(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Every secret of the shipped demo file is recognised by its value, in a file without
    `demo: true` and in $CRM_MASKER_KEYS."""
    for line in DEMO_KEYS.read_text().splitlines():
        if line.strip().startswith("k20"):
            key_id, secret = line.strip().split(":", 1)
            ring = parse_keys(f"keys:\n  {key_id}: {secret.strip()}\n", "test")
            assert ring.demo, key_id
    unmarked = tmp_path / "keys.yaml"
    unmarked.write_text(f'keys:\n  mine: "{DEMO_SECRET}"\n')
    assert load_keys(unmarked).demo
    monkeypatch.setenv("CRM_MASKER_KEYS", f'keys:\n  mine: "{DEMO_SECRET}"\n')
    assert load_keys(None).demo
    result = subprocess.run([sys.executable, "-m", "processor", "mask", "--keys", str(unmarked)],
                            input=b"", capture_output=True, timeout=60)
    assert result.returncode == 2 and b"holds a demo key" in result.stderr
    assert DEMO_SECRET.encode() not in result.stderr


def test_an_own_secret_is_no_demo_key() -> None:
    ring = parse_keys('keys:\n  k1: "base64:' + "QUJD" * 11 + '"\n', "test")
    assert not ring.demo


@pytest.mark.parametrize(("content", "expected"), [
    (b'keys:\n  k1: "M\xfcller-secret-of-enough-length-123456"\n', "not UTF-8"),
    (ALIAS_BOMB.encode(), "aliases"),
    (b"keys:\n  k1: 'x'\n  k1: 'y'\n", "defined twice"),
    (b"keys: [", "not valid YAML"),
    (b"keys:\n  k1: 'short'\n", "shorter than 32 bytes"),
    (b"x" * 70_000, "not a key file"),
])
def test_every_key_file_problem_is_one_clear_line(tmp_path: Path, content: bytes,
                                                  expected: str) -> None:
    path = tmp_path / "keys.yaml"
    path.write_bytes(content)
    with pytest.raises(KeyFileError) as exc:
        load_keys(path)
    assert expected in str(exc.value) and "\n" not in str(exc.value)
    result = subprocess.run([sys.executable, "-m", "processor", "mask", "--keys", str(path)],
                            input=b"", capture_output=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.decode().count("\n") == 1 and b"Traceback" not in result.stderr
