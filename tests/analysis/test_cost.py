"""Cost formulas, checked against hand-computed cases and brute-force sums."""

from __future__ import annotations

import math

import pytest

from monkeys_analysis import (
    CostCurve,
    CostModel,
    ModelShape,
    Prices,
    ProblemUsage,
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

# N = 100 parameters, L = 2 layers, d = 3: FLOPs per token = 2 (100 + 2*2*3*ctx) = 200 + 24 ctx.
SHAPE = ModelShape(params=100, layers=2, dim=3)


def test_flops_per_token_is_the_papers_formula() -> None:
    assert flops_per_token(SHAPE, 5) == 320.0  # 2 * (100 + 60)
    assert flops_per_token(SHAPE, 0) == 200.0  # 2N without attention


def test_prompt_and_sample_flops_by_hand_and_by_brute_force() -> None:
    # prompt of 4 tokens: contexts 1..4 -> 4 * 200 + 24 * (1 + 2 + 3 + 4) = 1040
    assert prompt_flops(SHAPE, 4) == 1040.0
    assert prompt_flops(SHAPE, 1) == 224.0
    # 2 decoded tokens after that prompt: contexts 5, 6 -> 320 + 344
    assert sample_flops(SHAPE, 4, 2) == 664.0
    assert sample_flops(SHAPE, 1, 3) == 248.0 + 272.0 + 296.0
    assert sample_flops(SHAPE, 7, 0) == 0.0
    big = ModelShape(params=8.03e9, layers=32, dim=4096)
    for p, d in ((1, 1), (37, 250), (600, 1024)):
        assert math.isclose(
            prompt_flops(big, p), sum(flops_per_token(big, i) for i in range(1, p + 1))
        )
        assert math.isclose(
            sample_flops(big, p, d), sum(flops_per_token(big, p + j) for j in range(1, d + 1))
        )
    # an 8B model spends about 2 * 8e9 FLOPs per token at short context
    assert math.isclose(flops_per_token(big, 1), 2 * 8.03e9, rel_tol=1e-4)


USAGE = [
    ProblemUsage("p1", prompt_tokens=4, completion_tokens=(2, 0), solved=True),
    ProblemUsage("p2", prompt_tokens=1, completion_tokens=(3,), solved=False),
    ProblemUsage("p3", prompt_tokens=9, completion_tokens=(), solved=False),  # never sampled
]


def test_run_cost_totals_by_hand() -> None:
    prices = Prices(input_per_million=2.0, output_per_million=10.0)
    c = run_cost(USAGE, shape=SHAPE, prices=prices, wall_seconds=30.0, busy_seconds=12.0)
    assert (c.problems, c.samples, c.solved) == (3, 3, 1)
    assert c.prompt_tokens == 5  # 4 + 1, once per problem; p3 has no sample
    assert c.prompt_tokens_per_sample == 9  # 4 * 2 + 1 * 1
    assert c.decoded_tokens == 5 and c.tokens == 10
    assert c.flops == 1040 + 664 + 0 + 224 + 816
    assert c.money == pytest.approx((5 * 2 + 5 * 10) / 1e6)
    assert c.flops_per_solved == c.flops and c.tokens_per_solved == 10.0
    assert c.money_per_solved == c.money and c.seconds_per_solved == 30.0
    per_request = run_cost(USAGE, prices=Prices(2.0, 10.0, prompt_once=False))
    assert per_request.money == pytest.approx((9 * 2 + 5 * 10) / 1e6)
    assert per_request.flops is None
    none_solved = run_cost([ProblemUsage("x", 3, (4,), solved=False)])
    assert none_solved.tokens_per_solved is None and none_solved.money is None


def test_money() -> None:
    assert money(1_000_000, 2_000_000, Prices(0.5, 1.5)) == pytest.approx(0.5 + 3.0)
    with pytest.raises(ValueError):
        Prices(-1.0, 0.0)


def test_union_seconds() -> None:
    assert union_seconds([(0, 2), (1, 3), (5, 6), (6, 6.5), (10, 9)]) == 4.5
    assert union_seconds([]) == 0.0
    assert union_seconds([(0, 10), (2, 3), (4, 5)]) == 10.0


def test_cost_curves_in_each_unit() -> None:
    tok = cost_curve(USAGE, CostModel("tokens"))
    # fixed = prompts 4 + 1; per k = mean(2, 0) + mean(3) = 4
    assert (tok.fixed, tok.per_k, tok.problems) == (5.0, 4.0, 2)
    assert tok.at(10) == 45.0 and tok.per_sample == 2.0
    assert tok.k_at(45.0) == 10 and tok.k_at(44.99) == 9 and tok.k_at(4.0) == 0
    fl = cost_curve(USAGE, CostModel("flops", shape=SHAPE))
    assert fl.fixed == 1040 + 224 and fl.per_k == (664 + 0) / 2 + 816
    usd = cost_curve(USAGE, CostModel("usd", prices=Prices(2.0, 10.0)))
    assert usd.fixed == pytest.approx(5 * 2 / 1e6) and usd.per_k == pytest.approx(4 * 10 / 1e6)
    usd2 = cost_curve(USAGE, CostModel("usd", prices=Prices(2.0, 10.0, prompt_once=False)))
    assert usd2.fixed == 0.0
    assert usd2.per_k == pytest.approx(((4 * 2 + 2 * 10) + (4 * 2 + 0)) / 2e6 + (2 + 30) / 1e6)
    with pytest.raises(ValueError, match="shape"):
        CostModel("flops")
    with pytest.raises(ValueError, match="prices"):
        CostModel("usd")
    assert coverage_against_cost(tok, [1, 2], [0.5, 0.75]) == [(9.0, 0.5), (13.0, 0.75)]


def test_equal_cost_comparison_by_hand() -> None:
    # A: a cheap model, 2 tokens per sample; B: 4x dearer per sample; same prompts.
    a = CostCurve("tokens", fixed=10.0, per_k=2.0, problems=1)
    b = CostCurve("tokens", fixed=10.0, per_k=8.0, problems=1)
    assert samples_per_sample(a, b) == 4.0

    def cov_a(k: int) -> tuple[float, bool] | None:
        return (1 - 0.95**k, k > 8) if k <= 40 else None  # observed to 8, forecast beyond

    def cov_b(k: int) -> tuple[float, bool] | None:
        return (min(0.5, 1 - 0.7**k), False)  # B plateaus at 0.5

    pts = equal_cost(a, cov_a, b, cov_b, [1, 2, 10, 11])
    assert [p.cost for p in pts] == [18.0, 26.0, 90.0, 98.0]
    assert [p.k_a for p in pts] == [4, 8, 40, 44]
    assert pts[0].coverage_a == pytest.approx(1 - 0.95**4)  # 0.185
    assert pts[0].coverage_b == pytest.approx(0.3)
    assert pts[0].winner == "B" and not pts[0].a_forecast
    assert pts[1].winner == "B"  # 1 - 0.95^8 = 0.337 < 0.5
    assert pts[2].winner == "A" and pts[2].a_forecast  # 1 - 0.95^40 = 0.871 > 0.5
    assert pts[3].coverage_a is None and pts[3].winner is None  # beyond what A can say


def test_equal_cost_needs_one_unit() -> None:
    a = CostCurve("tokens", 0.0, 1.0, 1)
    b = CostCurve("flops", 0.0, 1.0, 1)
    with pytest.raises(ValueError, match="tokens and flops"):
        samples_per_sample(a, b)


def test_model_shape_validation() -> None:
    with pytest.raises(ValueError):
        ModelShape(params=0, layers=1, dim=1)
