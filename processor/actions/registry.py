"""Masking actions by name: the one place that knows which actions exist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from processor.actions.base import Action, CompileContext

_ACTIONS: dict[str, type[Action]] = {}


def register(cls: type[Action]) -> type[Action]:
    """Class decorator: make an action available to rules under ``cls.name``."""
    if cls.name in _ACTIONS:
        raise ValueError(f"action {cls.name!r} registered twice")
    _ACTIONS[cls.name] = cls
    return cls


def action_names() -> list[str]:
    _load_builtins()
    return sorted(_ACTIONS)


def action_class(name: str) -> type[Action]:
    _load_builtins()
    return _ACTIONS[name]


def validate_params(name: str, params: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Errors in ``params`` for action ``name`` as (location, message); empty when valid."""
    try:
        action_class(name).params_model.model_validate(params)
    except ValidationError as exc:
        return [(tuple(err["loc"]), err["msg"]) for err in exc.errors()]
    return []


def compile_action(name: str, params: dict[str, Any], ctx: CompileContext) -> Action:
    cls = action_class(name)
    return cls(cls.params_model.model_validate(params), ctx)


def _load_builtins() -> None:
    # Importing the modules runs their @register decorators.
    from processor.actions import (  # noqa: F401
        email_domain,
        generalize,
        keep,
        mask,
        pseudonymize,
        redact,
        scrub,
        truncate,
    )


ApplyFn = Callable[[Any], Any]
