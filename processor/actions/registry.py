"""Masking actions by name: the one place that knows which actions exist."""

from __future__ import annotations

from typing import Any

from processor.actions.base import Action, CompileContext
from processor.registry import Registry

#: every module of processor/actions/ but base and registry: one file per action
ACTIONS: Registry[type[Action]] = Registry("action", lambda cls: cls.name,
                                            ["processor.actions.*"])

register = ACTIONS.register
action_names = ACTIONS.names
action_class = ACTIONS.get
validate_params = ACTIONS.param_errors


def compile_action(name: str, params: dict[str, Any], ctx: CompileContext) -> Action:
    cls = action_class(name)
    return cls(cls.params_model.model_validate(params), ctx)

