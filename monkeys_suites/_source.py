"""Reading suite files line by line, with errors that name the file, the line and the field."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monkeys_suites._problem import SuiteError


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such suite file") from None
    except IsADirectoryError:
        raise SuiteError(f"{path}: is a directory, expected a file") from None
    except UnicodeDecodeError as e:
        raise SuiteError(f"{path}: not UTF-8 text ({e})") from None
    except OSError as e:
        raise SuiteError(f"{path}: cannot read ({e.strerror})") from None


@dataclass
class Record:
    """One JSON object of a suite file and where it is: `path:line`.

    `inherited` holds default values (a JSONL `_defaults` line) and the line they came from;
    a field read from them is reported with that line too.
    """

    path: Path
    line: int
    data: dict[str, Any]
    inherited: Mapping[str, Any] = field(default_factory=dict)
    inherited_from: int = 0

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def has(self, name: str) -> bool:
        return name in self.data or name in self.inherited

    def get(self, name: str, default: Any = None) -> Any:
        if name in self.data:
            return self.data[name]
        return self.inherited.get(name, default)

    def error(self, name: str, msg: str) -> SuiteError:
        via = ""
        if name not in self.data and name in self.inherited:
            via = f" (from _defaults on line {self.inherited_from})"
        return SuiteError(f"{self.where}: field {name!r}{via}: {msg}")

    def fail(self, msg: str) -> SuiteError:
        return SuiteError(f"{self.where}: {msg}")

    # ---- typed reads ------------------------------------------------------------------------

    def required(self, name: str) -> Any:
        if not self.has(name):
            raise self.error(name, "missing")
        return self.get(name)

    def string(self, name: str, default: str | None = None, *, nonempty: bool = False) -> str:
        if not self.has(name):
            if default is None:
                raise self.error(name, "missing")
            return default
        v = self.get(name)
        if not isinstance(v, str):
            raise self.error(name, f"expected a string, got {_type(v)}")
        if nonempty and not v.strip():
            raise self.error(name, "must not be empty")
        return v

    def string_list(self, name: str, *, nonempty_items: bool = False) -> list[str]:
        v = self.get(name, [])
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            raise self.error(name, "expected a list of strings")
        if nonempty_items and not all(v):
            raise self.error(name, "expected a list of non-empty strings")
        return list(v)

    def number(
        self, name: str, default: float, *, positive: bool = True, integer: bool = False
    ) -> float:
        v = self.get(name, default)
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        if ok and integer and not float(v).is_integer():
            ok = False
        if not ok:
            kind = "an integer" if integer else "a number"
            raise self.error(name, f"expected {kind}, got {_type(v)}")
        if positive and v <= 0:
            raise self.error(name, "expected a positive number")
        return float(v)


def _type(v: object) -> str:
    if v is None:
        return "null"
    return {
        "str": "a string",
        "int": "an integer",
        "float": "a number",
        "bool": "a boolean",
        "list": "a list",
        "dict": "an object",
    }.get(type(v).__name__, type(v).__name__)


def jsonl_records(path: Path) -> Iterator[Record]:
    """The JSON objects of a JSONL file, one per non-blank line; `//` lines are comments."""
    for n, text in enumerate(read_text(path).splitlines(), 1):
        if not text.strip() or text.lstrip().startswith("//"):
            continue
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise SuiteError(f"{path}:{n}: not valid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(d, dict):
            raise SuiteError(f"{path}:{n}: expected a JSON object, got {_type(d)}")
        yield Record(path, n, d)


def json_records(path: Path) -> Iterator[Record]:
    """The objects of a .json file: one object, or a list of objects (line = where each
    object starts)."""
    text = read_text(path)
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise SuiteError(
            f"{path}:{e.lineno}: not valid JSON ({e.msg} at column {e.colno})"
        ) from None
    if isinstance(d, dict):
        yield Record(path, 1, d)
        return
    if not isinstance(d, list):
        raise SuiteError(f"{path}:1: expected a JSON object or a list of objects, got {_type(d)}")
    starts = _object_lines(text)
    for i, item in enumerate(d):
        line = starts[i] if i < len(starts) else 1
        if not isinstance(item, dict):
            raise SuiteError(f"{path}:{line}: item {i}: expected a JSON object, got {_type(item)}")
        yield Record(path, line, item)


def _object_lines(text: str) -> list[int]:
    """Line numbers where the top-level list's objects start (a small scanner over strings)."""
    out: list[int] = []
    depth = 0
    line = 1
    in_str = False
    esc = False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "[{":
            if depth == 1 and ch == "{":
                out.append(line)
            depth += 1
        elif ch in "]}":
            depth -= 1
    return out
