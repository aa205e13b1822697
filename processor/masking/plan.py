"""A compiled plan masks the rows of one table for one view without reading rule text.

Fail closed: the output row is built from the plan's field list, so a column that no rule
names can never reach it; such columns are reported back by name (schema drift).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from processor.actions.base import SubjectScope
from processor.errors import PoisonEvent
from processor.formats.envelope import UNAVAILABLE_MARKERS
from processor.formats.logical_types import LogicalType

ApplyFn = Callable[[Any], Any]
MISSING = object()
#: what a column becomes: an Avro type name, None for "the input's type", ABSENT when dropped
OutputType = str | None
ABSENT = "absent"


class Retypable(Protocol):
    """An action that reads a value by the logical type that the source's schema names."""

    def for_logical_type(self, logical: LogicalType) -> Retypable | None: ...

    def apply(self, value: Any) -> Any: ...


@dataclass(frozen=True)
class Conditional:
    """A field whose action depends on another column of the same row (e.g. consent)."""

    name: str
    test_field: str
    then: ApplyFn | None  # None: the field is dropped
    otherwise: ApplyFn | None
    #: the test: ``not_null``, else ``value == equals`` (data, so the native core reads it too)
    not_null: bool = False
    equals: Any = None

    def test(self, value: Any) -> bool:
        return value is not None if self.not_null else value == self.equals


@dataclass
class FieldPlan:
    """The compiled rules of one table in one view; columns come out in rule order."""

    table: str
    #: (column, function or None for "keep", condition or None), published columns only
    steps: tuple[tuple[str, ApplyFn | None, Conditional | None], ...]
    key_fields: tuple[tuple[str, ApplyFn | None], ...]
    known: frozenset[str]
    #: action name → number of columns it handles (for the fields-masked metric)
    action_counts: dict[str, int] = field(default_factory=dict)
    #: columns published in clear or in part (keep, mask, truncate …), for the leak watch
    watched: tuple[str, ...] = ()
    #: published columns in rule order with the output types their actions can produce
    #: (two for a condition); masked Avro schemas are derived from them
    outputs: tuple[tuple[str, tuple[OutputType, ...]], ...] = ()
    #: column → its action, where the action reads values by the source schema's logical type
    retypable: dict[str, Retypable] = field(default_factory=dict)
    #: column → the logical type that its rule declares (an ``encoding``), for the published
    #: columns that keep their input's type: how events without a schema are decoded for BI
    declared: dict[str, LogicalType] = field(default_factory=dict)
    #: the table's data subject, when an action of the plan keys values by it (encrypt)
    subject: SubjectScope | None = None

    def for_types(self, types: Mapping[str, LogicalType]) -> FieldPlan:
        """This plan for rows whose schema names ``types``: a column whose schema says how
        its value is encoded (milliseconds, a decimal's scale) is read as it says, whatever
        encoding the rule declares. The same plan where nothing differs."""
        changed: dict[str, ApplyFn] = {}
        for column, action in self.retypable.items():
            logical = types.get(column)
            other = action.for_logical_type(logical) if logical is not None else None
            if other is not None:
                changed[column] = other.apply
        if not changed:
            return self
        return replace(self, steps=tuple((name, changed.get(name, fn) if fn else fn, cond)
                                         for name, fn, cond in self.steps),
                       key_fields=tuple((name, changed.get(name, fn) if fn else fn)
                                        for name, fn in self.key_fields))

    def mask_row(self, row: dict[str, Any], other: dict[str, Any] | None = None,
                 other_out: dict[str, Any] | None = None) -> dict[str, Any]:
        """Mask ``row``. ``other``/``other_out``: the other image of an update and its masked
        form; unchanged columns are copied from it instead of being masked again."""
        out: dict[str, Any] = {}
        name = ""
        if self.subject is not None:
            self.subject.value = row.get(self.subject.column)
        try:
            for name, fn, cond in self.steps:
                if name not in row:
                    continue
                value = row[name]
                if type(value) is str and value in UNAVAILABLE_MARKERS:
                    continue  # Debezium does not have the value: not data, left out
                if cond is not None:
                    fn = cond.then if cond.test(row.get(cond.test_field)) else cond.otherwise
                    if fn is None:
                        continue
                    other = None  # the condition's column may differ between the images
                elif fn is None:
                    out[name] = value
                    continue
                if other is not None and other_out is not None and name in other_out:
                    before = other.get(name, MISSING)
                    if before == value and type(before) is type(value):
                        out[name] = other_out[name]
                        continue
                out[name] = fn(value)
        except PoisonEvent:
            raise
        except Exception:  # the message could quote the value: report the field name only
            raise PoisonEvent("invalid_field_value", f"{self.table}.{name}") from None
        return out

    def unknown_fields(self, row: dict[str, Any]) -> list[str]:
        if self.known.issuperset(row):
            return []
        return sorted(set(row) - self.known)

    def unavailable(self, row: dict[str, Any]) -> list[str]:
        """The published columns of ``row`` that hold Debezium's placeholder instead of a
        value (they are left out of the masked image)."""
        return [name for name, _, _ in self.steps
                if type(row.get(name)) is str and row[name] in UNAVAILABLE_MARKERS]

    def truncate_key(self) -> dict[str, Any] | None:
        """The key of a truncate's record: every key column null (a compacted topic takes no
        record without a key)."""
        return {name: None for name, _ in self.key_fields} or None

    def mask_key(self, key: Any) -> dict[str, Any] | None:
        """The message key with its columns masked like the row; unknown key columns dropped."""
        if key is None:
            return None
        if not isinstance(key, dict):
            raise PoisonEvent("invalid_key", self.table)
        out = {}
        name = ""
        try:
            for name, fn in self.key_fields:
                if name in key:
                    out[name] = fn(key[name]) if fn is not None else key[name]
        except PoisonEvent:
            raise
        except Exception:  # the message could quote the value: report the column name only
            raise PoisonEvent("invalid_key", f"{self.table}.{name}") from None
        return out or None
