"""The drop action: the field leaves the output."""

from __future__ import annotations

from typing import Any

from processor.actions.base import Action
from processor.actions.registry import register
from processor.i18n import Localized


@register
class Drop(Action):
    """Leave the field out of the output entirely."""

    name = "drop"
    removes_field = True
    safe_for_special = True
    described = Localized("removed", "entfernt")

    def apply(self, value: Any) -> Any:  # never called: the plan omits the field
        return None
