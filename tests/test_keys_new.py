"""`crm-masker keys new`: a fresh random key, owner-only, never printed, never overwritten."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import stat
from pathlib import Path

from click.testing import CliRunner

from processor.cli import main
from processor.errors import KeyFileError
from processor.keys import load_keys
from tests.helpers import RULES


def new(*args: str) -> tuple[int, str]:
    """Exit code as the installed command gives it (a KeyFileError is exit 2) and output."""
    result = CliRunner().invoke(main, ["keys", "new", *args])
    if isinstance(result.exception, KeyFileError):
        return 2, str(result.exception)
    return result.exit_code, result.output


def test_a_new_key_file_is_private_random_and_usable(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    code, said = new("--output", str(path))
    assert code == 0, said
    year = dt.date.today().year
    ring = load_keys(path)
    assert ring.key_ids == [f"k{year}a"] and not ring.demo
    secret = ring.secret(f"k{year}a")
    assert len(secret) == 32 and secret not in (load_keys(self_made(tmp_path)).secrets.values())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret.hex() not in said and "base64:" not in said
    # the rules mask with it once they name it
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    ruleset = rules / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text().replace("pseudonym_key_id: k2026a",
                                                   f"pseudonym_key_id: k{year}a"))
    line = json.dumps({"topic": "crm.public.users", "key": {"id": 7}, "value": {
        "op": "c", "ts_ms": 1, "source": {"table": "users"}, "before": None,
        "after": {"id": 7, "username": "u", "full_name": "A B", "email": "a@b.de",
                  "role": "sales", "department": "x", "active": True, "deactivated_at": None}}})
    kek = tmp_path / "kek.yaml"  # the rules encrypt contacts.phone: a KEK of one's own too
    assert new("--output", str(kek), "--key-id", "kek1")[0] == 0
    masked = CliRunner().invoke(main, ["mask", "--rules", str(rules), "--keys", str(path),
                                       "--kek-file", str(kek)], input=line + "\n")
    assert masked.exit_code == 0, masked.output
    assert f'"k{year}a:' in masked.stdout


def self_made(tmp_path: Path) -> Path:
    other = tmp_path / "other.yaml"
    assert new("--output", str(other))[0] == 0
    return other


def test_a_key_file_is_never_overwritten_and_grows_by_rotation(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    assert new("--output", str(path), "--key-id", "prod-1")[0] == 0
    before = load_keys(path).secret("prod-1")
    code, said = new("--output", str(path))
    assert code == 2 and "exists; add a key to it with --add" in said
    code, said = new("--output", str(path), "--add")
    assert code == 0, said
    ring = load_keys(path)
    assert ring.secret("prod-1") == before and len(ring.key_ids) == 2
    code, said = new("--output", str(path), "--add", "--key-id", "prod-1")
    assert code == 2 and "has a key 'prod-1' already" in said


def test_the_demo_keys_are_not_a_start(tmp_path: Path) -> None:
    demo = tmp_path / "demo.yaml"
    demo.write_text((Path(__file__).resolve().parents[1] / "deploy/keys/demo-keys.yaml")
                    .read_text())
    code, said = new("--output", str(demo), "--add")
    assert code == 2 and "public demo key" in said
