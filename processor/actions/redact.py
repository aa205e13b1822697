"""redact: replace every non-null value by a constant."""

from __future__ import annotations

from typing import Any

from processor.actions.base import Action, ActionParams
from processor.actions.registry import register
from processor.i18n import Localized


class RedactParams(ActionParams):
    value: str = "[REDACTED]"
    keep_null: bool = True  # null stays null, so "has a value" remains analysable


@register
class Redact(Action):
    name = "redact"
    params_model = RedactParams
    described = Localized("replaced by a constant", "durch eine Konstante ersetzt")

    def __init__(self, params: RedactParams, ctx: Any) -> None:
        super().__init__(params, ctx)
        self._constant = params.value
        self._keep_null = params.keep_null

    def apply(self, value: Any) -> Any:
        if value is None and self._keep_null:
            return None
        return self._constant

    def native_spec(self) -> dict[str, Any]:
        return {"kind": "redact", "value": self._constant, "keep_null": self._keep_null}
