"""keep, drop and null: the actions that need no parameters."""

from __future__ import annotations

from typing import Any

from processor.actions.base import Action
from processor.actions.registry import register


@register
class Keep(Action):
    """Publish the value as it is (business and technical data)."""

    name = "keep"
    output_type = None
    reveals = "all"

    def apply(self, value: Any) -> Any:
        return value

    def native_spec(self) -> dict[str, Any]:
        return {"kind": "keep"}


@register
class Drop(Action):
    """Leave the field out of the output entirely."""

    name = "drop"
    removes_field = True

    def apply(self, value: Any) -> Any:  # never called: the plan omits the field
        return None


@register
class Null(Action):
    """Keep the column but always publish null (stable schemas for BI tools)."""

    name = "null"
    output_type = "null"

    def apply(self, value: Any) -> Any:
        return None

    def native_spec(self) -> dict[str, Any]:
        return {"kind": "null"}
