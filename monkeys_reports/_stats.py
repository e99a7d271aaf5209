"""Statistics beyond coverage for stored runs, as reports, `monkeys show` and the app show
them: the guessing baseline of a run's final-answer problems (with the suite's train
answers when it has them), what more samples promise each unsolved problem, and the paired
comparison of two runs of the same problems. The numbers come from `monkeys_analysis`; this module
only gathers their inputs (answers, counts) from runs."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from monkeys_analysis import (
    BetaBinomialFit,
    GuessingCurve,
    MoreSamples,
    PairedComparison,
    compare_runs,
    expected_new_solves,
    fit_beta_binomial,
    guessing_curve,
    more_samples,
)
from monkeys_suites import Problem, ProblemKind, SuiteError, train_answers
from verify import normalize_answer

FloatArray = NDArray[np.float64]
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?")

#: Extra samples per problem at which the outlook of unsolved problems is given by default.
OUTLOOK_EXTRA = 100
#: Bootstrap resamples and posterior draws of a paired comparison in reports and `show`.
PAIRED_BOOTSTRAP = 1000
PAIRED_DRAWS = 2000


def guess_key(answer: str) -> str:
    """The key under which the guessing baseline counts an answer as the same as another:
    `verify.normalize_answer`, and a plain number by its value (``"2,000"``, ``"2000.0"``
    -> ``"2000"``)."""
    key = normalize_answer(answer)
    if _NUMBER.fullmatch(key):
        value = float(key)
        if math.isfinite(value):
            return f"{value:.12g}"
    return key


@dataclass(frozen=True)
class RunGuessing:
    """The guessing baseline of a run: the curve (None when the run has no final-answer
    problem with a reference) and where the guesser's answers came from, in words."""

    curve: GuessingCurve | None
    note: str


def run_guessing(problems: Sequence[Problem], suite: str, ks: ArrayLike) -> RunGuessing:
    """The guessing baseline (`monkeys_analysis.guessing_curve`) of the final-answer problems of a
    run of suite ``suite`` at ``ks``: drawn from the suite's train answers when it has them,
    else from the reference answers of the run's other problems."""
    refs = {
        p.id: guess_key(p.answer)
        for p in problems
        if p.kind is ProblemKind.FINAL_ANSWER and p.answer is not None
    }
    if not refs:
        return RunGuessing(None, "no final-answer problem with a reference: no guessing baseline")
    note = ""
    pool: list[str] | None = None
    try:
        train = train_answers(suite)
    except SuiteError as e:
        train, note = None, f"{e}; "
    if train is not None and train.answers:
        pool = [guess_key(a) for a in train.answers]
        note += f"guesses drawn from the {len(pool):,} train answers of {train.source}"
    else:
        note += (
            f"guesses drawn from the reference answers of the run's {len(refs) - 1:,} other "
            "problems (no train answers)"
        )
    return RunGuessing(guessing_curve(refs, ks, pool=pool), note)


@dataclass(frozen=True)
class Outlook:
    """What more samples promise a run's unsolved problems under a zero-inflated
    beta-binomial fitted to the run: per unsolved problem `MoreSamples` for ``extra`` more,
    and the expected number of newly solved problems for each of ``extras``."""

    fit: BetaBinomialFit
    extra: int
    unsolved: dict[str, MoreSamples]
    extras: tuple[int, ...]
    expected: tuple[float, ...]

    @property
    def expected_solves(self) -> float:
        """Expected newly solved problems from ``extra`` more samples each."""
        return float(sum(m.p_solve for m in self.unsolved.values()))

    def ranked(self) -> list[tuple[str, MoreSamples]]:
        """The unsolved problems, most promising first."""
        return sorted(self.unsolved.items(), key=lambda kv: (-kv[1].p_solve, kv[0]))


def outlook(
    counts: Mapping[str, tuple[int, int]],
    extra: int = OUTLOOK_EXTRA,
    extras: Sequence[int] = (1, 3, 10, 30, 100, 300, 1_000, 3_000, 10_000, 100_000),
) -> Outlook | None:
    """The `Outlook` of a run's counts; None when no fit can be made (nothing solved, or
    fewer than two problems with samples)."""
    verified = {p: nc for p, nc in counts.items() if nc[0] > 0}
    fit = fit_beta_binomial(verified, zero_inflated=True)
    if fit is None:
        return None
    unsolved = {p: more_samples(fit, n, 0, extra) for p, (n, c) in verified.items() if c == 0}
    exp = expected_new_solves(fit, verified, list(extras))
    return Outlook(fit, extra, unsolved, tuple(extras), tuple(float(v) for v in exp))


def paired(
    a: Mapping[str, tuple[int, int]],
    b: Mapping[str, tuple[int, int]],
    ks: ArrayLike | None = None,
    *,
    bootstrap: int = PAIRED_BOOTSTRAP,
    draws: int = PAIRED_DRAWS,
) -> PairedComparison | None:
    """Run A against run B (`monkeys_analysis.compare_runs`); None when they share no verified
    problem."""
    try:
        return compare_runs(a, b, ks, bootstrap=bootstrap, draws=draws)
    except ValueError:
        return None


def table_ks(k_max: int) -> list[int]:
    """k = 1, 2, 5, 10, 20, 50, ... up to k_max, and k_max itself."""
    ks: list[int] = []
    base = 1
    while base <= k_max:
        ks += [k for k in (base, 2 * base, 5 * base) if k <= k_max]
        base *= 10
    if k_max >= 1 and ks[-1] != k_max:
        ks.append(k_max)
    return ks


def pct(v: float | None) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{100 * v:.1f}%"


def signed_pct(v: float) -> str:
    """``+3.2`` points (or ``—``)."""
    return "—" if not math.isfinite(v) else f"{100 * v:+.1f}"


def probability(p: float) -> str:
    """A posterior probability, never shown as exactly 0 or 1 from a finite simulation."""
    if not math.isfinite(p):
        return "—"
    if p >= 0.9995:
        return ">99.9%"
    if p <= 0.0005:
        return "<0.1%"
    return f"{100 * p:.1f}%"
