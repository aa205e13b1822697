"""The two shapes of configuration model that the rule files are read into.

Every section of a rule file is strict (an unknown key is a typo, frozen once read, and a
validation error never quotes the input: it could be a secret or personal data). A plug-in's
spec (``{action: mask, keep_last: 2}``, ``{type: volume_threshold, …}``) names the plug-in
and passes the other keys through to the plug-in's own strict parameters.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A section of a rule file: unknown keys refused, frozen, no input in errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True,
                              populate_by_name=True)


class PluginSpec(BaseModel):
    """A plug-in's name field plus its parameters, which the plug-in checks itself."""

    model_config = ConfigDict(extra="allow", frozen=True, hide_input_in_errors=True)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})
