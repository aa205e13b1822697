"""The contract of a view format, and the registry that finds the formats by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from processor.formats.envelope import ChangeEvent
from processor.registry import Registry

Row = dict[str, Any]


@dataclass(frozen=True)
class AddedColumn:
    """A column that a row-layout format adds to the masked row, with its types."""

    name: str
    connect_type: str  # Kafka Connect's type name
    avro_type: str
    optional: bool


class ViewFormat(ABC):
    """One output format of the views."""

    name: ClassVar[str]
    #: the record's shape, which the Connect and Avro schema derivations read: ``envelope``
    #: (before, after, source, op, ts_ms), or ``row`` (one image plus ``added_columns``)
    layout: ClassVar[Literal["envelope", "row"]]
    added_columns: ClassVar[tuple[AddedColumn, ...]] = ()
    #: an update's record shows the before image too (what the engine must mask)
    shows_before_of_updates: ClassVar[bool]
    #: the native core renders this format (it knows each layout): else the Python engine
    native: ClassVar[bool] = True
    #: JSON records carry dates, timestamps and decimals decoded (formats/decoded.py), as
    #: plain JSON without a Connect schema; Avro records keep their logical types
    decodes_logical_types: ClassVar[bool] = False
    params_model: ClassVar[type[BaseModel]] = BaseModel  # the registry's contract: none

    @abstractmethod
    def render(self, event: ChangeEvent, before: Row | None, after: Row | None) -> Row:
        """The record value of a masked change event."""

    @abstractmethod
    def image(self, value: Row) -> Row | None:
        """The masked row inside a record value of this format (the after image, or the
        before image of a delete): what the leak watch and subject look-ups read."""

    @abstractmethod
    def is_delete(self, value: Row) -> bool:
        """Whether a record value of this format says that its row was deleted."""

    def clashes(self, columns: frozenset[str]) -> frozenset[str]:
        """The table's columns that this format's added columns would overwrite."""
        return columns.intersection(column.name for column in self.added_columns)


VIEW_FORMATS: Registry[type[ViewFormat]] = Registry("view format", lambda cls: cls.name,
                                                    ["processor.formats.views.*"])
_INSTANCES: dict[str, ViewFormat] = {}


def view_format(name: str) -> ViewFormat:
    """The format called ``name`` (KeyError for an unknown one; the rules are validated)."""
    found = _INSTANCES.get(name)
    if found is None:
        found = _INSTANCES[name] = VIEW_FORMATS.get(name)()
    return found
