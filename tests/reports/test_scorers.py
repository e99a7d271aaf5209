"""Scorers: the registry, mean_logprob from stored meta, and the judge against a real
OpenAI-compatible server (llama-cpp-python's own, on loopback, with the smallest model)."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reports import SCORERS, Judge, ScorerError, make_scorer, mean_logprob, yes_probability
from store import SampleRecord
from suites import Problem, ProblemKind

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def judge_server(small_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with the smallest model, logits kept for
    log-probabilities (`--logits_all True`)."""
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError as e:
        if os.environ.get("MONKEYS_REQUIRE_MODEL", "") not in ("", "0"):
            pytest.fail(f"llama-cpp-python's server is required here but unavailable ({e})")
        pytest.skip(f"llama-cpp-python's server unavailable ({e})")
    port = _free_port()
    log = tmp_path_factory.mktemp("judge") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "llama_cpp.server",
                "--model", str(small_model_path), "--model_alias", "judge",
                "--host", "127.0.0.1", "--port", str(port),
                "--n_ctx", "1024", "--n_threads", "2", "--logits_all", "True",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


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
