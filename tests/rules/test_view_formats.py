"""View formats are plug-ins found by name, each carrying the facts others ask of it."""

from __future__ import annotations

import shutil
from pathlib import Path

from processor.formats.envelope import ChangeEvent
from processor.formats.views import VIEW_FORMATS, view_format
from tests.helpers import RULES
from tests.rules.test_validate import validate


def test_an_unknown_format_is_one_problem_that_names_the_formats(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    ruleset = rules / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text().replace("format: flat", "format: flatt", 1))
    validated, problems = validate(rules)
    assert validated is None
    assert any("unknown view format 'flatt'; the formats: bi, debezium, flat" in p.message
               for p in problems), [p.message for p in problems]


def test_each_format_renders_reads_back_and_says_what_it_adds() -> None:
    assert VIEW_FORMATS.names() == ["bi", "debezium", "flat"]
    event = ChangeEvent("d", {"id": "k:1"}, None, {"ts_ms": 5}, 6, None)
    for name in VIEW_FORMATS.names():
        fmt = view_format(name)
        value = fmt.render(event, {"id": "k:1"}, None)
        assert fmt.image(value) == {"id": "k:1"} and fmt.is_delete(value)
        assert fmt.layout in ("envelope", "row")
    flat = view_format("flat")
    assert flat.clashes(frozenset({"id", "__op"})) == {"__op"}
    assert not view_format("debezium").clashes(frozenset({"__op"}))
    assert view_format("debezium").shows_before_of_updates
    assert not flat.shows_before_of_updates
    bi = view_format("bi")  # the flat row, decoded for BI tools by the Python engine
    assert bi.decodes_logical_types and not flat.decodes_logical_types and not bi.native
    assert bi.added_columns == flat.added_columns
