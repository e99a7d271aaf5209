"""Replay backend: samples read back from files, so analysis and the app work on existing data.

Two forms are read:

* **JSONL** (a file ending in ``.jsonl``): one JSON object per line::

      {"problem_id": "HumanEval/0", "index": 0, "text": "...",
       "seed": 17, "prompt_tokens": 120, "completion_tokens": 64,
       "finish_reason": "stop", "correct": true, "prompt": "..."}

  ``problem_id`` (non-empty string), ``index`` (integer >= 0) and ``text`` (string) are
  required; the rest are optional. Blank lines are skipped; other keys are ignored.
  ``finish_reason`` is ``"stop"`` or ``"length"`` (default ``"stop"``). ``prompt`` (the
  problem's prompt; one line of a problem is enough, lines that repeat it must agree) is what a
  replay suite shows for the problem.

* **The paper's per-problem YAML files** (github.com/ScalingIntelligence/large_language_monkeys:
  ``llmonk/generate/*.py`` writes ``{prompt, samples, ...}`` and ``llmonk/evaluate/*.py`` adds
  ``is_corrects``): a mapping with ``samples`` (list of strings), optionally ``prompt``
  (string) and ``is_corrects`` (list of booleans, one per sample). Sample *i* is
  ``samples[i]``; the problem id is the file's stem.

``path`` is a ``.jsonl`` file, a ``.yaml``/``.yml`` file, or a directory whose ``*.jsonl``,
``*.yaml`` and ``*.yml`` files are all read (each problem id may come from one place only).

``generate`` yields ``SampleStarted``, ``TextDelta`` (the whole text, when non-empty) and
``SampleFinished`` for every requested index that the data holds, in the request's order.
Requested indices (or problems) that the data does not hold cannot be drawn: after yielding
the ones it has, ``generate`` raises a `BackendError` saying how many samples the data holds
(a scheduler would otherwise ask again forever). Callers cap a replay run's budget at
`recorded_prefix` so that this does not happen in a normal run.
The seed reported is the recorded one when the JSONL line has ``seed``, else
``request.seed_of(index)``. Token counts missing from the data are estimated from the text
(about four characters a token) and ``meta["tokens_estimated"] = 1.0`` says so.
An instant replay (no ``speed``) is an `InstantBackend`: ``finished_now`` returns the same
``SampleFinished`` at once (a scheduler takes a whole chunk in one call, at paper scale).

Malformed files raise `BackendError` naming the file, the line (JSONL, YAML syntax errors)
and the field.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from backends._protocol import (
    BackendError,
    BackendEvent,
    BackendInfo,
    GenerationRequest,
    SampleFinished,
    SampleStarted,
    TextDelta,
)

__all__ = ["RecordedSample", "ReplayBackend"]

_FINISH_REASONS = ("stop", "length")


@dataclass(frozen=True, slots=True)
class RecordedSample:
    """One sample as the data holds it (`ReplayBackend.recorded`, `samples`; the backend itself
    holds each as a plain tuple)."""

    text: str
    seed: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    correct: bool | None = None
    file: str = ""
    line: int = 0  # 0: the whole file (the paper's YAML form)

    @property
    def source(self) -> str:
        """Where the sample is, for messages: "file:line", or "file"."""
        return f"{self.file}:{self.line}" if self.line else self.file


# How the backend holds a sample: a plain tuple of plain values (text, seed, prompt_tokens,
# completion_tokens, finish_reason, correct, line), which the cyclic garbage collector stops
# tracking once it has seen it; a RecordedSample (an object the collector would scan at every
# full collection, millions of times over at paper scale) is made only when one is asked for.
_Raw = tuple[str, int | None, int | None, int | None, str, bool | None, int]
_TEXT: Final = 0
_CORRECT: Final = 5
_LINE: Final = 6


def _estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token); used only when none is recorded."""
    return math.ceil(len(text) / 4)


class ReplayBackend:
    """A `Backend` that replays recorded samples (see the module docstring for the formats).

    ``speed`` (samples per second) paces the replay to simulate streaming; ``None`` (the
    default) replays instantly.
    """

    def __init__(self, path: Path, *, speed: float | None = None) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be > 0 samples/s, got {speed}")
        self._path = Path(path)
        self._speed = speed
        self._data: dict[str, dict[int, _Raw]] | None = None
        self._file_of: dict[str, str] = {}  # problem -> the file its samples are in
        self._prompts: dict[str, str] = {}
        self._lock = threading.Lock()
        self._frozen = False  # the records are out of the cyclic collector's sight
        self._frozen_ingest = False  # and what was alive when the first chunk was taken

    # -- Backend protocol -------------------------------------------------------------

    @property
    def info(self) -> BackendInfo:
        detail = "instant" if self._speed is None else f"{self._speed:g} samples/s"
        if self._data is not None:
            n = sum(len(s) for s in self._data.values())
            detail = f"{len(self._data)} problems, {n} samples, {detail}"
        return BackendInfo(name="replay", model=str(self._path), detail=detail)

    async def start(self) -> None:
        if self._data is None:
            await asyncio.to_thread(self._ensure_loaded)

    async def close(self) -> None:
        with self._lock:  # released here (millions of samples: gigabytes); `start` reads again
            self._data = None
        if self._frozen or self._frozen_ingest:  # collected as usual again
            self._frozen = self._frozen_ingest = False
            gc.unfreeze()

    async def generate(self, request: GenerationRequest) -> AsyncIterator[BackendEvent]:
        data = self._ensure_loaded()
        samples = data.get(request.problem_id, {})
        delay = 0.0 if self._speed is None else 1.0 / self._speed
        pid = request.problem_id
        prompt_estimate = self._prompt_estimate(request)
        missing: list[int] = []
        for index in request.indices:
            rec = samples.get(index)
            if rec is None:
                missing.append(index)
                continue
            t0 = time.monotonic()
            yield SampleStarted(pid, index)
            if delay:
                await asyncio.sleep(delay)
            if rec[_TEXT]:
                yield TextDelta(pid, index, rec[_TEXT])
            yield _finished(request, index, rec, prompt_estimate, time.monotonic() - t0)
        if missing:
            if not samples:
                raise BackendError(f"{self._path}: the replay data has no problem {pid!r}")
            raise BackendError(
                f"{self._path}: the replay data holds {len(samples)} samples of {pid!r} "
                f"(indices {_ranges(list(samples))}), not sample(s) "
                f"{_ranges(missing)}; a replay run's budget cannot go past the recorded samples"
            )

    def finished_now(self, request: GenerationRequest) -> list[SampleFinished] | None:
        """`InstantBackend`: the request's recorded samples at once, as `generate` finishes
        them (taking no time); None when the replay is paced (`speed`)."""
        if self._speed is not None:
            return None
        samples = self._ensure_loaded().get(request.problem_id, {})
        if not self._frozen_ingest:
            # An ingest starts: what it keeps until the end (the run's state: a set of the
            # drawn indices of every problem) out of the collector's sight too, until close
            self._frozen_ingest = True
            gc.freeze()
        estimate = self._prompt_estimate(request)
        metas: _Metas = {}  # the chunk's samples share their few distinct metas
        return [
            _finished(request, index, rec, estimate, 0.0, metas)
            for index in request.indices
            if (rec := samples.get(index)) is not None
        ]

    def _prompt_estimate(self, request: GenerationRequest) -> int:
        return _estimate_tokens(self._prompts.get(request.problem_id, request.prompt))

    # -- what the data says -----------------------------------------------------------

    def known_correct(self, problem_id: str, index: int) -> bool | None:
        """The recorded verdict for a sample, or None when the data has none."""
        rec = self._ensure_loaded().get(problem_id, {}).get(index)
        return None if rec is None else rec[_CORRECT]

    def problem_ids(self) -> list[str]:
        """The replayed problems, sorted."""
        return sorted(self._ensure_loaded())

    def indices(self, problem_id: str) -> list[int]:
        """The recorded sample indices of one problem, sorted."""
        return sorted(self._ensure_loaded().get(problem_id, {}))

    def prompt(self, problem_id: str) -> str | None:
        """The recorded prompt (YAML form only), if any."""
        self._ensure_loaded()
        return self._prompts.get(problem_id)

    def recorded(self, problem_id: str, index: int) -> RecordedSample | None:
        rec = self._ensure_loaded().get(problem_id, {}).get(index)
        return None if rec is None else self._record(problem_id, rec)

    def samples(self, problem_id: str) -> dict[int, RecordedSample]:
        """The recorded samples of one problem by index (empty when the data has none)."""
        have = self._ensure_loaded().get(problem_id, {})
        return {i: self._record(problem_id, rec) for i, rec in have.items()}

    def verdicts(self, problem_id: str) -> list[tuple[int, str, bool | None]]:
        """(index, text, recorded verdict or None) of every recorded sample of one problem,
        without making a RecordedSample of each (a recorded verifier reads millions)."""
        have = self._ensure_loaded().get(problem_id, {})
        return [(i, rec[_TEXT], rec[_CORRECT]) for i, rec in have.items()]

    def _record(self, problem_id: str, rec: _Raw) -> RecordedSample:
        text, seed, prompt_tokens, completion_tokens, finish, correct, line = rec
        return RecordedSample(
            text,
            seed,
            prompt_tokens,
            completion_tokens,
            finish,
            correct,
            self._file_of[problem_id],
            line,
        )

    def recorded_prefix(self, problem_id: str) -> int:
        """How many samples ``0, 1, ..., k-1`` the data holds without a gap: the largest
        budget this problem can be replayed to."""
        have = self._ensure_loaded().get(problem_id, {})
        k = 0
        while k in have:
            k += 1
        return k

    def load(self) -> None:
        """Read the files now (`start` does it in a worker thread); `BackendError` when bad."""
        self._ensure_loaded()

    # -- loading ----------------------------------------------------------------------

    def _ensure_loaded(self) -> dict[str, dict[int, _Raw]]:
        with self._lock:
            if self._data is None:
                # millions of records and no cycles among them: the cyclic collector would
                # only scan them again and again while they are read (a third of the time)
                collecting = gc.isenabled()
                gc.disable()
                try:
                    self._load()
                finally:
                    if collecting:
                        gc.enable()
                # Held until the backend closes and without cycles: out of the collector's
                # sight until then (gc.freeze; everything alive now is), or every full
                # collection scans them again (1,000,000 samples: 2 s of an ingest).
                gc.freeze()
                self._frozen = True
            assert self._data is not None
            return self._data

    def _load(self) -> None:
        """Read every file (called with the lock held, once)."""
        data: dict[str, dict[int, _Raw]] = {}
        origin: dict[str, Path] = {}
        prompts: dict[str, str] = {}
        for f in self._files():
            if f.suffix == ".jsonl":
                part, jsonl_prompts = _load_jsonl(f)
                prompts.update(jsonl_prompts)
            else:
                pid, samples, prompt = _load_paper_yaml(f)
                part = {pid: samples}
                if prompt is not None:
                    prompts[pid] = prompt
            for pid, samples in part.items():
                if pid in origin and origin[pid] != f:
                    raise BackendError(
                        f"{f}: problem {pid!r} is also in {origin[pid]}; "
                        "each problem may come from one file only"
                    )
                origin[pid] = f
                data.setdefault(pid, {}).update(samples)
        self._prompts = prompts
        self._file_of = {pid: str(f) for pid, f in origin.items()}
        self._data = data

    def _files(self) -> list[Path]:
        p = self._path
        if p.is_dir():
            files = sorted(
                f for f in p.iterdir() if f.is_file() and f.suffix in (".jsonl", ".yaml", ".yml")
            )
            if not files:
                raise BackendError(f"{p}: no .jsonl, .yaml or .yml files to replay")
            return files
        if p.is_file():
            if p.suffix not in (".jsonl", ".yaml", ".yml"):
                raise BackendError(
                    f"{p}: cannot replay a {p.suffix or 'suffix-less'} file "
                    "(expected .jsonl, .yaml or .yml, or a directory of them)"
                )
            return [p]
        raise BackendError(f"{p}: no such file or directory to replay")


_Metas = dict[tuple[bool, bool | None], dict[str, float]]


def _finished(
    request: GenerationRequest,
    index: int,
    rec: _Raw,
    prompt_estimate: int,
    seconds: float,
    metas: _Metas | None = None,
) -> SampleFinished:
    """The `SampleFinished` of a recorded sample (estimated token counts when none are
    recorded, said in `meta`). With `metas`, samples with the same meta share one dict."""
    text, seed, prompt_tokens, completion_tokens, finish, correct, _ = rec
    estimated = prompt_tokens is None or completion_tokens is None
    meta = None if metas is None else metas.get((estimated, correct))
    if meta is None:
        meta = {"replayed": 1.0}
        if estimated:
            meta["tokens_estimated"] = 1.0
        if correct is not None:
            meta["recorded_correct"] = 1.0 if correct else 0.0
        if metas is not None:
            metas[estimated, correct] = meta
    return SampleFinished(
        problem_id=request.problem_id,
        index=index,
        seed=seed if seed is not None else request.seed_of(index),
        text=text,
        prompt_tokens=prompt_tokens if prompt_tokens is not None else prompt_estimate,
        completion_tokens=(
            completion_tokens if completion_tokens is not None else _estimate_tokens(text)
        ),
        finish_reason=finish,
        seconds=seconds,
        meta=meta,
    )


def _opt_int(obj: dict[str, Any], key: str, where: str) -> int | None:
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise BackendError(f"{where}: field {key!r} must be an integer >= 0, got {v!r}")
    return v


def _ranges(indices: list[int]) -> str:
    """``[0, 1, 2, 5]`` as ``"0-2, 5"``."""
    runs: list[list[int]] = []
    for i in sorted(indices):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _load_jsonl(f: Path) -> tuple[dict[str, dict[int, _Raw]], dict[str, str]]:
    out: dict[str, dict[int, _Raw]] = {}
    prompts: dict[str, str] = {}
    prompt_line: dict[str, int] = {}
    name = str(f)
    loads = json.loads
    try:
        fh = f.open(encoding="utf-8")
    except OSError as e:
        raise BackendError(f"{f}: cannot read ({e})") from e
    with fh:
        try:
            for lineno, line in enumerate(fh, start=1):
                try:
                    obj = loads(line)
                except json.JSONDecodeError as e:
                    if line.isspace():  # a blank line
                        continue
                    raise BackendError(f"{name}:{lineno}: not valid JSON ({e.msg})") from e
                if type(obj) is not dict:
                    raise BackendError(
                        f"{name}:{lineno}: expected a JSON object, got {type(obj).__name__}"
                    )
                pid = obj.get("problem_id")
                if type(pid) is not str or not pid:
                    raise BackendError(
                        f"{name}:{lineno}: field 'problem_id' must be a non-empty string, "
                        f"got {pid!r}"
                    )
                index = obj.get("index")
                if type(index) is not int or index < 0:  # a bool is not an index
                    raise BackendError(
                        f"{name}:{lineno}: field 'index' must be an integer >= 0, got {index!r}"
                    )
                text = obj.get("text")
                if type(text) is not str:
                    raise BackendError(
                        f"{name}:{lineno}: field 'text' must be a string, got {text!r}"
                    )
                seed = obj.get("seed")
                if seed is not None and type(seed) is not int:
                    raise BackendError(
                        f"{name}:{lineno}: field 'seed' must be an integer, got {seed!r}"
                    )
                finish = obj.get("finish_reason", "stop")
                if finish not in _FINISH_REASONS:
                    raise BackendError(
                        f"{name}:{lineno}: field 'finish_reason' must be 'stop' or 'length', "
                        f"got {finish!r}"
                    )
                correct = obj.get("correct")
                if correct is not None and type(correct) is not bool:
                    raise BackendError(
                        f"{name}:{lineno}: field 'correct' must be true or false, got {correct!r}"
                    )
                prompt = obj.get("prompt")
                if prompt is not None:
                    if type(prompt) is not str:
                        raise BackendError(
                            f"{name}:{lineno}: field 'prompt' must be a string, got {prompt!r:.80}"
                        )
                    if pid in prompts and prompts[pid] != prompt:
                        raise BackendError(
                            f"{name}:{lineno}: field 'prompt' differs from the prompt of {pid!r} "
                            f"on line {prompt_line[pid]}"
                        )
                    prompts[pid] = prompt
                    prompt_line.setdefault(pid, lineno)
                samples = out.get(pid)
                if samples is None:
                    samples = out[pid] = {}
                elif index in samples:
                    raise BackendError(
                        f"{name}:{lineno}: field 'index': sample {index} of {pid!r} "
                        f"is already on line {samples[index][_LINE]}"
                    )
                prompt_tokens = obj.get("prompt_tokens")
                if prompt_tokens is not None and (
                    type(prompt_tokens) is not int or prompt_tokens < 0
                ):
                    _opt_int(obj, "prompt_tokens", f"{name}:{lineno}")  # raises, saying why
                completion_tokens = obj.get("completion_tokens")
                if completion_tokens is not None and (
                    type(completion_tokens) is not int or completion_tokens < 0
                ):
                    _opt_int(obj, "completion_tokens", f"{name}:{lineno}")  # raises, saying why
                samples[index] = (
                    text,
                    seed,
                    prompt_tokens,
                    completion_tokens,
                    finish,
                    correct,
                    lineno,
                )
        except UnicodeDecodeError as e:
            raise BackendError(f"{f}: not UTF-8 text ({e})") from e
    return out, prompts


_YamlLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_paper_yaml(f: Path) -> tuple[str, dict[int, _Raw], str | None]:
    try:
        with f.open(encoding="utf-8") as fh:
            doc = yaml.load(fh, Loader=_YamlLoader)  # a safe loader (CSafeLoader when built)
    except OSError as e:
        raise BackendError(f"{f}: cannot read ({e})") from e
    except UnicodeDecodeError as e:
        raise BackendError(f"{f}: not UTF-8 text ({e})") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise BackendError(f"{f}{line}: not valid YAML ({e})") from e
    if not isinstance(doc, dict):
        raise BackendError(
            f"{f}: expected a mapping with 'samples' (the paper's per-problem form), "
            f"got {type(doc).__name__}"
        )
    samples = doc.get("samples")
    if not isinstance(samples, list):
        raise BackendError(f"{f}: field 'samples' must be a list of strings, got {samples!r:.80}")
    for i, s in enumerate(samples):
        if not isinstance(s, str):
            raise BackendError(f"{f}: field 'samples[{i}]' must be a string, got {s!r:.80}")
    corrects = doc.get("is_corrects")
    if corrects is not None:
        if not isinstance(corrects, list) or len(corrects) != len(samples):
            raise BackendError(
                f"{f}: field 'is_corrects' must be a list of {len(samples)} booleans "
                "(one per sample)"
            )
        for i, c in enumerate(corrects):
            if not isinstance(c, bool):
                raise BackendError(f"{f}: field 'is_corrects[{i}]' must be a boolean, got {c!r}")
    prompt = doc.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise BackendError(f"{f}: field 'prompt' must be a string, got {type(prompt).__name__}")
    recs: dict[int, _Raw] = {
        i: (s, None, None, None, "stop", None if corrects is None else bool(corrects[i]), 0)
        for i, s in enumerate(samples)
    }
    return f.stem, recs, prompt
