"""A stored run as reports see it: problems, samples with their attempt-0 verdicts, counts,
and what the run cost."""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from monkeys_analysis import (
    BetaBinomialFit,
    CostCurve,
    CostModel,
    CoverageCurve,
    ModelShape,
    PassHatCurve,
    PowerLawFit,
    Prices,
    ProblemUsage,
    RunCost,
    cost_curve,
    coverage_curve,
    fit_beta_binomial,
    fit_power_law,
    log_spaced_ks,
    pass_hat_curve,
    run_cost,
)
from monkeys_reports._params import model_shape
from monkeys_reports._stats import Outlook, RunGuessing, outlook, run_guessing, table_ks
from monkeys_suites import Problem, ProblemKind
from store import ReportRows, RunRecord, Store
from verify import AnswerGroups, extract_answer

FORECAST_K = 10_000
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ProblemColumns:
    """One problem's samples as columns, in index order, with their attempt-0 verdicts
    (`verified` False: none yet). ``answers``: for a final-answer problem, the answer group
    of each verified sample (in order; -1: no final answer), numbered by first appearance,
    ``answer_texts`` their representatives (`verify.AnswerGroups`); None otherwise."""

    idx: IntArray
    prompt_tokens: IntArray
    completion_tokens: IntArray
    truncated: BoolArray
    gen_seconds: FloatArray
    created_at: FloatArray
    verified: BoolArray
    passed: BoolArray  # False where unverified
    verify_seconds: FloatArray  # NaN where unverified
    verified_at: FloatArray  # NaN where unverified
    answers: IntArray | None = None
    answer_texts: tuple[str, ...] = ()

    @property
    def samples(self) -> int:
        return int(self.idx.size)


@dataclass(frozen=True)
class RunData:
    """Everything a report needs of one run, read once from the store as columns: per
    problem, numbers and answer groups, never the texts (millions of samples fit)."""

    run: RunRecord
    problems: tuple[Problem, ...]
    counts: dict[str, tuple[int, int]]  # attempt-0 verdicts: (n verified, c passed)
    columns: dict[str, ProblemColumns]  # every problem of the run, in run order

    @property
    def label(self) -> str:
        name = f" {self.run.name}" if self.run.name else ""
        policy = "" if self.run.policy == "uniform" else f", {self.run.policy}: not unbiased pass@k"
        return f"run {self.run.id}{name} ({self.run.model}{policy})"

    @property
    def truncated(self) -> int:
        """Samples cut off by max_tokens (in a chat run each is a failure)."""
        return sum(int(np.count_nonzero(c.truncated)) for c in self.columns.values())

    def usage(self) -> list[ProblemUsage]:
        """Per problem: prompt length (counted once), decoded lengths, solved."""
        return [
            ProblemUsage(
                pid,
                prompt_tokens=int(c.prompt_tokens.max(initial=0)),
                completion_tokens=tuple(c.completion_tokens.tolist()),
                solved=self.counts.get(pid, (0, 0))[1] > 0,
            )
            for pid, c in self.columns.items()
        ]

    def _generation(self) -> tuple[FloatArray, FloatArray]:
        ends = _concat([c.created_at for c in self.columns.values()])
        return ends - _concat([c.gen_seconds for c in self.columns.values()]), ends

    def busy_seconds(self) -> float:
        """Union of the generation intervals (the backend was busy)."""
        return union_length(*self._generation())

    def wall_seconds(self) -> float:
        """Union of generation and verification intervals (the run was active)."""
        starts, ends = self._generation()
        cs = list(self.columns.values())
        v = _concat([c.verified for c in cs]).astype(bool)
        at = _concat([c.verified_at for c in cs])[v]
        began = np.minimum(
            _concat([c.created_at for c in cs])[v], at - _concat([c.verify_seconds for c in cs])[v]
        )
        return union_length(np.concatenate([starts, began]), np.concatenate([ends, at]))


def _concat(parts: list[FloatArray] | list[BoolArray]) -> FloatArray:
    return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)


def union_length(starts: FloatArray, ends: FloatArray) -> float:
    """Total length of the union of the intervals [starts[i], ends[i]] (overlaps counted
    once; empty ones ignored), in O(n log n) array operations: `union_seconds` for arrays."""
    keep = ends > starts
    a, b = starts[keep], ends[keep]
    if a.size == 0:
        return 0.0
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    reach = np.maximum.accumulate(b)  # furthest end so far
    new = np.r_[True, a[1:] > reach[:-1]]  # a gap before: a new merged span starts
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, a.size - 1]
    return float(np.sum(reach[last] - a[first]))


def answer_groups(texts: Sequence[str]) -> tuple[IntArray, tuple[str, ...]]:
    """The final answer of each text as its group's number, groups numbered by first
    appearance (-1: no final answer), and each group's representative (the first answer of
    its kind, `verify.AnswerGroups`)."""
    groups = AnswerGroups()
    ids: dict[str, int] = {}
    got = []
    for t in texts:
        a = extract_answer(t)
        got.append(-1 if a is None else ids.setdefault(groups.key(a), len(ids)))
    return np.array(got, dtype=np.int64), tuple(ids)


def _columns(rows: ReportRows) -> ProblemColumns:
    """One problem's `Store.iter_report_rows` numbers as columns (no answers yet)."""
    table = np.array(rows.samples, dtype=np.float64).reshape(len(rows.samples), 6)
    idx, pt, ct, cut, gs, created = table.T
    v = np.array(rows.verdicts, dtype=np.float64).reshape(len(rows.verdicts), 4)
    v = v[np.isin(v[:, 0], idx)]  # (a verdict always has its sample: a guard)
    at = np.searchsorted(idx, v[:, 0])  # each verdict's sample (both in index order)
    verified = np.zeros(idx.size, dtype=bool)
    verified[at] = True
    passed = np.zeros(idx.size, dtype=bool)
    passed[at] = v[:, 1] > 0
    verify_seconds = np.full(idx.size, np.nan)
    verify_seconds[at] = v[:, 2]
    verified_at = np.full(idx.size, np.nan)
    verified_at[at] = v[:, 3]
    return ProblemColumns(
        idx=idx.astype(np.int64),
        prompt_tokens=pt.astype(np.int64),
        completion_tokens=ct.astype(np.int64),
        truncated=cut > 0,
        gen_seconds=gs.copy(),
        created_at=created.copy(),
        verified=verified,
        passed=passed,
        verify_seconds=verify_seconds,
        verified_at=verified_at,
    )


#: verified final-answer samples above which `load_run` groups answers in worker processes
PARALLEL_MIN = 200_000
Groups = tuple[IntArray, tuple[str, ...]]


def load_run(store: Store, run_id: int, *, workers: int | None = None) -> RunData:
    """A run as report columns, streamed problem by problem (`Store.iter_report_rows`); the
    texts of final-answer problems are grouped (`answer_groups`) and dropped. `workers`
    processes group them (None: one per CPU, up to 4, when the run has more than
    `PARALLEL_MIN` verified final-answer samples, else 1: here), a few problems in flight."""
    run = store.get_run(run_id)
    problems = tuple(store.run_problems(run_id))
    counts = store.counts(run_id)
    answer = {p.id for p in problems if p.kind is ProblemKind.FINAL_ANSWER}
    if workers is None:
        many = sum(counts.get(pid, (0, 0))[0] for pid in answer) > PARALLEL_MIN
        workers = min(4, len(os.sched_getaffinity(0))) if many else 1
    columns: dict[str, ProblemColumns] = {}
    pending: deque[tuple[str, Future[Groups]]] = deque()

    def attach(pid: str, groups: Groups) -> None:
        columns[pid] = replace(columns[pid], answers=groups[0], answer_texts=groups[1])

    def settle(limit: int) -> None:
        while len(pending) > limit:
            pid, fut = pending.popleft()
            attach(pid, fut.result())

    # fork: a worker starts at once and only groups the texts it is sent (never touches the
    # store); spawn would import the caller's main module (the CLI) again in each worker
    pool = (
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        if workers > 1 and answer
        else None
    )
    try:
        for rows in store.iter_report_rows(run_id, texts=answer):
            pid = rows.problem_id
            c = columns[pid] = _columns(rows)
            if pid not in answer:
                continue
            texts = list(itertools.compress(rows.texts, c.verified.tolist()))
            if pool is None:
                attach(pid, answer_groups(texts))
            else:
                pending.append((pid, pool.submit(answer_groups, texts)))
                settle(2 * workers)
        settle(0)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return RunData(run=run, problems=problems, counts=counts, columns=columns)


@dataclass(frozen=True)
class RunSummary:
    """The numbers of a run's summary table; ``pass_hat``: pass^k (every one of k samples
    passes), ``guessing``: the guessing baseline (final-answer problems; its ``curve`` is
    None otherwise), ``outlook``: what more samples promise the unsolved problems."""

    data: RunData
    curve: CoverageCurve | None
    power_law: PowerLawFit | None
    beta_binomial: BetaBinomialFit | None
    cost: RunCost
    shape: ModelShape | None
    prices: Prices | None
    notes: tuple[str, ...] = field(default=())
    pass_hat: PassHatCurve | None = None
    guessing: RunGuessing | None = None
    outlook: Outlook | None = None

    def pass_hat_at(self, k: int) -> float | None:
        """pass^k at k (None where the samples do not tell)."""
        c = self.pass_hat
        if c is None or k < 1 or k > c.k_max or k > int(c.ks[-1]):
            return None
        v = float(c.values[k - 1])
        return v if math.isfinite(v) else None

    def guessing_at(self, k: int) -> float | None:
        """The guessing baseline's coverage at k (None without one or off its grid)."""
        g = self.guessing.curve if self.guessing is not None else None
        if g is None:
            return None
        hit = np.flatnonzero(g.ks == k)
        return float(g.coverage[hit[0]]) if hit.size else None

    @property
    def solved(self) -> int:
        return sum(1 for _, c in self.data.counts.values() if c > 0)

    @property
    def verified(self) -> int:
        return sum(n for n, _ in self.data.counts.values())

    def coverage_at(self, k: int) -> float | None:
        """Observed coverage at k (None where the samples do not tell)."""
        c = self.curve
        if c is None or k < 1 or k > c.k_max or k > int(c.ks[-1]):
            return None
        v = float(c.coverage[k - 1])
        return v if math.isfinite(v) else None

    def forecast(self, k: int = FORECAST_K) -> tuple[float | None, float | None]:
        """(power law, beta-binomial) predictions of coverage at k."""
        return _predict(self.power_law, k), _predict(self.beta_binomial, k)

    def coverage_or_forecast(self, k: int) -> tuple[float, bool] | None:
        """Observed coverage at k, else the beta-binomial (or power-law) forecast, flagged."""
        obs = self.coverage_at(k)
        if obs is not None:
            return obs, False
        pl, bb = self.forecast(k)
        f = bb if bb is not None else pl
        return None if f is None else (f, True)

    def cost_curve(self, model: CostModel) -> CostCurve:
        return cost_curve(self.data.usage(), model)

    def cost_model(self, unit: str) -> CostModel | None:
        """A cost model in `unit` for this run, or None when its inputs are unknown."""
        if unit == "tokens":
            return CostModel("tokens")
        if unit == "flops":
            return None if self.shape is None else CostModel("flops", shape=self.shape)
        if unit == "usd":
            return None if self.prices is None else CostModel("usd", prices=self.prices)
        raise ValueError(f"unknown cost unit {unit!r}: tokens, flops or usd")


def _predict(fit: PowerLawFit | BetaBinomialFit | None, k: int) -> float | None:
    if fit is None:
        return None
    v = float(np.asarray(fit.predict(np.array([float(k)])))[0])
    return v if math.isfinite(v) else None


def summarize_run(
    data: RunData,
    *,
    shapes: Mapping[str, ModelShape] | None = None,
    prices: Prices | None = None,
    bootstrap: int = 0,
) -> RunSummary:
    """Coverage, fits (with `bootstrap` resamples for bands) and cost of one run."""
    counts = data.counts
    notes: list[str] = []
    if data.run.policy != "uniform":
        notes.append(
            f"policy {data.run.policy}: problems got different numbers of samples, so its "
            "coverage curve is not the unbiased pass@k of a uniform run (compare solved "
            "problems at equal spend: bench/policies.py)"
        )
    curve = pl = bb = ph = None
    if any(n >= 1 for n, _ in counts.values()):
        # problems with no verified sample yet are left out of the curve (and said so)
        curve = coverage_curve(counts)
        ph = pass_hat_curve(counts, curve.ks)
        try:
            pl = fit_power_law(curve, bootstrap=bootstrap, counts=counts)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as e:
            notes.append(f"power-law fit failed: {e}")
        try:
            bb = fit_beta_binomial(
                counts,
                scaled="auto",
                zero_inflated="auto",
                mixture="auto",
                bootstrap=bootstrap,
            )
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as e:
            notes.append(f"beta-binomial fit failed: {e}")
        if curve.note:
            notes.append(curve.note)
    else:
        notes.append("no verified sample yet: no coverage curve")
    shape = model_shape(data.run.model, dict(shapes or {}))
    if shape is None:
        notes.append(
            f"FLOPs unknown: no parameter count for model {data.run.model!r} "
            "(give one with --model-shape MODEL=PARAMS,LAYERS,DIM)"
        )
    cost = run_cost(
        data.usage(),
        shape=shape,
        prices=prices,
        wall_seconds=data.wall_seconds(),
        busy_seconds=data.busy_seconds(),
    )
    k_top = max(FORECAST_K, curve.k_max if curve is not None else 1)
    ks = np.union1d(log_spaced_ks(k_top, 80), table_ks(k_top))
    if curve is not None and curve.k_max >= 1:
        ks = np.union1d(ks, [curve.k_max])
    guessing = run_guessing(data.problems, data.run.suite, ks)
    try:
        ahead = outlook(counts)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as e:
        ahead = None
        notes.append(f"zero-inflated fit failed: {e}")
    return RunSummary(data, curve, pl, bb, cost, shape, prices, tuple(notes), ph, guessing, ahead)
