"""The breadth-first choice of a chunk's problem: the first of the run's order with the fewest
samples drawn among the problems that may draw, asking about as few problems as it can."""

from __future__ import annotations

import random

from monkeys_scheduler._policy import ProblemState, _fewest_drawn


def test_fewest_drawn_is_the_first_eligible_minimum() -> None:
    rng = random.Random(16)
    for _ in range(500):
        order = [f"p{i}" for i in range(rng.randint(0, 12))]
        states = {p: ProblemState(budget=9, drawn=set(range(rng.randint(0, 4)))) for p in order}
        allowed = {p for p in order if rng.random() < 0.6}
        asked: list[str] = []

        def ok(pid: str, allowed: set[str] = allowed, asked: list[str] = asked) -> bool:
            asked.append(pid)
            return pid in allowed

        fewest = min((len(states[p].drawn) for p in allowed), default=None)
        expected = next((p for p in order if p in allowed and len(states[p].drawn) == fewest), None)
        assert _fewest_drawn(states, order, ok) == expected
        assert len(asked) <= len(order)


def test_a_full_round_asks_about_one_problem() -> None:
    """Every problem drawn alike (a round of a uniform run): only the first is asked."""
    order = [f"p{i}" for i in range(500)]
    states = {p: ProblemState(budget=10_000, drawn=set(range(1024))) for p in order}
    asked: list[str] = []

    def ok(pid: str) -> bool:
        asked.append(pid)
        return True

    assert _fewest_drawn(states, order, ok) == "p0"
    assert asked == ["p0"]
