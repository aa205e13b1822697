"""YAML for files that people (or attackers) write: rule files and key files.

PyYAML's safe loader still expands aliases and recurses on nesting; these bounds make any file
cost what its size says, and report what YAML would otherwise resolve silently.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 32


class YamlRefused(Exception):
    """A YAML construct that rule files may not use; ``mark`` says where."""

    def __init__(self, message: str, mark: yaml.Mark | None, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.mark, self.hint = message, mark, hint


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases (a ten-line alias bomb expands to gigabytes) and
    with bounded nesting (composing recurses); duplicate keys are collected with both lines,
    since YAML would silently keep the last (a second ``email: {action: keep}`` in a rule
    file, a second key id in a key file)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self.duplicates: list[tuple[str, int, int]] = []  # (key, first line, second line)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise YamlRefused("YAML aliases (*name) are not allowed in rule files",
                           self.peek_event().start_mark, "write the value out")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlRefused(f"nested deeper than {MAX_DEPTH} levels",
                           self.peek_event().start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                line = key.start_mark.line + 1
                if key.value in seen:
                    self.duplicates.append((key.value, seen[key.value], line))
                else:
                    seen[key.value] = line
        return node


def load_bounded(text: str) -> tuple[yaml.Node | None, Any, list[tuple[str, int, int]]]:
    """The document's node (its marks give lines), its data and its duplicate keys;
    YamlRefused or yaml.YAMLError otherwise."""
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        return node, data, loader.duplicates
    finally:
        loader.dispose()
