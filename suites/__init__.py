"""Suites: where problems come from. The first room of the data flow."""

from pathlib import Path

from suites import _champ as _champ  # registers "champ"
from suites import _humaneval as _humaneval  # registers "humaneval"
from suites._jsonl import load_jsonl_suite
from suites._problem import Problem, ProblemKind, Suite, SuiteError
from suites._registry import REGISTRY, suite


def load_suite(name: str) -> Suite:
    """Load a registered suite by name (cached), or a JSONL suite file by path."""
    if name.endswith(".jsonl") or Path(name).is_file():
        return load_jsonl_suite(name)
    return REGISTRY.load(name)


def suite_names() -> list[str]:
    return REGISTRY.names()


__all__ = [
    "Problem",
    "ProblemKind",
    "Suite",
    "SuiteError",
    "load_jsonl_suite",
    "load_suite",
    "suite",
    "suite_names",
]
