"""Registry of suites, filled by the @suite decorator."""

from __future__ import annotations

from collections.abc import Callable

from monkeys_suites._problem import Suite, SuiteError, SuiteLoader


class SuiteRegistry:
    def __init__(self) -> None:
        self._loaders: dict[str, SuiteLoader] = {}
        self._cache: dict[str, Suite] = {}

    def register(self, name: str, loader: SuiteLoader) -> None:
        self._loaders[name] = loader

    def names(self) -> list[str]:
        return sorted(self._loaders)

    def load(self, name: str) -> Suite:
        if name not in self._loaders:
            raise SuiteError(f"unknown suite {name!r}; known suites: {', '.join(self.names())}")
        if name not in self._cache:
            self._cache[name] = self._loaders[name]()
        return self._cache[name]


REGISTRY = SuiteRegistry()


def suite(name: str) -> Callable[[SuiteLoader], SuiteLoader]:
    """Register a suite loader under `name`."""

    def deco(fn: SuiteLoader) -> SuiteLoader:
        REGISTRY.register(name, fn)
        return fn

    return deco
