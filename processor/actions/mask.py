"""mask: hide all but the first/last N characters (``+49 30 1234567`` → ``***********67``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from processor.actions.base import Action, ActionParams
from processor.actions.registry import register
from processor.formats import postgres_types as pt
from processor.i18n import Localized


class MaskParams(ActionParams):
    keep_first: int = Field(0, ge=0)
    keep_last: int = Field(0, ge=0)
    char: str = Field("*", min_length=1, max_length=1)
    #: publish this many mask characters whatever the length (hides the length too)
    fixed_length: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _not_everything(self) -> MaskParams:
        if self.keep_first + self.keep_last > 8:
            raise ValueError("keep_first + keep_last above 8 reveals most of a value")
        return self


@register
class Mask(Action):
    name = "mask"
    params_model = MaskParams
    reveals = "part"
    watched = True
    reads = frozenset({pt.TEXT, pt.INTEGER})  # str(value): a list or decimal bytes would show

    def __init__(self, params: MaskParams, ctx: Any) -> None:
        super().__init__(params, ctx)
        self._first = params.keep_first
        self._last = params.keep_last
        self._char = params.char
        self._fixed = params.fixed_length

    def apply(self, value: Any) -> Any:
        if value is None:
            return None
        text = value if isinstance(value, str) else str(value)
        n = len(text)
        shown = self._first + self._last
        if n <= shown:  # too short to keep anything without revealing it all
            return self._char * (self._fixed if self._fixed is not None else n)
        head = text[: self._first]
        tail = text[n - self._last :] if self._last else ""
        middle = self._fixed if self._fixed is not None else n - shown
        return head + self._char * middle + tail

    def native_spec(self) -> dict[str, Any]:
        return {"kind": "mask", "first": self._first, "last": self._last, "char": self._char,
                "fixed": self._fixed}

    def measure(self) -> Localized:
        first, last = self._first, self._last
        if not first and not last:
            return Localized("masked completely", "vollständig maskiert")
        if not first:
            return Localized(f"masked, only the last {last} characters shown",
                             f"maskiert, nur die letzten {last} Zeichen sichtbar")
        if not last:
            return Localized(f"masked, only the first {first} characters shown",
                             f"maskiert, nur die ersten {first} Zeichen sichtbar")
        return Localized(f"masked, the first {first} and the last {last} characters shown",
                         f"maskiert, die ersten {first} und die letzten {last} Zeichen sichtbar")
