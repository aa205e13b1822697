"""The null action: the column stays, always null."""

from __future__ import annotations

from typing import Any

from processor.actions.base import Action
from processor.actions.registry import register
from processor.i18n import Localized


@register
class Null(Action):
    """Keep the column but always publish null (stable schemas for BI tools)."""

    name = "null"
    output_type = "null"
    safe_for_special = True
    described = Localized("replaced by null", "durch null ersetzt")

    def apply(self, value: Any) -> Any:
        return None

    def native_spec(self) -> dict[str, Any]:
        return {"kind": "null"}
