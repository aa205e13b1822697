"""Plug-in classes by name (masking actions, anomaly detectors): one registry type for both.

Each plug-in class carries a pydantic ``params_model``; the registry loads the built-in modules
on first use (importing them runs their ``@register``) and checks parameters once. A registry
of a package finds its modules itself: a new plug-in is a new file, listed nowhere else.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

#: a plug-in class; it has a ``params_model`` (a pydantic model of its parameters)
T = TypeVar("T", bound=type[Any])


class Registry(Generic[T]):
    def __init__(self, what: str, name_of: Callable[[T], str], modules: list[str]) -> None:
        """``modules``: module names, or ``["package.*"]`` for every module of the package
        except ``base`` and ``registry``."""
        self.what = what
        self._name_of = name_of
        self._modules = modules
        self._classes: dict[str, T] = {}
        self._loaded = False

    def register(self, cls: T) -> T:
        """Class decorator: make ``cls`` available to rules under its name."""
        name = self._name_of(cls)
        if name in self._classes:
            raise ValueError(f"{self.what} {name!r} registered twice")
        self._classes[name] = cls
        return cls

    def names(self) -> list[str]:
        self._load()
        return sorted(self._classes)

    def get(self, name: str) -> T:
        self._load()
        return self._classes[name]

    def param_errors(self, name: str, params: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        """Errors in ``params`` as (location, message); empty when valid."""
        model: type[BaseModel] = self.get(name).params_model
        try:
            model.model_validate(params)
        except ValidationError as exc:
            return [(tuple(err["loc"]), err["msg"]) for err in exc.errors()]
        return []

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in self._modules:
                if module.endswith(".*"):
                    package = importlib.import_module(module[:-2])
                    for found in pkgutil.iter_modules(package.__path__):
                        if found.name not in ("base", "registry"):
                            importlib.import_module(f"{package.__name__}.{found.name}")
                else:
                    importlib.import_module(module)
