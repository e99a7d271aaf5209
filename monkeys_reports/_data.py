"""A stored run as reports see it: problems, samples with their attempt-0 verdicts, counts,
and what the run cost."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

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
    union_seconds,
)
from monkeys_reports._params import model_shape
from monkeys_reports._stats import Outlook, RunGuessing, outlook, run_guessing, table_ks
from monkeys_suites import Problem
from store import RunRecord, SampleRecord, Store

FORECAST_K = 10_000


@dataclass(frozen=True)
class RunData:
    """Everything a report needs of one run, read once from the store."""

    run: RunRecord
    problems: tuple[Problem, ...]
    counts: dict[str, tuple[int, int]]  # attempt-0 verdicts: (n verified, c passed)
    samples: tuple[SampleRecord, ...]  # with the attempt-0 verdict (None: unverified)
    verified_at: tuple[float | None, ...]  # when each sample's verdict was stored

    @property
    def label(self) -> str:
        name = f" {self.run.name}" if self.run.name else ""
        policy = "" if self.run.policy == "uniform" else f", {self.run.policy}: not unbiased pass@k"
        return f"run {self.run.id}{name} ({self.run.model}{policy})"

    @property
    def truncated(self) -> int:
        """Samples cut off by max_tokens (in a chat run each is a failure)."""
        return sum(1 for s in self.samples if s.truncated)

    def by_problem(self) -> dict[str, list[SampleRecord]]:
        out: dict[str, list[SampleRecord]] = {p.id: [] for p in self.problems}
        for s in self.samples:
            out.setdefault(s.problem_id, []).append(s)
        return out

    def usage(self) -> list[ProblemUsage]:
        """Per problem: prompt length (counted once), decoded lengths, solved."""
        out = []
        for pid, ss in self.by_problem().items():
            out.append(
                ProblemUsage(
                    pid,
                    prompt_tokens=max((s.prompt_tokens for s in ss), default=0),
                    completion_tokens=tuple(s.completion_tokens for s in ss),
                    solved=self.counts.get(pid, (0, 0))[1] > 0,
                )
            )
        return out

    def busy_seconds(self) -> float:
        """Union of the generation intervals (the backend was busy)."""
        return union_seconds((s.created_at - s.gen_seconds, s.created_at) for s in self.samples)

    def wall_seconds(self) -> float:
        """Union of generation and verification intervals (the run was active)."""
        spans = [(s.created_at - s.gen_seconds, s.created_at) for s in self.samples]
        for s, t in zip(self.samples, self.verified_at, strict=True):
            if t is not None and s.verdict is not None:
                spans.append((min(s.created_at, t - s.verdict.duration_s), t))
        return union_seconds(spans)


def load_run(store: Store, run_id: int) -> RunData:
    run = store.get_run(run_id)
    rows = store.samples_verdict0(run_id)
    return RunData(
        run=run,
        problems=tuple(store.run_problems(run_id)),
        counts=store.counts(run_id),
        samples=tuple(s for s, _ in rows),
        verified_at=tuple(t for _, t in rows),
    )


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
