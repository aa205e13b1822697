"""The packages of processor/ form layers: an import never points back up.

Each package (and each top-level module) is a node; an import of another node, at module
level or inside a function, is an edge (``if TYPE_CHECKING:`` imports are not). The graph
must have no cycle: a new upward import closes one, and this test names its files.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "processor"


def node_of(module: str) -> str:
    """``processor.masking.plan`` → ``masking``; ``processor.keys`` → ``keys``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(node) for branch in ast.walk(tree) if isinstance(branch, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(branch.test)
                   for node in ast.walk(branch)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(name for name in names if name.startswith("processor."))
    return found


def graph() -> dict[str, dict[str, set[str]]]:
    """node → imported node → the files that import it."""
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        source = node_of(".".join(relative.parts))
        for module in imports_of(path):
            target = node_of(module)
            if target != source and source != "processor":
                edges[source][target].add(str(relative))
    return edges


def find_cycle(edges: dict[str, dict[str, set[str]]]) -> list[str]:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, {})):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_no_import_points_back_up() -> None:
    edges = graph()
    cycle = find_cycle(edges)
    where = [f"{a} → {b}: {', '.join(sorted(edges[a][b]))}" for a, b in itertools.pairwise(cycle)]
    assert not cycle, "packages import each other in a circle:\n" + "\n".join(where)


def test_the_check_finds_a_circle() -> None:
    edges: dict[str, dict[str, set[str]]] = {"a": {"b": {"a/x"}}, "b": {"c": {"b/y"}},
                                             "c": {"a": {"c/z"}}}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": {"a/x"}}, "b": {}}) == []


def test_the_lowest_layers_import_nothing_above_them() -> None:
    """The value formats, the errors and the shared settings sit at the bottom."""
    edges = graph()
    bottom = {"errors", "formats", "kafka_options", "safe_yaml", "i18n", "registry", "models"}
    for node in bottom:
        assert set(edges.get(node, {})) <= bottom, (node, dict(edges.get(node, {})))
