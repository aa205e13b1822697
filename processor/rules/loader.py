"""Read a rules directory (or one file) into one mapping, remembering where every key stands.

Every ``*.yaml``/``*.yml`` file in the directory is a part of the rule set; sections (``tables``,
``views`` …) from several files are merged by name. The location index maps each key path
(``("tables", "contacts", "fields", "email")``) to ``(file, line)`` so that every problem can
be reported as ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from processor.errors import Problem, RuleSetInvalid

Loc = tuple[str | int, ...]
MERGED_SECTIONS = ("tables", "views", "detectors")


@dataclass
class LoadedRules:
    data: dict[str, Any]
    files: list[Path]
    locations: dict[Loc, tuple[str, int]] = field(default_factory=dict)

    def where(self, loc: Loc) -> tuple[str, int]:
        """The file and line of ``loc`` or of its nearest located parent."""
        for end in range(len(loc), -1, -1):
            found = self.locations.get(tuple(loc[:end]))
            if found:
                return found
        return (str(self.files[0]) if self.files else "<rules>", 1)

    def problem(self, loc: Loc, message: str, hint: str = "", severity: str = "error") -> Problem:
        file, line = self.where(loc)
        path = ".".join(str(p) for p in loc) or "(top level)"
        return Problem(file, line, path, message, hint, severity)


def _index(node: yaml.Node, loc: Loc, file: str, out: dict[Loc, tuple[str, int]]) -> None:
    """Record the line of every mapping key and sequence item below ``node``."""
    if isinstance(node, yaml.MappingNode):
        children = [((key.value,), key, value) for key, value in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = [((i,), item, item) for i, item in enumerate(node.value)]
    else:
        return
    for step, mark_node, child in children:
        out[loc + step] = (file, mark_node.start_mark.line + 1)
        _index(child, loc + step, file, out)


def rule_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise RuleSetInvalid([Problem(str(path), 1, "(rules)", "no such file or directory")])
    files = sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
    if not files:
        raise RuleSetInvalid([Problem(str(path), 1, "(rules)", "no *.yaml rule files here")])
    return files


def load_rules(path: str | Path) -> LoadedRules:
    """Parse and merge the rule files. YAML syntax errors and clashes raise RuleSetInvalid."""
    files = rule_files(Path(path))
    loaded = LoadedRules(data={}, files=files)
    problems: list[Problem] = []
    for file in files:
        text = file.read_text()
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            line = exc.problem_mark.line + 1 if exc.problem_mark else 1
            problems.append(Problem(str(file), line, "(yaml)", f"YAML syntax: {exc.problem}"))
            continue
        if data is None:
            continue
        if not isinstance(data, dict) or node is None:
            problems.append(Problem(str(file), 1, "(top level)", "a rule file must be a mapping"))
            continue
        locations: dict[Loc, tuple[str, int]] = {(): (str(file), 1)}
        _index(node, (), str(file), locations)
        for key, value in data.items():
            if key in MERGED_SECTIONS and isinstance(value, dict):
                section = loaded.data.setdefault(key, {})
                for name, item in value.items():
                    if name in section:
                        problems.append(loaded.problem(
                            (key, name), f"{key[:-1]} {name!r} is defined twice",
                            f"also in {file}"))
                    section[name] = item
            elif key in loaded.data:
                first = loaded.where((key,))
                problems.append(Problem(str(file), locations.get((key,), (str(file), 1))[1],
                                        str(key), "defined in more than one file",
                                        f"first defined at {first[0]}:{first[1]}"))
            else:
                loaded.data[key] = value
        for loc, where in locations.items():
            loaded.locations.setdefault(loc, where)
    if problems:
        raise RuleSetInvalid(problems)
    return loaded
