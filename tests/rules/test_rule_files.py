"""Where rule files are found: a flat directory, as a Kubernetes ConfigMap volume holds them
(every file twice, behind hidden ``..data`` links), reads the same as the repository's tree."""

from __future__ import annotations

from pathlib import Path

from processor.rules import load_validated
from processor.rules.loader import rule_files
from tests.helpers import RULES


def configmap_volume(tmp_path: Path) -> Path:
    """What the kubelet writes for a ConfigMap with the rule files as keys (flat)."""
    volume = tmp_path / "rules"
    dated = volume / "..2026_12_06_08_00_00.123456789"
    dated.mkdir(parents=True)
    for source in RULES.rglob("*.yaml"):
        (dated / source.name).write_bytes(source.read_bytes())
    (volume / "..data").symlink_to(dated.name)
    for source in dated.iterdir():
        (volume / source.name).symlink_to(Path("..data") / source.name)
    return volume


def test_a_configmap_volume_is_read_once_per_file(tmp_path: Path) -> None:
    volume = configmap_volume(tmp_path)
    files = rule_files(volume)
    assert sorted(f.name for f in files) == sorted(p.name for p in RULES.rglob("*.yaml"))
    assert all(".." not in str(f.relative_to(volume)) for f in files)
    mounted, repository = load_validated(volume), load_validated(RULES)
    assert mounted.rules.tables.keys() == repository.rules.tables.keys()
    assert mounted.rules.views.keys() == repository.rules.views.keys()


def test_hidden_editor_files_are_not_rules(tmp_path: Path) -> None:
    volume = configmap_volume(tmp_path)
    (volume / ".#contacts.yaml").write_text("tables: {broken: [\n")
    assert load_validated(volume).rules.tables
