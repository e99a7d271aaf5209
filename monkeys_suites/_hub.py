"""Benchmark data through Hugging Face `datasets`: from the hub into its cache on first use, then
offline; or from a local copy in any form people download.

`hub_records` loads a published dataset with ``datasets.load_dataset`` (the cache is
``datasets``' own, ``HF_HOME`` / ``HF_DATASETS_CACHE``; with ``HF_HUB_OFFLINE=1`` only the
cache is read). The hub's endpoint (``HF_ENDPOINT``, default huggingface.co) is first tried
with one quick connection (unless a proxy is configured): when it cannot be reached, only the
cache is read, so that the answer comes at once rather than after ``huggingface_hub``'s
retries (~25 s). When the hub cannot be reached and the cache lacks the data, the error says
so in one line and names the local form (``NAME:PATH``).

`local_records` reads a local copy: a ``.parquet`` or ``.arrow`` file and a ``save_to_disk``
folder go through ``datasets`` (the same code path as the hub, less the download); ``.jsonl``
and ``.json`` files are read line by line so that errors name the line. Every row becomes a
`Record` (``FILE:N`` is row N, 1-based) that the suites' builders read.
"""

from __future__ import annotations

import contextlib
import os
import socket
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monkeys_suites._problem import SuiteError
from monkeys_suites._source import Record, json_records, jsonl_records

LOCAL_FORMS = "parquet, JSONL, JSON or a datasets save_to_disk folder"
HUB_PROBE_TIMEOUT_S = 5.0
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
TRUE_VALUES = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class HubSource:
    """Where a suite's data is published: a dataset id, its configs (one or several, read in
    order and concatenated), the split, and data files (for datasets whose hub loading script
    `datasets` no longer runs: the files that script would read)."""

    dataset: str
    configs: tuple[str | None, ...] = (None,)
    split: str = "test"
    data_files: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.data_files:
            files = self.data_files[0] + (
                f"..{self.data_files[-1]}" if len(self.data_files) > 1 else ""
            )
            return f"{self.dataset} ({files})"
        named = [c for c in self.configs if c]
        config = f"{named[0]}, " if len(named) == 1 else f"{len(named)} configs, " if named else ""
        return f"{self.dataset} ({config}{self.split})"


def _datasets() -> Any:
    try:
        import datasets
    except ModuleNotFoundError:
        raise SuiteError(
            "suites by name are loaded with Hugging Face `datasets`: pip install datasets"
        ) from None
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    try:
        from huggingface_hub.utils import logging as hub_logging

        hub_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # no retry chatter on the terminal: the error says it
    except ImportError:  # pragma: no cover - huggingface_hub comes with datasets
        pass
    return datasets


def _offline_env() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in TRUE_VALUES


def hub_unreachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> str | None:
    """Why the hub's endpoint cannot be reached (its name or a TCP connection to it), or None
    when it can, or when a proxy is configured (a direct connection says nothing then)."""
    if any(os.environ.get(v) for v in PROXY_VARS):
        return None
    endpoint = urllib.parse.urlsplit(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    try:
        port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    except ValueError as e:
        return f"HF_ENDPOINT: {e}"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as e:
        return f"{host}:{port}: {e.strerror or type(e).__name__}"


@contextlib.contextmanager
def _cache_only(ds_mod: Any) -> Iterator[None]:
    """`datasets` and `huggingface_hub` as with HF_HUB_OFFLINE=1, for this block only."""
    import huggingface_hub.constants as hub_constants

    before = (ds_mod.config.HF_HUB_OFFLINE, hub_constants.HF_HUB_OFFLINE)
    ds_mod.config.HF_HUB_OFFLINE = hub_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        ds_mod.config.HF_HUB_OFFLINE, hub_constants.HF_HUB_OFFLINE = before


def hub_records(name: str, source: HubSource, columns: Sequence[str]) -> list[Record]:
    """The rows of `source` as records, from the `datasets` cache or the hub; SuiteError in one
    line when neither has them."""
    ds_mod = _datasets()
    rows: list[Record] = []
    where = Path(f"hf://{source.dataset}")
    cut_off = None if _offline_env() else hub_unreachable()
    for config in source.configs:
        kwargs: dict[str, Any] = {"split": source.split}
        if source.data_files:
            kwargs["data_files"] = list(source.data_files)
        try:
            with _cache_only(ds_mod) if cut_off else contextlib.nullcontext():
                ds = ds_mod.load_dataset(source.dataset, config, **kwargs)
        except Exception as e:  # datasets raises many types for "not reachable, not cached"
            raise SuiteError(_unreachable(name, source, e, cut_off)) from None
        label = Path(f"{where}/{config}" if config else str(where))
        require_columns(list(ds.column_names), columns, str(label))
        rows.extend(Record(label, i + 1, dict(row)) for i, row in enumerate(ds))
    return rows


def _unreachable(name: str, source: HubSource, e: Exception, cut_off: str | None) -> str:
    why = (str(e).strip().splitlines() or [type(e).__name__])[0]
    if len(why) > 160:
        why = why[:157] + "..."
    if _offline_env():
        reach = "HF_HUB_OFFLINE is set"
    elif cut_off:
        reach = f"the Hugging Face hub cannot be reached ({cut_off})"
    else:
        reach = f"the Hugging Face hub cannot be reached ({type(e).__name__}: {why})"
    return (
        f"suite {name!r}: {reach} and {source.describe()} is not in the datasets cache; fetch it "
        f"once where the hub is reachable, or give a local copy: --suite {name}:PATH "
        f"({LOCAL_FORMS})"
    )


def require_columns(present: Sequence[str], needed: Sequence[str], where: str) -> None:
    """SuiteError ``FILE: column 'x' missing (expected a, b, c)`` for the first missing one."""
    have = set(present)
    for col in needed:
        if col not in have:
            raise SuiteError(f"{where}: column {col!r} missing (expected {', '.join(needed)})")


def is_saved_dataset(path: Path) -> bool:
    """A folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""
    return path.is_dir() and any(
        (path / f).is_file() for f in ("dataset_info.json", "state.json", "dataset_dict.json")
    )


def local_records(path: Path, columns: Sequence[str], *, split: str = "test") -> list[Record]:
    """The rows of a local copy (see the module doc); `split` picks one of a DatasetDict's."""
    if not path.exists():
        raise SuiteError(f"{path}: no such suite file or folder")
    suffix = path.suffix.lower()
    if path.is_dir():
        if not is_saved_dataset(path):
            raise SuiteError(
                f"{path}: a folder, but not one written by datasets' save_to_disk "
                f"(expected {LOCAL_FORMS})"
            )
        mod = _datasets()
        ds = mod.load_from_disk(str(path))
        if isinstance(ds, mod.DatasetDict):
            splits = sorted(ds.keys())
            pick = split if split in splits else splits[0] if len(splits) == 1 else None
            if pick is None:
                raise SuiteError(
                    f"{path}: holds splits {', '.join(splits)} but no {split!r}: "
                    f"point at the split's folder ({path}/<split>)"
                )
            ds = ds[pick]
        return _dataset_records(ds, path, columns)
    if suffix in (".parquet", ".arrow"):
        mod = _datasets()
        try:
            if suffix == ".parquet":
                ds = mod.Dataset.from_parquet(str(path))
            else:
                ds = mod.Dataset.from_file(str(path))
        except Exception as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
            raise SuiteError(f"{path}: cannot read as {suffix[1:]} ({first})") from None
        return _dataset_records(ds, path, columns)
    records = list(json_records(path)) if suffix == ".json" else list(jsonl_records(path))
    if records:
        require_columns(list(records[0].data), columns, str(path))
    return records


def _dataset_records(ds: Any, path: Path, columns: Sequence[str]) -> list[Record]:
    require_columns(list(ds.column_names), columns, str(path))
    return [Record(path, i + 1, dict(row)) for i, row in enumerate(ds)]
