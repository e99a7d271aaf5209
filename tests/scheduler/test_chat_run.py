"""A chat run through the scheduler: a reasoning model's thinking is stored apart from the
answer and only the answer is verified; a chat sample cut off by max_tokens fails as truncated;
the prompt the model saw is stored. Real parts: the replay backend on a JSONL file (texts in
DeepSeek-R1's and Qwen3's formats), llama.cpp with smollm2's own template, the local sandbox,
a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends import Backend, LlamaCppBackend, ReplayBackend, SamplingParams
from monkeys_scheduler import TRUNCATED, Scheduler
from monkeys_suites import Problem, ProblemKind, math_chat
from store import RunSpec, Store
from verify import LocalSandbox, Status, Verifier

pytestmark = pytest.mark.asyncio

PROBLEM = Problem(
    id="m/0",
    prompt="Question: What is 2 + 2?\nAnswer:",
    kind=ProblemKind.FINAL_ANSWER,
    answer="4",
    messages=math_chat("What is 2 + 2?"),
)


async def _run(tmp_path: Path, backend: Backend, max_tokens: int, n: int) -> tuple[Store, int]:
    sandbox = LocalSandbox()
    await sandbox.start()
    await backend.start()
    try:
        store = Store.open(tmp_path / "m.db")
        spec = RunSpec(
            suite="chat",
            problem_ids=(PROBLEM.id,),
            model="m",
            backend="replay",
            params=SamplingParams(temperature=0.0, top_p=1.0, max_tokens=max_tokens),
            samples_per_problem=n,
            sandbox="local",
            prompt_format="chat",
        )
        run_id = store.create_run(spec, (PROBLEM,))
        sched = Scheduler(store, run_id, backend, Verifier(sandbox), sink=lambda ev: None)
        assert await sched.run() == "done"
        return store, run_id
    finally:
        await backend.close()
        await sandbox.close()


async def test_thinking_is_stored_apart_and_only_the_answer_is_verified(tmp_path: Path) -> None:
    rows = [
        # Qwen3: thinking that reaches a wrong value, then the right answer
        {"text": "<think>\nMaybe \\boxed{5}? No: 4.\n</think>\n\n\\boxed{4}"},
        # DeepSeek-R1 distill: the right value only in the thinking, a wrong answer
        {"text": "2 + 2 = \\boxed{4}, surely.\n</think>\n\nThe answer is \\boxed{5}."},
        # cut off by max_tokens while still thinking (the right value inside)
        {"text": "<think>\nSo it is \\boxed{4} and then", "finish_reason": "length"},
    ]
    data = tmp_path / "samples.jsonl"
    data.write_text(
        "\n".join(json.dumps({"problem_id": "m/0", "index": i, **r}) for i, r in enumerate(rows))
    )
    store, run_id = await _run(tmp_path, ReplayBackend(data), 64, 3)
    with store:
        s0, s1, s2 = store.samples(run_id)
        assert s0.text == "\\boxed{4}" and s0.thinking == "Maybe \\boxed{5}? No: 4."
        assert s0.verdict is not None and s0.verdict.status is Status.PASS
        assert s1.thinking.startswith("2 + 2") and "</think>" not in s1.text
        assert s1.verdict is not None and s1.verdict.status is Status.FAIL
        assert (s2.text, s2.truncated) == ("", True)
        assert s2.verdict is not None and s2.verdict.status is Status.FAIL
        assert s2.verdict.failing_test == TRUNCATED
        assert store.get_run(run_id).prompt_format == "chat"


@pytest.mark.model
async def test_the_rendered_prompt_is_stored(tmp_path: Path, small_model_path: Path) -> None:
    backend = LlamaCppBackend(
        small_model_path, model_name="smollm2", n_parallel=2, n_ctx_per_seq=256, threads=2
    )
    store, run_id = await _run(tmp_path, backend, 4, 2)
    with store:
        rendered = store.rendered_prompt(run_id, "m/0")
        assert rendered is not None
        assert rendered.endswith("<|im_start|>assistant\n")
        assert PROBLEM.messages[0].content in rendered
        assert (store.run_problems(run_id)[0].messages) == PROBLEM.messages
        for s in store.samples(run_id):
            assert s.truncated and s.verdict is not None
            assert s.verdict.failing_test == TRUNCATED
