"""Suites: where problems come from. The first room of the data flow."""

import re
from pathlib import Path

from monkeys_suites import _benchmarks as _benchmarks  # registers the suites by name
from monkeys_suites import _champ as _champ  # registers "champ"
from monkeys_suites import _humaneval as _humaneval  # registers "humaneval"
from monkeys_suites._chat import (
    assistant_prefix,
    choice_chat,
    function_chat,
    math_chat,
    messages_from_json,
    stdin_chat,
)
from monkeys_suites._importers import IMPORTERS, SuiteSpec, importer, load_spec, parse_spec
from monkeys_suites._jsonl import jsonl_kinds, kind_fields, load_jsonl_suite
from monkeys_suites._problem import ChatMessage, Problem, ProblemKind, Suite, SuiteError
from monkeys_suites._prompts import MINERVA_MATH_PROMPT
from monkeys_suites._registry import REGISTRY, SuiteInfo, suite
from monkeys_suites._source import Record
from monkeys_suites._train import TrainAnswers, train_answers


def load_suite(name: str) -> Suite:
    """A suite by spec: a registered name (``humaneval``, cached), an importer spec
    (``gsm8k:test.jsonl,train=train.jsonl``; see `monkeys_suites._importers`), or a JSONL suite
    file."""
    spec = parse_spec(name)
    if spec is not None:
        return load_spec(spec)
    if Path(name).is_file():
        return load_jsonl_suite(name)
    prefix, colon, _ = name.partition(":")
    if colon and re.fullmatch(r"[a-z][a-z0-9_]*", prefix) and name not in REGISTRY.names():
        known = ", ".join(sorted(IMPORTERS))
        raise SuiteError(f"suite {name!r}: unknown importer {prefix!r} (importers: {known})")
    if name.endswith(".jsonl"):
        return load_jsonl_suite(name)
    return REGISTRY.load(name)


def suite_names() -> list[str]:
    return REGISTRY.names()


def suite_infos() -> list[SuiteInfo]:
    """Every suite by name: size, kind, where its data comes from (`monkeys suites`)."""
    return REGISTRY.infos()


def importer_names() -> list[str]:
    return sorted(IMPORTERS)


__all__ = [
    "MINERVA_MATH_PROMPT",
    "ChatMessage",
    "Problem",
    "ProblemKind",
    "Record",
    "Suite",
    "SuiteError",
    "SuiteInfo",
    "SuiteSpec",
    "TrainAnswers",
    "assistant_prefix",
    "choice_chat",
    "function_chat",
    "importer",
    "importer_names",
    "jsonl_kinds",
    "kind_fields",
    "load_jsonl_suite",
    "load_suite",
    "math_chat",
    "messages_from_json",
    "parse_spec",
    "stdin_chat",
    "suite",
    "suite_infos",
    "suite_names",
    "train_answers",
]
