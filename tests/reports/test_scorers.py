"""Scorers: the registry, mean_logprob from stored meta, and the judge against a real
OpenAI-compatible server (llama-cpp-python's own, on loopback, with the smallest model)."""

from __future__ import annotations

import math
import socket
from collections.abc import Callable, Sequence

import httpx
import pytest

from monkeys_reports import SCORERS, Judge, ScorerError, make_scorer, mean_logprob, yes_probability
from monkeys_suites import Problem, ProblemKind
from store import SampleRecord

PROBLEM = Problem(id="p", prompt="Q: What is 2+2?\nA:", kind=ProblemKind.FINAL_ANSWER, answer="4")


def _sample(text: str = " 4", ct: int = 2, meta: dict[str, float] | None = None) -> SampleRecord:
    return SampleRecord(1, "p", 0, 0, text, 9, ct, "stop", 0.1, 0.0, None, meta or {})


def test_mean_logprob_scorer_reads_the_stored_meta() -> None:
    score = make_scorer("mean_logprob")
    assert score(PROBLEM, _sample(meta={"mean_logprob": -0.5})) == pytest.approx(math.exp(-0.5))
    # from the sum when the mean is absent: sum / logprob_tokens, else / completion tokens
    s = _sample(ct=4, meta={"sum_logprob": -2.0, "logprob_tokens": 2.0})
    assert mean_logprob(s) == -1.0
    assert mean_logprob(_sample(ct=4, meta={"sum_logprob": -2.0})) == -0.5
    assert score(PROBLEM, _sample()) is None  # nothing stored: no score
    assert score(PROBLEM, _sample(ct=0, meta={"mean_logprob": 0.0, "logprob_tokens": 0})) is None
    assert mean_logprob(_sample(meta={"mean_logprob": float("nan")})) is None
    # higher log-probability, higher score; always in (0, 1]
    a = score(PROBLEM, _sample(meta={"mean_logprob": -0.1}))
    b = score(PROBLEM, _sample(meta={"mean_logprob": -3.0}))
    assert a is not None and b is not None and 1.0 >= a > b > 0.0


def test_registry_and_specs() -> None:
    assert {"mean_logprob", "judge"} <= set(SCORERS)
    with pytest.raises(ScorerError, match="unknown scorer 'oracle'"):
        make_scorer("oracle")
    with pytest.raises(ScorerError, match="bad option 'color=red'"):
        make_scorer("judge:color=red")
    with pytest.raises(ScorerError, match="bad option"):
        make_scorer("judge:timeout=soon")
    j = make_scorer("judge:url=http://127.0.0.1:9/,model=m,top=5")
    assert isinstance(j, Judge) and j.url == "http://127.0.0.1:9/" and j.top == 5
    assert j.prompt(PROBLEM, _sample(" 4")).startswith("Q: What is 2+2?\nA: 4\n\nIs the solution")
    j.close()


def test_yes_probability_by_hand() -> None:
    lp = {" yes": math.log(0.3), " Yes": math.log(0.1), " no": math.log(0.2), ":": math.log(0.4)}
    assert yes_probability(lp) == pytest.approx(0.4 / 0.6)
    assert yes_probability({" No": math.log(0.5)}) == 0.0
    assert yes_probability({"\n": -0.1, "1": -2.0}) is None


def test_judge_reports_an_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: nothing listens there
    j = Judge(url=f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(ScorerError, match=f"judge at http://127.0.0.1:{port}"):
        j(PROBLEM, _sample())


# ---- the judge against a real server ---------------------------------------------------------


@pytest.fixture(scope="module")
def judge_server(llama_server_factory: Callable[[str, Sequence[str]], str]) -> str:
    """llama-cpp-python's OpenAI-compatible server with the smallest model, logits kept for
    log-probabilities (`--logits_all True`)."""
    return llama_server_factory("judge", ["--n_ctx", "1024", "--logits_all", "True"])


def test_judge_scores_with_a_served_model(judge_server: str) -> None:
    judge = make_scorer(f"judge:url={judge_server},model=judge,top=20")
    assert isinstance(judge, Judge)
    scores = [judge(PROBLEM, _sample(t)) for t in (" 4", " 5", " The answer is 4.")]
    assert all(s is not None and 0.0 <= s <= 1.0 for s in scores), scores
    # the score is exactly P(yes) / (P(yes) + P(no)) of the server's own top log-probabilities
    r = httpx.post(
        f"{judge_server}/v1/completions",
        json={
            "model": "judge",
            "prompt": judge.prompt(PROBLEM, _sample(" 5")),
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": 20,
        },
        timeout=60,
    )
    tops = r.json()["choices"][0]["logprobs"]["top_logprobs"][0]
    assert scores[1] == pytest.approx(yes_probability(tops))
    # deterministic: the same sample scores the same
    assert judge(PROBLEM, _sample(" 5")) == pytest.approx(scores[1])
    judge.close()
