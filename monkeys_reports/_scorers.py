"""Scorers: a number per sample for best-of-k and score-weighted vote, without a verifier.

A scorer is built from a spec ``NAME[:KEY=VALUE,...]`` by the factory registered with
``@scorer(NAME)``, and maps ``(problem, sample) -> float | None`` (None: cannot score it).
Scores are "higher is better" and non-negative (the weighted vote sums them), e.g.
probabilities.

Shipped:

- ``mean_logprob``: ``exp(mean token log-probability)`` of the sample under the model that
  drew it, i.e. the geometric mean of its token probabilities, in (0, 1]. Read from the
  sample's ``meta["mean_logprob"]`` (or ``sum_logprob / logprob_tokens``), which
  the llama.cpp backend stores. No model call; None for samples without it.
- ``judge``: a reward model served through an OpenAI-compatible ``/v1/completions`` endpoint
  (``vllm serve``, ``llama-server``, ``python -m llama_cpp.server --logits_all true``). The
  model reads the problem, the sample and a yes/no question; the score is
  ``P(yes) / (P(yes) + P(no))`` from the top log-probabilities of its one-token answer.
  Options: ``url`` (default ``http://127.0.0.1:8000``), ``model`` (default ``default``),
  ``api_key``, ``timeout`` (seconds, default 60), ``top`` (log-probabilities asked, 10).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from monkeys_suites import Problem
from store import SampleRecord

Scorer = Callable[[Problem, SampleRecord], float | None]
ScorerFactory = Callable[[Mapping[str, str]], Scorer]


class ScorerError(ValueError):
    """A scorer cannot be built or cannot reach its model; the message says why."""


@dataclass(frozen=True)
class ScorerEntry:
    name: str
    factory: ScorerFactory
    options: tuple[str, ...]
    help: str


SCORERS: dict[str, ScorerEntry] = {}


def scorer(
    name: str, *, options: tuple[str, ...] = (), help: str = ""
) -> Callable[[ScorerFactory], ScorerFactory]:
    """Register `factory(options) -> Scorer` under `name`."""

    def deco(factory: ScorerFactory) -> ScorerFactory:
        SCORERS[name] = ScorerEntry(name, factory, options, help)
        return factory

    return deco


def make_scorer(spec: str) -> Scorer:
    """``NAME[:KEY=VALUE,...]`` -> a scorer."""
    name, _, rest = spec.partition(":")
    entry = SCORERS.get(name.strip())
    if entry is None:
        raise ScorerError(f"unknown scorer {name!r}; scorers: {', '.join(sorted(SCORERS))}")
    options: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        k, eq, v = part.partition("=")
        if not eq or k.strip() not in entry.options:
            known = ", ".join(entry.options) or "none"
            raise ScorerError(f"scorer {spec!r}: bad option {part!r} (options: {known})")
        options[k.strip()] = v.strip()
    return entry.factory(options)


# ---- mean_logprob ---------------------------------------------------------------------------


def mean_logprob(sample: SampleRecord) -> float | None:
    """The sample's mean token log-probability from its stored meta, or None."""
    m = sample.meta
    n = m.get("logprob_tokens", float(sample.completion_tokens))
    if n <= 0:
        return None  # no token was scored (an empty sample): nothing to say
    v = m.get("mean_logprob")
    if v is None and "sum_logprob" in m:
        v = m["sum_logprob"] / n
    if v is None or not math.isfinite(v):
        return None
    return float(v)


@scorer("mean_logprob", help="exp(mean token log-probability) stored by the backend")
def _mean_logprob(options: Mapping[str, str]) -> Scorer:
    def score(problem: Problem, sample: SampleRecord) -> float | None:
        v = mean_logprob(sample)
        return None if v is None else math.exp(min(v, 0.0))

    return score


# ---- judge: a reward model through an OpenAI-compatible endpoint ------------------------------

# Ends mid-sentence so that the next token is the verdict (" yes" / " no"), not a newline.
JUDGE_TEMPLATE = "{prompt}{completion}\n\nIs the solution above correct (yes or no)? The answer is"
_YES = {"yes", "y", "true", "correct"}
_NO = {"no", "n", "false", "incorrect"}


def yes_probability(top_logprobs: Mapping[str, float]) -> float | None:
    """``P(yes) / (P(yes) + P(no))`` over the answer tokens (case and spaces ignored)."""
    p_yes = p_no = 0.0
    for tok, lp in top_logprobs.items():
        t = tok.strip().lower()
        if t in _YES:
            p_yes += math.exp(lp)
        elif t in _NO:
            p_no += math.exp(lp)
    if p_yes + p_no == 0.0:
        return None
    return p_yes / (p_yes + p_no)


@dataclass
class Judge:
    """Scores a sample by asking a served model whether it is correct (see module doc)."""

    url: str = "http://127.0.0.1:8000"
    model: str = "default"
    api_key: str = ""
    timeout: float = 60.0
    top: int = 10
    template: str = JUDGE_TEMPLATE

    def __post_init__(self) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._client = httpx.Client(
            base_url=self.url.rstrip("/"), timeout=self.timeout, headers=headers
        )

    def prompt(self, problem: Problem, sample: SampleRecord) -> str:
        return self.template.replace("{prompt}", problem.prompt).replace(
            "{completion}", sample.text
        )

    def __call__(self, problem: Problem, sample: SampleRecord) -> float | None:
        body = {
            "model": self.model,
            "prompt": self.prompt(problem, sample),
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": self.top,
        }
        try:
            r = self._client.post("/v1/completions", json=body)
        except httpx.HTTPError as e:
            raise ScorerError(f"judge at {self.url}: {e}") from e
        if r.status_code != 200:
            raise ScorerError(f"judge at {self.url}: HTTP {r.status_code}: {r.text[:300]}")
        try:
            choice = r.json()["choices"][0]
            tops = choice["logprobs"]["top_logprobs"]
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise ScorerError(
                f"judge at {self.url}: no log-probabilities in the answer ({e!r}); the server "
                "must return logprobs for /v1/completions (llama_cpp.server: --logits_all true)"
            ) from e
        if not tops or not isinstance(tops[0], dict):
            return None
        return yes_probability({str(k): float(v) for k, v in tops[0].items()})

    def close(self) -> None:
        self._client.close()


@scorer(
    "judge",
    options=("url", "model", "api_key", "timeout", "top"),
    help="P(yes) of a reward model behind an OpenAI-compatible /v1/completions endpoint",
)
def _judge(options: Mapping[str, str]) -> Scorer:
    try:
        return Judge(
            url=options.get("url", "http://127.0.0.1:8000"),
            model=options.get("model", "default"),
            api_key=options.get("api_key", ""),
            timeout=float(options.get("timeout", "60")),
            top=int(options.get("top", "10")),
        )
    except ValueError as e:
        raise ScorerError(f"judge: bad option ({e})") from None
