"""Statistics over per-problem (n, c) counts: coverage, power-law fit, beta-binomial forecast,
and verifier-free precision. Pure functions; see STATISTICS.md for definitions and policy."""

from ._betabinom import BetaBinomialFit, fit_beta_binomial, log_likelihood
from ._coverage import (
    CoverageCurve,
    as_counts,
    coverage_curve,
    log_spaced_ks,
    pass_at_k,
    pass_at_k_matrix,
)
from ._powerlaw import PowerLawFit, fit_power_law
from ._precision import precision_curve

__all__ = [
    "BetaBinomialFit",
    "CoverageCurve",
    "PowerLawFit",
    "as_counts",
    "coverage_curve",
    "fit_beta_binomial",
    "fit_power_law",
    "log_likelihood",
    "log_spaced_ks",
    "pass_at_k",
    "pass_at_k_matrix",
    "precision_curve",
]
