"""What is verified is byte for byte what is stored: a lone surrogate (not UTF-8) becomes U+FFFD
before the sample is both stored and verified. Real parts: the replay backend on a JSONL file,
the local sandbox, a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends import ReplayBackend, SamplingParams
from monkeys_scheduler import Scheduler
from monkeys_suites import Problem, ProblemKind
from store import RunSpec, Store
from verify import LocalSandbox, Status, Verifier

pytestmark = pytest.mark.asyncio


async def test_a_lone_surrogate_is_verified_as_stored(tmp_path: Path) -> None:
    problem = Problem(
        id="t/0",
        prompt="def f():\n",
        kind=ProblemKind.FUNCTION_TESTS,
        tests="def check(c):\n    assert c() == '\\ufffd'\n",
        entry_point="f",
        time_limit_s=5.0,
    )
    data = tmp_path / "samples.jsonl"
    # json.dumps writes the lone surrogate as the escape \ud800, which reads back as one
    data.write_text(json.dumps({"problem_id": "t/0", "index": 0, "text": "    return '\ud800'\n"}))
    backend = ReplayBackend(data)
    sandbox = LocalSandbox()
    await sandbox.start()
    await backend.start()
    try:
        with Store.open(tmp_path / "m.db") as store:
            spec = RunSpec(
                suite="surrogates",
                problem_ids=("t/0",),
                model=str(data),
                backend="replay",
                params=SamplingParams(temperature=0.0, top_p=1.0, max_tokens=16),
                samples_per_problem=1,
                seed=0,
                sandbox="local",
            )
            run_id = store.create_run(spec, (problem,))
            sched = Scheduler(store, run_id, backend, Verifier(sandbox), sink=lambda ev: None)
            assert await sched.run() == "done"
            (sample,) = store.samples(run_id)
            assert sample.text == "    return '\ufffd'\n"
            assert sample.verdict is not None and sample.verdict.status is Status.PASS
    finally:
        await backend.close()
        await sandbox.close()
