"""Registry of suites, filled by the @suite decorator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monkeys_suites._problem import Suite, SuiteError, SuiteLoader


@dataclass(frozen=True)
class SuiteInfo:
    """What `monkeys suites` lists: a suite's name, size, kind and where its data comes from."""

    name: str
    size: str
    kind: str
    source: str


class SuiteRegistry:
    def __init__(self) -> None:
        self._loaders: dict[str, SuiteLoader] = {}
        self._infos: dict[str, SuiteInfo] = {}
        self._cache: dict[str, Suite] = {}

    def register(self, name: str, loader: SuiteLoader, info: SuiteInfo | None = None) -> None:
        self._loaders[name] = loader
        self._infos[name] = info or SuiteInfo(name, "?", "?", "?")

    def infos(self) -> list[SuiteInfo]:
        return [self._infos[n] for n in self.names()]

    def names(self) -> list[str]:
        return sorted(self._loaders)

    def load(self, name: str) -> Suite:
        if name not in self._loaders:
            raise SuiteError(f"unknown suite {name!r}; known suites: {', '.join(self.names())}")
        if name not in self._cache:
            self._cache[name] = self._loaders[name]()
        return self._cache[name]


REGISTRY = SuiteRegistry()


def suite(name: str, info: SuiteInfo | None = None) -> Callable[[SuiteLoader], SuiteLoader]:
    """Register a suite loader under `name`."""

    def deco(fn: SuiteLoader) -> SuiteLoader:
        REGISTRY.register(name, fn, info)
        return fn

    return deco
