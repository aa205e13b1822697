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
from processor.safe_yaml import YamlRefused, load_bounded

Loc = tuple[str | int, ...]
MERGED_SECTIONS = ("tables", "views", "detectors")
#: a rule file is a few KB; these bounds keep a crafted one from exhausting the loader
MAX_FILE_BYTES = 1_048_576
MAX_TOTAL_BYTES = 8 * MAX_FILE_BYTES


def _parse(file: Path, raw: bytes) -> tuple[yaml.Node | None, Any, list[Problem]]:
    """One rule file's node (for the lines) and data, or the problems that stop it."""
    name = str(file)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return None, None, [Problem(name, line, "(file)", "not UTF-8 text",
                                    "save the rule file as UTF-8")]
    try:
        node, data, duplicates = load_bounded(text)
    except YamlRefused as exc:
        line = exc.mark.line + 1 if exc.mark else 1
        return None, None, [Problem(name, line, "(yaml)", exc.message, exc.hint)]
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        return None, None, [Problem(name, line, "(yaml)", f"YAML syntax: {exc.problem}")]
    except yaml.YAMLError:
        return None, None, [Problem(name, 1, "(yaml)", "not valid YAML")]
    problems = [Problem(name, second, str(key), f"key {key!r} is defined twice",
                        f"first at line {first}; YAML would silently keep the last one")
                for key, first, second in duplicates]
    return node, data, problems


@dataclass
class LoadedRules:
    data: dict[str, Any]
    files: list[Path]
    locations: dict[Loc, tuple[str, int]] = field(default_factory=dict)
    #: problems that do not stop the checks (a duplicated key): reported with theirs
    problems: list[Problem] = field(default_factory=list)

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
    """The rule files under ``path``; hidden files and directories are left out, since a
    Kubernetes ConfigMap volume holds every file twice (``..data/`` and a dated ``..2026_…/``
    beside the links) and editors leave ``.#name.yaml`` behind."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise RuleSetInvalid([Problem(str(path), 1, "(rules)", "no such file or directory")])
    files = sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise RuleSetInvalid([Problem(str(path), 1, "(rules)", "no *.yaml rule files here")])
    return files


def load_rules(path: str | Path) -> LoadedRules:
    """Parse and merge the rule files. A file that cannot be read as YAML (syntax, encoding,
    size, aliases, depth) and clashes between files raise RuleSetInvalid; duplicate keys are
    kept in ``problems`` so that the checks still run and report theirs in the same run."""
    files = rule_files(Path(path))
    loaded = LoadedRules(data={}, files=files)
    problems: list[Problem] = []
    total = 0
    for file in files:
        size = file.stat().st_size
        total += size
        if size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
            problems.append(Problem(str(file), 1, "(file)",
                f"rule files are limited to {MAX_FILE_BYTES // 1024} KiB each and "
                f"{MAX_TOTAL_BYTES // 1_048_576} MiB together", "is this really a rule file?"))
            continue
        try:
            raw = file.read_bytes()
        except OSError as exc:
            problems.append(Problem(str(file), 1, "(file)", f"cannot read: {exc.strerror}"))
            continue
        node, data, found = _parse(file, raw)
        if node is None:
            problems += found
            continue
        loaded.problems += found
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(Problem(str(file), 1, "(top level)", "a rule file must be a mapping"))
            continue
        locations: dict[Loc, tuple[str, int]] = {(): (str(file), 1)}
        _index(node, (), str(file), locations)
        for key, value in data.items():
            # sections merge across files where every file makes them a mapping
            if (key in MERGED_SECTIONS and isinstance(value, dict)
                    and isinstance(loaded.data.get(key, {}), dict)):
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
