"""keep, drop and null: the actions that publish a value as it is, or nothing."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from processor.actions.base import Action, ActionParams, CompileContext
from processor.actions.registry import register
from processor.formats.json_types import TYPES, TypeName, checker
from processor.formats.logical_types import LogicalType, of_encoding
from processor.formats.postgres_types import JSON_KINDS, SourceColumn
from processor.i18n import Localized

KeptEncoding = Literal["date", "micro_timestamp", "milli_timestamp", "decimal"]


class KeepParams(ActionParams):
    #: what the column holds; a value of another JSON type is a dead letter, never published
    #: (default: any scalar, so nested text never rides along in a "boolean" column)
    type: TypeName = "scalar"
    #: how Debezium encodes the value, where events carry no schema: the ``bi`` format
    #: decodes it (dates, timestamps, decimals with their ``scale``); masking is unchanged
    encoding: KeptEncoding | None = None
    scale: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _scale_with_decimal(self) -> KeepParams:
        if (self.encoding == "decimal") != (self.scale is not None):
            raise ValueError("encoding: decimal goes with scale (digits after the decimal "
                             "point), and scale only with it")
        return self


@register
class Keep(Action):
    """Publish the value as it is (business and technical data), if it is of its type."""

    name = "keep"
    output_type = None
    reveals = "all"
    stable_for_keys = True
    watched = True
    described = Localized("published unchanged", "unverändert veröffentlicht")
    params_model = KeepParams

    def __init__(self, params: KeepParams, ctx: CompileContext) -> None:
        super().__init__(params, ctx)
        self._type = params.type
        self._check = checker(params.type)

    def apply(self, value: Any) -> Any:
        return self._check(value)

    def declared_type(self) -> LogicalType | None:
        p: KeepParams = self.params  # type: ignore[assignment]
        return of_encoding(p.encoding, p.scale) if p.encoding is not None else None

    def source_problem(self, column: SourceColumn, typed: bool) -> str | None:
        """The declared ``type`` must take what Debezium writes (an array, a JSON object for
        a numeric without scale): another kind would be a dead letter on every event. A
        declared ``encoding`` must be what Debezium sends (where events carry no schema, the
        ``bi`` format decodes by it)."""
        sent = JSON_KINDS.get(column.kind)
        if sent is not None and not sent <= TYPES[self._type]:
            fitting = [name for name, kinds in TYPES.items() if sent <= kinds]
            return (f"keep with type: {self._type} refuses the {'/'.join(sorted(sent))} that "
                    f"Debezium writes for {column.pg_type}: use type: {fitting[0]}")
        p: KeepParams = self.params  # type: ignore[assignment]
        if p.encoding is None or typed:  # the events' schema names the encoding
            return None
        if column.kind != p.encoding:
            return (f"Debezium sends {column.pg_type} as {column.kind}, the rule says encoding: "
                    f"{p.encoding}")
        if p.encoding == "decimal" and column.scale is not None and column.scale != p.scale:
            return f"{column.pg_type} has scale {column.scale}: use scale: {column.scale}"
        return None

    def native_spec(self) -> dict[str, Any]:
        return {"kind": "keep", "kinds": sorted(TYPES[self._type])}
