"""Statistics over per-problem (n, c) counts: coverage, pass^k, power-law fit, beta-binomial
forecast, paired comparison of two runs, the guessing baseline, whether more samples would
help a problem, and verifier-free precision. Pure functions; see STATISTICS.md for
definitions and policy."""

from ._baseplus import BaseCounts, BasePlusCurve, base_vs_plus
from ._betabinom import (
    LR_CRITICAL,
    BetaBinomialFit,
    ModelScore,
    fit_beta_binomial,
    log_likelihood,
)
from ._cost import (
    COST_UNITS,
    CostCurve,
    CostModel,
    CostUnit,
    EqualCostPoint,
    ModelShape,
    Prices,
    ProblemUsage,
    RunCost,
    cost_curve,
    coverage_against_cost,
    equal_cost,
    flops_per_token,
    money,
    prompt_flops,
    run_cost,
    sample_flops,
    samples_per_sample,
    union_seconds,
)
from ._coverage import (
    CoverageCurve,
    as_counts,
    coverage_curve,
    log_spaced_ks,
    pass_at_k,
    pass_at_k_matrix,
)
from ._estimate import Estimate
from ._guessing import GuessingCurve, guessing_curve
from ._paired import PairedComparison, PairedPoint, compare_runs
from ._passhat import PassHatCurve, pass_hat_curve, pass_hat_k
from ._powerlaw import PowerLawFit, fit_power_law
from ._precision import METHODS, Vote, VoteColumns, precision_curve, votes_from_samples
from ._solvable import (
    MoreSamples,
    expected_new_solves,
    more_samples,
    more_samples_table,
    solvable_probability,
)

__all__ = [
    "COST_UNITS",
    "LR_CRITICAL",
    "METHODS",
    "BaseCounts",
    "BasePlusCurve",
    "BetaBinomialFit",
    "CostCurve",
    "CostModel",
    "CostUnit",
    "CoverageCurve",
    "EqualCostPoint",
    "Estimate",
    "GuessingCurve",
    "ModelScore",
    "ModelShape",
    "MoreSamples",
    "PairedComparison",
    "PairedPoint",
    "PassHatCurve",
    "PowerLawFit",
    "Prices",
    "ProblemUsage",
    "RunCost",
    "Vote",
    "VoteColumns",
    "as_counts",
    "base_vs_plus",
    "compare_runs",
    "cost_curve",
    "coverage_against_cost",
    "coverage_curve",
    "equal_cost",
    "expected_new_solves",
    "fit_beta_binomial",
    "fit_power_law",
    "flops_per_token",
    "guessing_curve",
    "log_likelihood",
    "log_spaced_ks",
    "money",
    "more_samples",
    "more_samples_table",
    "pass_at_k",
    "pass_at_k_matrix",
    "pass_hat_curve",
    "pass_hat_k",
    "precision_curve",
    "prompt_flops",
    "run_cost",
    "sample_flops",
    "samples_per_sample",
    "solvable_probability",
    "union_seconds",
    "votes_from_samples",
]
