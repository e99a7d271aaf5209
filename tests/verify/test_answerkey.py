"""Grouping answers by canonical keys gives the groups of the pairwise scan (every answer
compared with every earlier representative), with O(1) comparisons per answer."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.verify.test_math import DIFFERENT, EQUIVALENT
from verify import AnswerGroups, answers_match, extract_answer

HERE = Path(__file__).parent


def pairwise(answers: Sequence[str], match: Callable[[str, str], bool]) -> list[str]:
    """The reference: each answer's representative by scanning every earlier one."""
    reps: list[str] = []
    seen: dict[str, str] = {}
    for a in answers:
        if a not in seen:
            seen[a] = next((r for r in reps if match(a, r)), a)
            if seen[a] == a:
                reps.append(a)
    return [seen[a] for a in answers]


def keyed(answers: Sequence[str]) -> list[str]:
    groups = AnswerGroups()
    return [groups.key(a) for a in answers]


def corpus() -> list[str]:
    """Every answer of the math tests and of the adjudicated Math-Verify cross-check."""
    out = [a for pair in EQUIVALENT + DIFFERENT for a in pair]
    data = json.loads((HERE / "math_crosscheck_adjudicated.json").read_text())
    for group in data["groups"]:
        for answer, reference, solution in group["pairs"]:
            got = extract_answer(answer) if solution else answer
            out.extend(x for x in (got, reference) if x)
    near = ["1", "1.000001", "0.999999", "1.0000005", "100%", "1%", "0.01", "50%", "0.5"]
    return out + near + ["0.0005", "0.0005000001", "1/3", "0.3333333", "x+1", "1+x", "-2"]


def test_same_groups_as_the_pairwise_scan_on_every_test_answer() -> None:
    answers = corpus()
    assert len(set(answers)) > 300
    for seed in range(3):
        shuffled = answers[:]
        random.Random(seed).shuffle(shuffled)
        assert keyed(shuffled) == pairwise(shuffled, answers_match)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(-50, 50).map(str),
            st.floats(0.5, 2.0).map(lambda v: f"{v:.7f}"),
            st.integers(1, 40).map(lambda n: f"{n}%"),
            st.integers(1, 9).map(lambda n: rf"\frac{{{n}}}{{4}}"),
            st.integers(1, 9).map(lambda n: f"{n / 4}"),
        ),
        max_size=40,
    )
)
def test_same_groups_on_numbers_near_each_other(answers: list[str]) -> None:
    assert keyed(answers) == pairwise(answers, answers_match)


def test_distinct_numbers_need_few_comparisons() -> None:
    calls = 0

    def counting(a: str, b: str) -> bool:
        nonlocal calls
        calls += 1
        return answers_match(a, b)

    rng = random.Random(5)
    answers = [str(rng.randint(-(10**6), 10**6)) for _ in range(5000)] + ["17", "17.0", "017"]
    groups = AnswerGroups(counting)
    keys = [groups.key(a) for a in answers]
    assert keys[-3:] == [keys[-3]] * 3  # "17", "17.0" and "017" vote together
    assert calls < len(answers)  # the pairwise scan makes about n^2 / 2 = 12.5 million
