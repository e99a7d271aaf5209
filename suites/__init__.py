"""Suites: where problems come from. The first room of the data flow."""

from suites import _humaneval as _humaneval  # registers "humaneval"
from suites._problem import Problem, ProblemKind, Suite, SuiteError
from suites._registry import REGISTRY, suite


def load_suite(name: str) -> Suite:
    """Load a registered suite by name (cached)."""
    return REGISTRY.load(name)


def suite_names() -> list[str]:
    return REGISTRY.names()


__all__ = ["Problem", "ProblemKind", "Suite", "SuiteError", "load_suite", "suite", "suite_names"]
