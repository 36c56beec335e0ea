"""A name -> factory table (timm style): presets, feature sets, models.

    PRESETS = Registry("go-presets")

    @PRESETS.register("slides")
    def slides(planes: int = 4) -> NetSpec: ...

    spec = PRESETS.create("slides", planes=8)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Registry:
    def __init__(self, name: str):
        self.name = name
        self._fns: dict[str, Callable[..., Any]] = {}

    def register(self, name: str, fn: Callable[..., Any] | None = None):
        """``reg.register("x", fn)`` or as a decorator ``@reg.register("x")``; duplicates are an error."""
        def add(f: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._fns:
                raise ValueError(f"{self.name}: {name!r} is already registered")
            self._fns[name] = f
            return f
        return add if fn is None else add(fn)

    def get(self, name: str) -> Callable[..., Any]:
        try:
            return self._fns[name]
        except KeyError:
            known = ", ".join(self.names()) or "(none)"
            raise KeyError(f"{self.name}: unknown name {name!r}; known: {known}") from None

    def create(self, name: str, **kwargs: Any) -> Any:
        """Call the factory registered under ``name`` with ``kwargs``."""
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._fns)

    def __contains__(self, name: object) -> bool:
        return name in self._fns

    def __repr__(self) -> str:
        return f"Registry({self.name!r}, {self.names()})"
