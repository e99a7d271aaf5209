"""Token sampling (backends._sampling) against brute force: the nucleus by a full sort, the
draw's distribution by counting, the log-probability by an exact log-softmax."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends._sampling import make_rng, nucleus, sample_token


def brute_nucleus(row: np.ndarray, top_p: float) -> list[int]:
    """Most probable first (ties: lower id first), until the mass reaches top_p."""
    p = np.exp(row.astype(np.float64) - row.max())
    p /= p.sum()
    order = sorted(range(row.size), key=lambda i: (-row[i], i))
    out, mass = [], 0.0
    for i in order:
        out.append(i)
        mass += p[i]
        if mass >= top_p * (1 - 1e-12):
            break
    return out


@settings(max_examples=300, deadline=None)
@given(
    logits=st.lists(st.floats(-30, 30, allow_nan=False, width=32), min_size=1, max_size=60),
    top_p=st.floats(0.05, 1.0),
)
def test_nucleus_matches_a_full_sort(logits: list[float], top_p: float) -> None:
    row = np.array(logits, dtype=np.float32)
    ids, log_z = nucleus(row, top_p)
    got = ids.tolist()
    if top_p < 1.0:
        # The most probable tokens first (ties: lower id first), as a full sort orders them ...
        order = sorted(range(row.size), key=lambda i: (-row[i], i))
        assert got == order[: len(got)]
        # ... and the shortest such prefix whose mass reaches top_p: exactly, up to the float32
        # rounding of the row (a token's mass moves by ~1e-7; tokens of less mass than that
        # may fall either side of the cut).
        p = np.exp(row.astype(np.float64) - row.max())
        p /= p.sum()
        assert p[got].sum() >= top_p - 1e-6
        assert p[got[:-1]].sum() < top_p + 1e-6
    else:
        assert got == list(range(row.size))
    exact = float(np.logaddexp.reduce(row.astype(np.float64)))
    assert log_z == pytest.approx(exact, abs=1e-5)


def test_nucleus_widens_its_window_when_the_distribution_is_flat() -> None:
    row = np.zeros(300_010, dtype=np.float32)
    row[:10] = 12.1  # 10 tokens above the first window (12 below the top), ~86 % of the mass
    ids, _ = nucleus(row, 0.9)
    assert ids.size == len(brute_nucleus(row, 0.9)) > 10


def test_draws_follow_the_nucleus_at_the_temperature() -> None:
    row = np.log(np.array([0.5, 0.2, 0.15, 0.1, 0.05], dtype=np.float32))
    temperature, top_p = 0.7, 0.8  # nucleus {0, 1, 2}: 0.5 + 0.2 + 0.15 = 0.85 >= 0.8
    rng = make_rng(42)
    n = 40_000
    counts = np.zeros(5)
    for _ in range(n):
        tok, _ = sample_token(row, temperature, top_p, rng)
        counts[tok] += 1
    w = np.array([0.5, 0.2, 0.15]) ** (1 / temperature)
    want = w / w.sum()
    assert counts[3] == counts[4] == 0
    assert np.allclose(counts[:3] / n, want, atol=0.01)


def test_same_seed_same_tokens_and_exact_logprobs() -> None:
    rng0 = np.random.default_rng(0)
    rows = [(rng0.standard_normal(3000) * 4).astype(np.float32) for _ in range(30)]
    a = [sample_token(r, 0.8, 0.95, make_rng(7)) for r in rows]
    b = [sample_token(r, 0.8, 0.95, make_rng(7)) for r in rows]
    assert a == b
    c = [sample_token(r, 0.8, 0.95, make_rng(8)) for r in rows]
    assert [t for t, _ in a] != [t for t, _ in c]
    for row, (tok, lp) in zip(rows, a, strict=True):
        exact = float(row[tok]) - float(np.logaddexp.reduce(row.astype(np.float64)))
        assert lp == pytest.approx(exact, abs=1e-5)


def test_temperature_zero_is_greedy_whatever_the_seed() -> None:
    row = np.array([1.0, 3.0, 3.0, -2.0], dtype=np.float32)
    picks = {sample_token(row, 0.0, 0.9, make_rng(s))[0] for s in range(20)}
    assert picks == {1}
    _, lp = sample_token(row, 0.0, 0.9, make_rng(0))
    assert lp == pytest.approx(3.0 - math.log(math.exp(1) + 2 * math.exp(3) + math.exp(-2)))
