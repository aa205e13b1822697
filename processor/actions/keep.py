"""keep, drop and null: the actions that publish a value as it is, or nothing."""

from __future__ import annotations

from typing import Any

from processor.actions.base import Action, ActionParams, CompileContext
from processor.actions.registry import register
from processor.formats.json_types import TYPES, TypeName, checker
from processor.formats.postgres_types import JSON_KINDS, SourceColumn
from processor.i18n import Localized


class KeepParams(ActionParams):
    #: what the column holds; a value of another JSON type is a dead letter, never published
    #: (default: any scalar, so nested text never rides along in a "boolean" column)
    type: TypeName = "scalar"


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

    def source_problem(self, column: SourceColumn, typed: bool) -> str | None:
        """The declared ``type`` must take what Debezium writes (an array, a JSON object for
        a numeric without scale): another kind would be a dead letter on every event."""
        sent = JSON_KINDS.get(column.kind)
        if sent is None or sent <= TYPES[self._type]:
            return None
        fitting = [name for name, kinds in TYPES.items() if sent <= kinds]
        return (f"keep with type: {self._type} refuses the {'/'.join(sorted(sent))} that "
                f"Debezium writes for {column.pg_type}: use type: {fitting[0]}")

    def native_spec(self) -> dict[str, Any]:
        return {"kind": "keep", "kinds": sorted(TYPES[self._type])}
