"""What repeated sampling costs: tokens, time, FLOPs and money, per run and per solved problem.

Pure functions and frozen dataclasses (no I/O): `monkeys_reports` feeds them from the store, the
app's Compare screen may call them directly.

**FLOPs.** Brown et al. 2024 (*Large Language Monkeys*, arXiv 2407.21787), where they compare
models at equal inference compute, count FLOPs with the approximation of Kaplan et al. 2020:

    FLOPs per token ~= 2 * (num-parameters + 2 * num-layers * token-dim * context-length)
    total FLOPs ~= num-prompt-tokens * FLOPs-per-token
                 + num-decoded-tokens * FLOPs-per-token * num-completions

i.e. ``2N`` for the weight matmuls plus ``4 L d ctx`` for attention over the context, with the
prompt counted once per problem (its KV cache is shared by every sample) and every decoded
token counted. Here ``context-length`` is each token's actual context: the i-th prompt token
(1-based) attends over i positions, the j-th decoded token of a sample over ``P + j``. Summed:

    prompt:  2 N P + 4 L d * P (P + 1) / 2
    sample:  2 N D + 4 L d * (D P + D (D + 1) / 2)

for a P-token prompt and D decoded tokens. ``N`` is the model's total parameter count (as the
paper uses: 8B for Llama-3-8B), ``L`` its layers and ``d`` its embedding width.

**Money.** ``price_in`` per million prompt tokens and ``price_out`` per million decoded tokens;
the prompt is billed once per problem (``prompt_once=True``: one request with ``n`` samples,
or a prefix cache) or once per sample (``prompt_once=False``: one request per sample).

**Time.** ``wall_seconds``: how long the run was active (the union of the intervals in which a
sample was being generated or verified, so pauses between sessions do not count);
``busy_seconds``: how long the backend was generating (the union of generation intervals: on
a GPU that is accelerator time, on a CPU run it is CPU time of the engine, not accelerator).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

CostUnit = Literal["tokens", "flops", "usd"]
COST_UNITS: tuple[CostUnit, ...] = ("tokens", "flops", "usd")


@dataclass(frozen=True)
class ModelShape:
    """What the FLOPs count needs of a model: total parameters, layers, embedding width."""

    params: float
    layers: int
    dim: int
    source: str = ""  # where the numbers came from (e.g. "gguf", "catalog", "user")

    def __post_init__(self) -> None:
        if self.params <= 0 or self.layers <= 0 or self.dim <= 0:
            raise ValueError("a model shape needs positive params, layers and dim")


@dataclass(frozen=True)
class Prices:
    """Money per million tokens (any currency; reports say "$")."""

    input_per_million: float = 0.0
    output_per_million: float = 0.0
    prompt_once: bool = True

    def __post_init__(self) -> None:
        if self.input_per_million < 0 or self.output_per_million < 0:
            raise ValueError("prices must be >= 0")


def flops_per_token(shape: ModelShape, context: float) -> float:
    """The paper's per-token count: ``2 (N + 2 L d ctx)``."""
    return 2.0 * (shape.params + 2.0 * shape.layers * shape.dim * context)


def prompt_flops(shape: ModelShape, prompt_tokens: int) -> float:
    """FLOPs to process a P-token prompt once (token i has context i)."""
    p = float(prompt_tokens)
    return 2.0 * shape.params * p + 4.0 * shape.layers * shape.dim * p * (p + 1.0) / 2.0


def sample_flops(shape: ModelShape, prompt_tokens: int, completion_tokens: int) -> float:
    """FLOPs to decode D tokens after a P-token prompt (token j has context P + j)."""
    p, d = float(prompt_tokens), float(completion_tokens)
    return 2.0 * shape.params * d + 4.0 * shape.layers * shape.dim * (d * p + d * (d + 1.0) / 2.0)


def money(prompt_tokens: float, decoded_tokens: float, prices: Prices) -> float:
    """Price of `prompt_tokens` billed input tokens and `decoded_tokens` output tokens."""
    return (
        prompt_tokens * prices.input_per_million + decoded_tokens * prices.output_per_million
    ) / 1e6


@dataclass(frozen=True)
class ProblemUsage:
    """One problem of a run: its prompt length, its samples' decoded lengths, whether solved."""

    problem_id: str
    prompt_tokens: int
    completion_tokens: tuple[int, ...]
    solved: bool = False

    @property
    def samples(self) -> int:
        return len(self.completion_tokens)


@dataclass(frozen=True)
class CostModel:
    """Cost of prompts and samples in one unit: tokens, FLOPs (needs `shape`), or money
    (needs `prices`)."""

    unit: CostUnit = "tokens"
    shape: ModelShape | None = None
    prices: Prices | None = None

    def __post_init__(self) -> None:
        if self.unit == "flops" and self.shape is None:
            raise ValueError("a FLOPs cost needs the model's shape (params, layers, dim)")
        if self.unit == "usd" and self.prices is None:
            raise ValueError("a money cost needs prices")

    def prompt(self, prompt_tokens: int) -> float:
        """Paid once per problem."""
        if self.unit == "tokens":
            return float(prompt_tokens)
        if self.unit == "flops":
            assert self.shape is not None
            return prompt_flops(self.shape, prompt_tokens)
        assert self.prices is not None
        return money(prompt_tokens, 0, self.prices) if self.prices.prompt_once else 0.0

    def sample(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Paid per sample."""
        if self.unit == "tokens":
            return float(completion_tokens)
        if self.unit == "flops":
            assert self.shape is not None
            return sample_flops(self.shape, prompt_tokens, completion_tokens)
        assert self.prices is not None
        billed_prompt = 0 if self.prices.prompt_once else prompt_tokens
        return money(billed_prompt, completion_tokens, self.prices)


@dataclass(frozen=True)
class RunCost:
    """What a run cost. `flops` is None without a model shape, `money` None without prices."""

    problems: int
    samples: int
    solved: int
    prompt_tokens: int  # one prompt per problem
    prompt_tokens_per_sample: int  # the prompt counted for every sample (per-request billing)
    decoded_tokens: int
    wall_seconds: float
    busy_seconds: float
    flops: float | None
    money: float | None

    @property
    def tokens(self) -> int:
        """Prompt tokens (once per problem) plus decoded tokens."""
        return self.prompt_tokens + self.decoded_tokens

    def per_solved(self, total: float | None) -> float | None:
        """`total` divided by the solved problems (None when none is solved or no total)."""
        if total is None or self.solved == 0:
            return None
        return total / self.solved

    @property
    def tokens_per_solved(self) -> float | None:
        return self.per_solved(float(self.tokens))

    @property
    def flops_per_solved(self) -> float | None:
        return self.per_solved(self.flops)

    @property
    def money_per_solved(self) -> float | None:
        return self.per_solved(self.money)

    @property
    def seconds_per_solved(self) -> float | None:
        return self.per_solved(self.wall_seconds)


def union_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """Total length of the union of ``(start, end)`` intervals (overlaps counted once)."""
    spans = sorted((a, b) for a, b in intervals if b > a)
    total = 0.0
    cur_a: float | None = None
    cur_b = 0.0
    for a, b in spans:
        if cur_a is None or a > cur_b:
            if cur_a is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_a is not None:
        total += cur_b - cur_a
    return total


def run_cost(
    usage: Sequence[ProblemUsage],
    *,
    shape: ModelShape | None = None,
    prices: Prices | None = None,
    wall_seconds: float = 0.0,
    busy_seconds: float = 0.0,
) -> RunCost:
    """Totals of a run from its per-problem usage (problems with no sample cost nothing)."""
    sampled = [u for u in usage if u.samples]
    prompt = sum(u.prompt_tokens for u in sampled)
    prompt_all = sum(u.prompt_tokens * u.samples for u in sampled)
    decoded = sum(sum(u.completion_tokens) for u in sampled)
    flops = None
    if shape is not None:
        flops = sum(
            prompt_flops(shape, u.prompt_tokens)
            + sum(sample_flops(shape, u.prompt_tokens, d) for d in u.completion_tokens)
            for u in sampled
        )
    cash = None
    if prices is not None:
        cash = money(prompt if prices.prompt_once else prompt_all, decoded, prices)
    return RunCost(
        problems=len(usage),
        samples=sum(u.samples for u in usage),
        solved=sum(1 for u in usage if u.solved),
        prompt_tokens=prompt,
        prompt_tokens_per_sample=prompt_all,
        decoded_tokens=decoded,
        wall_seconds=wall_seconds,
        busy_seconds=busy_seconds,
        flops=flops,
        money=cash,
    )


# ---- cost as a function of the budget k --------------------------------------------------------


@dataclass(frozen=True)
class CostCurve:
    """Expected cost of drawing k samples of every problem: ``fixed + k * per_k``.

    `fixed` is the prompts (once per problem); `per_k` the sum over problems of the mean cost
    of one of its samples (so uneven sample counts, e.g. adaptive runs, are fine).
    """

    unit: CostUnit
    fixed: float
    per_k: float
    problems: int

    def at(self, k: float) -> float:
        return self.fixed + k * self.per_k

    @property
    def per_sample(self) -> float:
        """Mean cost of one sample of one problem."""
        return self.per_k / self.problems if self.problems else math.nan

    def k_at(self, cost: float) -> int:
        """The most samples per problem that `cost` pays for (0 if not even the prompts)."""
        if self.per_k <= 0:
            return 0
        return max(0, math.floor((cost - self.fixed) / self.per_k + 1e-9))


def cost_curve(usage: Sequence[ProblemUsage], model: CostModel) -> CostCurve:
    """The cost curve of a run's problems (those with at least one sample)."""
    sampled = [u for u in usage if u.samples]
    fixed = sum(model.prompt(u.prompt_tokens) for u in sampled)
    per_k = sum(
        sum(model.sample(u.prompt_tokens, d) for d in u.completion_tokens) / u.samples
        for u in sampled
    )
    return CostCurve(model.unit, fixed, per_k, len(sampled))


def coverage_against_cost(
    curve: CostCurve, ks: Sequence[int], coverage: Sequence[float]
) -> list[tuple[float, float]]:
    """(cost of k samples per problem, coverage at k) for each k."""
    if len(ks) != len(coverage):
        raise ValueError("ks and coverage must have the same length")
    return [(curve.at(k), float(c)) for k, c in zip(ks, coverage, strict=True)]


# ---- equal-cost comparison ---------------------------------------------------------------------

CoverageAt = Callable[[int], tuple[float, bool] | None]
"""k -> (coverage, forecast?) or None when unknown. `forecast` is True when the value comes
from a fit rather than the samples drawn."""


@dataclass(frozen=True)
class EqualCostPoint:
    """Model B with `k_b` samples per problem against model A with what the same cost buys."""

    k_b: int
    cost: float
    coverage_b: float | None
    k_a: int
    coverage_a: float | None
    a_forecast: bool
    b_forecast: bool

    @property
    def winner(self) -> Literal["A", "B", "tie"] | None:
        if self.coverage_a is None or self.coverage_b is None:
            return None
        if math.isclose(self.coverage_a, self.coverage_b, abs_tol=1e-9):
            return "tie"
        return "A" if self.coverage_a > self.coverage_b else "B"


def samples_per_sample(a: CostCurve, b: CostCurve) -> float:
    """How many samples of A cost as much as one sample of B (mean per-sample costs)."""
    if a.unit != b.unit:
        raise ValueError(f"cannot compare costs in {a.unit} and {b.unit}")
    if a.per_sample <= 0:
        return math.inf
    return b.per_sample / a.per_sample


def equal_cost(
    a: CostCurve,
    coverage_a: CoverageAt,
    b: CostCurve,
    coverage_b: CoverageAt,
    ks_b: Sequence[int],
) -> list[EqualCostPoint]:
    """For each budget k_b of B: the cost of k_b samples per problem of B, the number of
    samples per problem of A that this cost buys (prompts included), and both coverages."""
    if a.unit != b.unit:
        raise ValueError(f"cannot compare costs in {a.unit} and {b.unit}")
    out = []
    for k in ks_b:
        cost = b.at(k)
        k_a = a.k_at(cost)
        cb = coverage_b(k)
        ca = coverage_a(k_a) if k_a >= 1 else (0.0, False)
        out.append(
            EqualCostPoint(
                k_b=int(k),
                cost=cost,
                coverage_b=None if cb is None else cb[0],
                k_a=k_a,
                coverage_a=None if ca is None else ca[0],
                a_forecast=bool(ca and ca[1]),
                b_forecast=bool(cb and cb[1]),
            )
        )
    return out
