"""LlamaCppBackend on the real smallest model (smollm2-135m-instruct), 2 threads."""

from __future__ import annotations

import asyncio
import ctypes
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends import (
    Backend,
    BackendError,
    BackendEvent,
    GenerationRequest,
    LlamaCppBackend,
    SampleFinished,
    SampleStarted,
    SamplingParams,
    TextDelta,
    open_backend,
)

pytestmark = pytest.mark.model

PROMPT = "def fibonacci(n):\n    "
STOPS = ("\n\n", "```", "\ndef ")


def _backend(
    path: Path, n_parallel: int = 4, n_ctx_per_seq: int = 256, *, flash_attn: bool = True
) -> LlamaCppBackend:
    return LlamaCppBackend(
        path,
        model_name="smollm2-135m-instruct",
        n_parallel=n_parallel,
        n_ctx_per_seq=n_ctx_per_seq,
        threads=2,
        flash_attn=flash_attn,
    )


async def _collect(backend: Backend, req: GenerationRequest) -> list[BackendEvent]:
    return [ev async for ev in backend.generate(req)]


def _texts(events: list[BackendEvent]) -> dict[int, str]:
    return {e.index: e.text for e in events if isinstance(e, SampleFinished)}


def _check_stream(
    req: GenerationRequest, events: list[BackendEvent], n_ctx_per_seq: int = 256
) -> list[SampleFinished]:
    """The per-index event grammar: Started, deltas, exactly one Finished."""
    started: set[int] = set()
    finished: dict[int, SampleFinished] = {}
    streamed: dict[int, str] = {}
    for ev in events:
        assert ev.problem_id == req.problem_id
        if isinstance(ev, SampleStarted):
            assert ev.index not in started
            started.add(ev.index)
        elif isinstance(ev, TextDelta):
            assert ev.index in started and ev.index not in finished
            assert ev.text
            streamed[ev.index] = streamed.get(ev.index, "") + ev.text
        else:
            assert ev.index in started and ev.index not in finished
            finished[ev.index] = ev
    assert sorted(finished) == sorted(req.indices)
    for i, fin in finished.items():
        assert fin.seed == req.seed_of(i)
        assert 1 <= fin.completion_tokens <= req.params.max_tokens or (
            fin.finish_reason == "stop" and fin.completion_tokens == 0
        )
        assert fin.finish_reason in {"stop", "length"}
        if fin.finish_reason == "length":  # max_tokens, or the sequence's context is full
            assert fin.completion_tokens == req.params.max_tokens or (
                fin.prompt_tokens + fin.completion_tokens == n_ctx_per_seq
            )
        assert fin.prompt_tokens > 0
        assert fin.seconds > 0
        assert streamed.get(i, "") == fin.text  # deltas add up to the text
        for stop in req.params.stop:
            assert stop not in fin.text
    return [finished[i] for i in req.indices]


async def test_six_samples_through_four_slots(small_model_path: Path) -> None:
    backend = _backend(small_model_path, n_parallel=4)
    try:
        req = GenerationRequest(
            "fib", PROMPT, tuple(range(6)), SamplingParams(max_tokens=24, stop=STOPS), 1000
        )
        events = await _collect(backend, req)
        fins = _check_stream(req, events)
        assert len({f.prompt_tokens for f in fins}) == 1
        # slots were refilled: samples 4 and 5 started only after some sample finished
        order = [(type(e).__name__, e.index) for e in events]
        first_finish = next(k for k, e in enumerate(order) if e[0] == "SampleFinished")
        assert order.index(("SampleStarted", 4)) > first_finish
        assert order.index(("SampleStarted", 5)) > first_finish
        assert sum(isinstance(e, SampleStarted) for e in events[:first_finish]) == 4
    finally:
        await backend.close()


async def test_sparse_indices_and_stop_strings(small_model_path: Path) -> None:
    backend = _backend(small_model_path, n_parallel=3)
    try:
        req = GenerationRequest(
            "sparse", PROMPT, (3, 7, 10, 42), SamplingParams(max_tokens=40, stop=("\n",)), 5
        )
        fins = _check_stream(req, await _collect(backend, req))
        assert [f.seed for f in fins] == [8, 12, 15, 47]
        # with "\n" as a stop string and 40 tokens of code, some samples end at it
        assert any(f.finish_reason == "stop" for f in fins)
    finally:
        await backend.close()


async def test_same_seed_same_text(small_model_path: Path) -> None:
    params = SamplingParams(temperature=1.0, max_tokens=32)
    req = GenerationRequest("det", PROMPT, (0, 1, 2), params, base_seed=77)
    backend = _backend(small_model_path, n_parallel=1)
    try:
        first = _texts(await _collect(backend, req))  # prompt decoded afresh
        again = _texts(await _collect(backend, req))  # prompt re-used from the KV cache
    finally:
        await backend.close()
    assert first == again
    fresh = _backend(small_model_path, n_parallel=1)
    try:
        assert _texts(await _collect(fresh, req)) == first
    finally:
        await fresh.close()


async def test_different_seeds_differ(small_model_path: Path) -> None:
    backend = _backend(small_model_path, n_parallel=4)
    try:
        req = GenerationRequest(
            "seeds", PROMPT, (0, 1, 2, 3), SamplingParams(temperature=1.0, max_tokens=24), 0
        )
        texts = _texts(await _collect(backend, req))
    finally:
        await backend.close()
    assert len(set(texts.values())) >= 3


async def test_greedy_ignores_seed(small_model_path: Path) -> None:
    backend = _backend(small_model_path, n_parallel=2)
    try:
        params = SamplingParams(temperature=0.0, max_tokens=16)
        a = _texts(await _collect(backend, GenerationRequest("g", PROMPT, (0,), params, 1)))
        b = _texts(await _collect(backend, GenerationRequest("g", PROMPT, (5,), params, 9)))
    finally:
        await backend.close()
    assert a[0] == b[5] and a[0]


async def test_aclose_mid_stream_aborts_and_backend_goes_on(small_model_path: Path) -> None:
    backend = _backend(small_model_path, n_parallel=4)
    try:
        long = GenerationRequest("long", PROMPT, tuple(range(8)), SamplingParams(max_tokens=200))
        stream = backend.generate(long)
        seen: list[BackendEvent] = []
        async for ev in stream:
            seen.append(ev)
            if sum(isinstance(e, TextDelta) for e in seen) >= 3:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        assert not any(isinstance(e, SampleFinished) for e in seen)
        req = GenerationRequest("next", "x = [1, 2,", (0, 1), SamplingParams(max_tokens=12))
        fins = _check_stream(req, await asyncio.wait_for(_collect(backend, req), 30))
        assert len(fins) == 2
        # the aborted request's sequences are gone: all slots are free again
        assert all(slot.job is None for slot in backend._slots)
    finally:
        await backend.close()


async def test_cancelling_the_consumer_task_aborts(small_model_path: Path) -> None:
    backend = _backend(small_model_path, n_parallel=2)
    try:
        started = asyncio.Event()

        async def consume() -> None:
            req = GenerationRequest("c", PROMPT, (0, 1, 2), SamplingParams(max_tokens=300))
            async for ev in backend.generate(req):
                if isinstance(ev, TextDelta):
                    started.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(started.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        req = GenerationRequest("after", PROMPT, (0,), SamplingParams(max_tokens=8))
        assert len(_check_stream(req, await _collect(backend, req))) == 1
    finally:
        await backend.close()


async def test_two_concurrent_requests_both_complete(small_model_path: Path) -> None:
    backend = _backend(small_model_path, n_parallel=4)
    try:
        a = GenerationRequest("A", PROMPT, tuple(range(5)), SamplingParams(max_tokens=16), 10)
        b = GenerationRequest(
            "B", "The capital of France is", tuple(range(3)), SamplingParams(max_tokens=16), 20
        )
        ev_a, ev_b = await asyncio.gather(_collect(backend, a), _collect(backend, b))
        fa, fb = _check_stream(a, ev_a), _check_stream(b, ev_b)
        assert fa[0].prompt_tokens != fb[0].prompt_tokens
    finally:
        await backend.close()


async def test_prompt_too_long_is_a_clear_error(small_model_path: Path) -> None:
    backend = _backend(small_model_path, n_parallel=2, n_ctx_per_seq=32)
    try:
        req = GenerationRequest("big", "word " * 200, (0,), SamplingParams(max_tokens=4))
        with pytest.raises(BackendError, match="n_ctx_per_seq"):
            await _collect(backend, req)
        # a sample reaching the end of its context stops with "length"
        ok = GenerationRequest("ok", PROMPT, (0,), SamplingParams(max_tokens=500))
        (fin,) = _check_stream(ok, await _collect(backend, ok), n_ctx_per_seq=32)
        assert fin.prompt_tokens + fin.completion_tokens <= 32
    finally:
        await backend.close()


async def test_prompt_kv_is_decoded_once_and_reused(small_model_path: Path) -> None:
    backend = _backend(small_model_path, n_parallel=2)
    try:
        req = GenerationRequest("kv", PROMPT, (0, 1, 2), SamplingParams(max_tokens=6))
        first = _check_stream(req, await _collect(backend, req))
        n_prefix = first[0].prompt_tokens - 1  # the last prompt token is decoded per sample
        # one sequence decodes the prompt; the other slot copies it, the third refills
        assert sorted(f.meta["prompt_tokens_reused"] for f in first) == [0, n_prefix, n_prefix]
        again = _check_stream(req, await _collect(backend, req))
        assert all(f.meta["prompt_tokens_reused"] == n_prefix for f in again)
        # a prompt sharing a prefix re-uses the common part
        longer = GenerationRequest("kv2", PROMPT + "if n", (0,), SamplingParams(max_tokens=4))
        (fin,) = _check_stream(longer, await _collect(backend, longer))
        assert 0 < fin.meta["prompt_tokens_reused"] < fin.prompt_tokens - 1
    finally:
        await backend.close()


async def test_long_prompt_in_several_batches_and_empty_prompt(small_model_path: Path) -> None:
    backend = _backend(small_model_path, n_parallel=2, n_ctx_per_seq=768)
    try:
        req = GenerationRequest("long", "word " * 560, (0, 1), SamplingParams(max_tokens=4))
        fins = _check_stream(req, await _collect(backend, req), n_ctx_per_seq=768)
        assert fins[0].prompt_tokens > 512  # more than one n_batch of prompt
        with pytest.raises(BackendError, match="empty"):
            await _collect(backend, GenerationRequest("e", "", (0,), SamplingParams()))
    finally:
        await backend.close()


async def test_open_backend_info_close_and_errors(small_model_path: Path) -> None:
    backend = open_backend("llama.cpp", "smollm2-135m-instruct", n_parallel=2, threads=2)
    assert isinstance(backend, Backend)
    assert backend.info.name == "llama.cpp"
    assert backend.info.model == "smollm2-135m-instruct"
    assert "2 parallel" in backend.info.detail
    await backend.start()
    await backend.start()  # idempotent
    req = GenerationRequest("e", PROMPT, (), SamplingParams(max_tokens=4))
    assert await _collect(backend, req) == []
    await backend.close()
    await backend.close()  # idempotent
    with pytest.raises(BackendError, match="closed"):
        await _collect(backend, GenerationRequest("e", PROMPT, (0,), SamplingParams()))
    with pytest.raises(BackendError, match="unknown backend"):
        open_backend("nope", "x")


async def test_missing_model_file_is_a_backend_error(tmp_path: Path) -> None:
    backend = LlamaCppBackend(tmp_path / "missing.gguf", model_name="missing")
    with pytest.raises(BackendError, match="does not exist"):
        await backend.start()


class _Reference:
    """An independent evaluation of the same model with llama-cpp-python's `Llama` class: the
    log-softmax (temperature 1) of the raw logits after each token.

    Logits of a quantized model on the CPU depend slightly on how tokens are batched (the
    reference itself moves by ~0.09 when the prompt's last token is decoded separately), so
    comparisons allow `TOL` per token. It uses the backend's attention kernel (flash attention
    by default): the two kernels differ by up to ~0.16 on a token, enough to break a near-tie
    of the small model's greedy path."""

    TOL = 0.15

    def __init__(self, path: Path, *, flash_attn: bool = True) -> None:
        import llama_cpp

        self.L = llama_cpp
        self.llm = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=256,
            n_threads=2,
            logits_all=True,
            flash_attn=flash_attn,
            verbose=False,
        )
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm.model)

    def eval(self, tokens: list[int]) -> np.ndarray:
        """Feed `tokens`; the log-probabilities of the next token."""
        self.llm.eval(tokens)
        logits = np.asarray(self.llm.scores[self.llm.n_tokens - 1], dtype=np.float64)
        top = logits.max()
        out: np.ndarray = logits - (top + np.log(np.exp(logits - top).sum()))
        return out

    def prompt(self, text: str) -> np.ndarray:
        self.llm.reset()  # type: ignore[no-untyped-call]
        return self.eval(self.llm.tokenize(text.encode(), add_bos=True, special=True))

    def is_eog(self, tok: int) -> bool:
        return bool(self.L.llama_vocab_is_eog(self.vocab, tok))

    def piece(self, tok: int) -> bytes:
        buf = ctypes.create_string_buffer(256)
        n = self.L.llama_token_to_piece(self.vocab, tok, buf, 256, 0, False)
        return buf.raw[: max(n, 0)]

    def close(self) -> None:
        self.llm.close()


def _reference_greedy(
    path: Path, prompt: str, max_tokens: int, *, flash_attn: bool = True
) -> tuple[str, float, int]:
    """The greedy text of `prompt` by `_Reference`, the sum of its tokens' log-probabilities
    (an end-of-generation token included) and how many tokens were scored."""
    ref = _Reference(path, flash_attn=flash_attn)
    try:
        lp = ref.prompt(prompt)
        total, count, tokens = 0.0, 0, []
        while count < max_tokens:
            tok = int(lp.argmax())
            total += float(lp[tok])
            count += 1
            if ref.is_eog(tok):
                break
            tokens.append(tok)
            lp = ref.eval([tok])
        return b"".join(ref.piece(t) for t in tokens).decode("utf-8", "replace"), total, count
    finally:
        ref.close()


def _assert_reference_greedy(
    fins: list[SampleFinished],
    path: Path,
    prompt: str,
    max_tokens: int,
    *,
    flash_attn: bool = True,
) -> tuple[float, int]:
    """Each greedy sample of `prompt` has `_reference_greedy`'s text (so the same tokens were
    scored), token count and summed log-probability (within `TOL` per token); returns the
    reference's (sum, count)."""
    text, total, count = _reference_greedy(path, prompt, max_tokens, flash_attn=flash_attn)
    for fin in fins:
        assert fin.text == text
        assert fin.meta["logprob_tokens"] == count
        assert fin.meta["sum_logprob"] == pytest.approx(total, abs=_Reference.TOL * count)
    return total, count


@pytest.mark.parametrize("flash_attn", [True, False], ids=["flash-attn", "plain-attn"])
async def test_logprobs_match_an_independent_greedy_evaluation(
    small_model_path: Path, flash_attn: bool
) -> None:
    backend = _backend(small_model_path, n_parallel=1, flash_attn=flash_attn)
    try:
        req = GenerationRequest("lp", PROMPT, (0,), SamplingParams(temperature=0.0, max_tokens=8))
        (fin,) = _check_stream(req, await _collect(backend, req))
    finally:
        await backend.close()
    total, count = _assert_reference_greedy(
        [fin], small_model_path, PROMPT, 8, flash_attn=flash_attn
    )
    assert total < 0
    assert fin.meta["mean_logprob"] == pytest.approx(fin.meta["sum_logprob"] / count)


async def test_logprob_of_sampled_tokens_is_under_the_raw_model(small_model_path: Path) -> None:
    """Sampled at temperature 0.7 / top-p 0.9 in a batch of four sequences, each one-token
    sample's log-probability is the raw model's (temperature 1), not the tempered one's."""
    backend = _backend(small_model_path, n_parallel=4)
    params = SamplingParams(temperature=0.7, top_p=0.9, max_tokens=1)
    try:
        req = GenerationRequest("lp1", PROMPT, tuple(range(6)), params, base_seed=3)
        fins = _check_stream(req, await _collect(backend, req))
    finally:
        await backend.close()
    ref = _Reference(small_model_path)
    try:
        lp = ref.prompt(PROMPT)
        likely = [int(t) for t in np.flatnonzero(lp > -12.0)]
        pieces = {t: ref.piece(t).decode("utf-8", "replace") for t in likely}
        eog = [t for t in likely if ref.is_eog(t)]
    finally:
        ref.close()
    tempered = lp / 0.7 - np.log(np.exp(lp / 0.7).sum())
    for fin in fins:
        assert fin.meta["logprob_tokens"] == 1
        got = fin.meta["sum_logprob"]
        tokens = eog if fin.text == "" else [t for t in likely if pieces[t] == fin.text]
        assert tokens, f"no likely token reads {fin.text!r}"
        t = min(tokens, key=lambda t: abs(lp[t] - got))
        assert abs(lp[t] - got) < _Reference.TOL, (fin.text, got, lp[t])
        assert abs(lp[t] - got) < abs(tempered[t] - got)  # temperature 1, not 0.7


async def test_live_sequences_are_packed_and_a_moved_one_goes_on(
    small_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When short samples end beside long ones, the long ones move to the lowest KV streams
    (llama.cpp splits a step at every gap in the sequence ids), and a moved sequence goes on
    from its own KV cache: its greedy text and log-probabilities are the reference's."""
    backend = _backend(small_model_path, n_parallel=4)
    moves: list[tuple[int, int]] = []
    steps: list[list[int]] = []
    move, decode = backend._move, backend._decode

    def spy_move(live: Any, free: Any) -> None:
        moves.append((live.seq_id, free.seq_id))
        move(live, free)

    def spy_decode(entries: list[tuple[int, int, int, bool]]) -> None:
        if all(e[3] for e in entries):  # a generation step (prompts want no logits)
            steps.append([e[2] for e in entries])
        decode(entries)

    monkeypatch.setattr(backend, "_move", spy_move)
    monkeypatch.setattr(backend, "_decode", spy_decode)
    greedy = SamplingParams(temperature=0.0, max_tokens=8)
    try:
        short = GenerationRequest(
            "short",
            "The capital of France is",
            (0, 1),
            SamplingParams(temperature=0.0, max_tokens=2),
        )
        long = GenerationRequest("long", PROMPT, (0, 1), greedy)
        ev_s, ev_l = await asyncio.gather(_collect(backend, short), _collect(backend, long))
        _check_stream(short, ev_s)
        fins = _check_stream(long, ev_l)
    finally:
        await backend.close()
    assert moves, "no sequence was moved"
    assert all(ids == list(range(len(ids))) for ids in steps), steps
    _assert_reference_greedy(fins, small_model_path, PROMPT, 8)
