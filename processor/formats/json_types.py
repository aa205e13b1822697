"""The JSON types that kept columns and Debezium's metadata declare; both engines check them.

What is copied unmasked must be what it claims to be: text never passes where a number, a flag
or an identifier belongs (``"source": {"ts_ms": "<an e-mail>"}``), and nothing nested reaches
an output unless the rules say so. A declared type is a set of *kinds*; the native core gets
the sets in its spec and tells the kind of a raw JSON value by its first bytes, so the two
engines agree by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

#: the kinds of JSON value, as ``kind_of`` and the native core name them
KINDS = ("null", "boolean", "integer", "float", "string", "array", "object")
_SCALARS = frozenset({"null", "boolean", "integer", "float", "string"})

#: a declared type → the kinds it accepts (null always: columns and metadata are nullable)
TYPES: dict[str, frozenset[str]] = {
    "string": frozenset({"null", "string"}),
    "integer": frozenset({"null", "integer"}),
    "number": frozenset({"null", "integer", "float"}),
    "boolean": frozenset({"null", "boolean"}),
    "string_or_boolean": frozenset({"null", "string", "boolean"}),
    "scalar": _SCALARS,
    "array": frozenset({"null", "array"}),
    "object": frozenset({"null", "object"}),
    "json": frozenset(KINDS),
}
TypeName = Literal["string", "integer", "number", "boolean", "string_or_boolean", "scalar",
                   "array", "object", "json"]
#: how deep a kept array or object may nest (orjson writes 254 levels at most)
MAX_DEPTH = 64

_KIND_BY_TYPE: dict[type, str] = {
    type(None): "null", bool: "boolean", int: "integer", float: "float", str: "string",
    list: "array", dict: "object",
}


def kind_of(value: Any) -> str:
    """The kind of a decoded JSON value (``other`` for anything JSON cannot hold)."""
    return _KIND_BY_TYPE.get(type(value), "other")


def nesting(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep ``value`` nests, counted up to ``limit + 1`` (iteratively: no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return depth
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def checker(type_name: str) -> Callable[[Any], Any]:
    """A function that returns a value of the type unchanged and raises TypeError otherwise
    (naming the kinds, never the value)."""
    allowed = TYPES[type_name]
    if allowed <= _SCALARS:
        def check_scalar(value: Any) -> Any:
            if _KIND_BY_TYPE.get(type(value)) not in allowed:
                raise TypeError(f"a {kind_of(value)} where {type_name} is declared")
            return value

        return check_scalar

    def check_nested(value: Any) -> Any:
        kind = kind_of(value)
        if kind not in allowed:
            raise TypeError(f"a {kind} where {type_name} is declared")
        if kind in ("array", "object") and nesting(value) > MAX_DEPTH:
            raise TypeError(f"nested deeper than {MAX_DEPTH} levels")
        return value

    return check_nested


#: Debezium's ``source`` members that identify nobody, with their types; everything else
#: (MySQL's ``query``, an unknown member) is dropped
SOURCE_FIELDS: tuple[tuple[str, str], ...] = (
    ("version", "string"), ("connector", "string"), ("name", "string"), ("ts_ms", "integer"),
    ("snapshot", "string_or_boolean"), ("db", "string"), ("schema", "string"),
    ("table", "string"), ("lsn", "integer"), ("txId", "integer"), ("sequence", "string"),
    ("file", "string"), ("pos", "integer"), ("row", "integer"), ("server_id", "integer"),
)
#: the members of Debezium's ``transaction`` block that are published, with their types
TRANSACTION_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "string"), ("total_order", "integer"), ("data_collection_order", "integer"),
)


def native_fields(fields: tuple[tuple[str, str], ...]) -> list[tuple[str, list[str]]]:
    """An allow-list as the native core's spec carries it: names with their accepted kinds."""
    return [(name, sorted(TYPES[type_name])) for name, type_name in fields]
