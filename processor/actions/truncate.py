"""truncate: keep only the first N characters (a postcode ``10115`` → ``10``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from processor.actions.base import Action, ActionParams
from processor.actions.registry import register
from processor.formats import postgres_types as pt
from processor.i18n import Localized


class TruncateParams(ActionParams):
    keep: int = Field(ge=0)


@register
class Truncate(Action):
    name = "truncate"
    params_model = TruncateParams
    reveals = "part"
    watched = True
    reads = frozenset({pt.TEXT, pt.INTEGER})

    def __init__(self, params: TruncateParams, ctx: Any) -> None:
        super().__init__(params, ctx)
        self._keep = params.keep

    def apply(self, value: Any) -> Any:
        if value is None:
            return None
        text = value if isinstance(value, str) else str(value)
        return text[: self._keep]

    def native_spec(self) -> dict[str, Any]:
        return {"kind": "truncate", "keep": self._keep}

    def measure(self) -> Localized:
        return Localized(f"truncated to the first {self._keep} characters",
                         f"auf die ersten {self._keep} Zeichen gekürzt")
