"""The four backends as the session layer opens them (`monkeys_tui._session`): the registry,
run options and their errors, run identity (resume finds the run), and replay runs driven by
the real scheduler and stored in a real SQLite file: over a suite (texts verified for real in
the local sandbox) and over the replay files' own problems (their recorded verdicts)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from backends import (
    BackendError,
    ReplayBackend,
    SamplingParams,
    backend_entries,
    backend_names,
    open_backend,
)
from monkeys_scheduler import Notice, RunEvent, Scheduler, SchedulerConfig
from monkeys_suites import Problem, ProblemKind
from monkeys_tui._session import (
    REPLAY_SUITE,
    RecordedVerifier,
    RunOptions,
    make_backend,
    make_sandbox,
    make_verifier,
    prepare_run,
    scheduler_config,
)
from store import RunRecord, Store
from verify import Status, Verifier

HE0_RIGHT = (
    "    for i, a in enumerate(numbers):\n"
    "        for j, b in enumerate(numbers):\n"
    "            if i != j and abs(a - b) < threshold:\n"
    "                return True\n"
    "    return False\n"
)
HE0_WRONG = "    return True\n"


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _paper_yaml(path: Path, samples: list[str], corrects: list[bool] | None) -> None:
    doc: dict[str, object] = {"prompt": f"Question {path.stem}?\nAnswer:", "samples": samples}
    if corrects is not None:
        doc["is_corrects"] = corrects
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")


async def _drive(
    store: Store, run_id: int, opts: RunOptions, verifier: object, sink: list[RunEvent]
) -> str:
    run = store.get_run(run_id)
    backend = make_backend(run, opts)
    await backend.start()
    try:
        scheduler = Scheduler(
            store,
            run_id,
            backend,
            verifier,  # type: ignore[arg-type]
            sink=sink.append,
            config=SchedulerConfig(chunk_size=4),
        )
        return await asyncio.wait_for(scheduler.run(), 60)
    finally:
        await backend.close()


# ---- registry ------------------------------------------------------------------------------


def test_all_four_backends_are_registered_with_their_options() -> None:
    assert set(backend_names()) == {"llama.cpp", "openai", "vllm", "replay"}
    entries = {e.name: e for e in backend_entries()}
    assert {"n_parallel", "threads", "n_gpu_layers"} <= set(entries["llama.cpp"].options)
    assert {"base_url", "api_key", "concurrency", "max_n"} <= set(entries["openai"].options)
    assert set(entries["vllm"].options) == {"engine_args", "max_n"}
    assert set(entries["replay"].options) == {"speed"}
    assert all(e.summary for e in entries.values())


def test_open_backend_errors_name_the_option(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match=r"'replay' has no option 'n_parallel'; its options"):
        open_backend("replay", str(tmp_path), n_parallel=4)
    with pytest.raises(BackendError, match=r"'openai' needs the option\(s\) base_url"):
        open_backend("openai", "m")
    with pytest.raises(BackendError, match=r"backend 'openai': base_url must start with http"):
        open_backend("openai", "m", base_url="localhost:8000")
    with pytest.raises(BackendError, match=r"backend 'replay': speed must be > 0"):
        open_backend("replay", str(tmp_path), speed=-1.0)
    backend = open_backend("vllm", "Qwen/Qwen2.5-0.5B-Instruct", max_n=8)
    assert backend.info.name == "vllm" and backend.info.model == "Qwen/Qwen2.5-0.5B-Instruct"


# ---- options and identity ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"backend": "nope"}, "--backend must be one of"),
        ({"backend": "openai"}, "--backend openai needs --base-url"),
        ({"backend": "openai", "base_url": "gpu:8000"}, "must start with http"),
        ({"base_url": "http://x:1"}, "--base-url is an option of --backend openai"),
        ({"served_model": "m"}, "--served-model is an option of --backend openai"),
        ({"replay": Path("x.jsonl")}, "--replay is an option of --backend replay"),
        ({"backend": "replay"}, "--backend replay needs --replay PATH"),
        ({"backend": "replay", "replay": Path("x"), "speed": 0.0}, "--speed must be > 0"),
        ({"suite": REPLAY_SUITE}, "needs --backend replay"),
        (
            {"backend": "openai", "base_url": "http://x:1", "api_key_env": "sk-abc123"},
            "NAME of an environment variable",
        ),
        (
            {"backend": "openai", "base_url": "http://x:1", "api_key_env": "MONKEYS_NO_SUCH_VAR"},
            "MONKEYS_NO_SUCH_VAR: that environment variable is not set",
        ),
        ({"backend": "openai", "base_url": "http://x:1", "concurrency": 0}, "--concurrency"),
    ],
)
def test_bad_backend_options_get_clear_errors(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RunOptions(**fields).validate()  # type: ignore[arg-type]


def test_identity_distinguishes_backends_and_servers(tmp_path: Path) -> None:
    local = RunOptions(model="smollm2-135m-instruct")
    assert local.identity() == ("llama.cpp", "smollm2-135m-instruct")
    served = RunOptions(
        backend="openai", base_url="http://gpu:8000/v1/", served_model="Qwen/Qwen2.5-7B"
    )
    assert served.identity() == ("openai", "Qwen/Qwen2.5-7B@http://gpu:8000")
    assert RunOptions(backend="openai", base_url="http://gpu:8000", model="m").identity() == (
        "openai",
        "m@http://gpu:8000",
    )
    rel = RunOptions(backend="replay", replay=Path("data/x.jsonl"))
    assert rel.identity() == ("replay", str(Path("data/x.jsonl").resolve()))


def test_api_key_comes_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONKEYS_TEST_KEY", "secret-value")
    opts = RunOptions(
        backend="openai", base_url="http://127.0.0.1:9", api_key_env="MONKEYS_TEST_KEY"
    )
    opts.validate()
    assert "secret-value" not in repr(opts)  # the options hold the variable's name only


def test_openai_runs_on_two_servers_are_two_runs_and_each_resumes(tmp_path: Path) -> None:
    spec = tmp_path / "s.jsonl"
    _jsonl(spec, [{"id": "q", "kind": "final_answer", "prompt": "2+2=", "answer": "4"}])
    with Store.open(tmp_path / "m.db") as store:
        a = RunOptions(suite=str(spec), backend="openai", base_url="http://a:8000", model="m")
        b = RunOptions(suite=str(spec), backend="openai", base_url="http://b:8000/v1", model="m")
        first = prepare_run(store, a)
        other = prepare_run(store, b)
        assert not first.resumed and not other.resumed and first.run.id != other.run.id
        assert (first.run.backend, first.run.model) == ("openai", "m@http://a:8000")
        again = prepare_run(store, a)
        assert again.resumed and again.run.id == first.run.id
        with pytest.raises(ValueError, match="the options describe"):
            make_backend(first.run, b)
        backend = make_backend(first.run, a)
        assert backend.info.name == "openai" and backend.info.model == "m"
        # a stored run opened as it is (the app's runs screen): the server comes from its model
        stored = RunOptions(suite=str(spec), backend="openai", model=first.run.model)
        reopened = make_backend(first.run, stored)
        assert reopened.info.model == "m" and reopened.info.detail.startswith("http://a:8000")


# ---- replay through the scheduler ----------------------------------------------------------


async def test_replay_over_a_suite_is_verified_for_real(tmp_path: Path) -> None:
    data = _jsonl(
        tmp_path / "he.jsonl",
        [
            {"problem_id": "HumanEval/0", "index": 0, "text": HE0_RIGHT, "correct": False},
            {"problem_id": "HumanEval/0", "index": 1, "text": HE0_WRONG, "correct": True},
            {"problem_id": "HumanEval/0", "index": 2, "text": HE0_RIGHT},
            {"problem_id": "Other/9", "index": 0, "text": "x"},
        ],
    )
    opts = RunOptions(
        suite="humaneval",
        problems="0,1",
        samples=2,
        backend="replay",
        replay=data,
        sandbox="local",
        db=tmp_path / "r.db",
    )
    with Store.open(opts.db) as store:
        prepared = prepare_run(store, opts)
        run = prepared.run
        assert run.problem_ids == ("HumanEval/0",)  # HumanEval/1 has no recorded samples
        assert any("not in the replay data" in n for n in prepared.notes)
        sandbox, _ = make_sandbox(opts)
        await sandbox.start()
        try:
            verifier = make_verifier(sandbox, run, make_backend(run, opts))
            assert isinstance(verifier, Verifier)
            events: list[RunEvent] = []
            assert await _drive(store, run.id, opts, verifier, events) == "done"
        finally:
            await sandbox.close()
        # the recorded 'correct' flags (deliberately wrong here) are ignored: the texts ran
        grid = store.verdict_grid(run.id)
        assert grid == {"HumanEval/0": {0: "pass", 1: "fail"}}
        stored = store.samples(run.id, "HumanEval/0")
        assert [s.idx for s in stored] == [0, 1]
        assert all(s.meta["replayed"] == 1.0 for s in stored)
        assert stored[0].meta["tokens_estimated"] == 1.0
        assert prepare_run(store, opts).resumed


async def test_paper_yaml_replay_suite_uses_recorded_verdicts(tmp_path: Path) -> None:
    d = tmp_path / "gsm8k"
    d.mkdir()
    _paper_yaml(d / "0.yaml", ["x #### 4", "y #### 5", "z #### 4"], [True, False, True])
    _paper_yaml(d / "1.yaml", ["a", "b"], [False, False])
    opts = RunOptions(
        suite=REPLAY_SUITE, samples=5, backend="replay", replay=d, db=tmp_path / "p.db"
    )
    with Store.open(opts.db) as store:
        prepared = prepare_run(store, opts)
        run = prepared.run
        assert (run.suite, run.backend, run.model) == (REPLAY_SUITE, "replay", str(d.resolve()))
        assert run.problem_ids == ("0", "1")
        assert run.samples_per_problem == 2  # capped: problem '1' holds two samples
        assert any("capped at 2" in n and "'1'" in n for n in prepared.notes)
        prompts = {p.id: p.prompt for p in store.run_problems(run.id)}
        assert prompts == {"0": "Question 0?\nAnswer:", "1": "Question 1?\nAnswer:"}
        backend = make_backend(run, opts)
        verifier = make_verifier(None, run, backend)
        assert isinstance(verifier, RecordedVerifier)
        events: list[RunEvent] = []
        assert await _drive(store, run.id, opts, verifier, events) == "done"
        assert store.counts(run.id) == {"0": (2, 1), "1": (2, 0)}
        assert {v.sandbox for _, v in store.verdicts(run.id, "0", 1)} == {"recorded"}
        again = prepare_run(store, opts)
        assert again.resumed and again.run.id == run.id

        # Extending past the data (the app's "+10") fails the run with a clear message
        # instead of asking for the missing samples forever; nothing stored is lost.
        sink: list[RunEvent] = []
        replay = make_backend(run, opts)
        await replay.start()
        scheduler = Scheduler(store, run.id, replay, verifier, sink=sink.append)
        scheduler.extend(1)
        assert await asyncio.wait_for(scheduler.run(), 30) == "failed"
        errors = [e.message for e in sink if isinstance(e, Notice) and e.level == "error"]
        assert any("holds 3 samples of '0'" in m or "holds 2 samples of '1'" in m for m in errors)
        assert store.counts(run.id)["1"] == (2, 0)


def test_replay_suite_needs_recorded_verdicts(tmp_path: Path) -> None:
    d = tmp_path / "raw"
    d.mkdir()
    _paper_yaml(d / "7.yaml", ["only"], None)
    opts = RunOptions(suite=REPLAY_SUITE, backend="replay", replay=d, db=tmp_path / "n.db")
    with Store.open(opts.db) as store, pytest.raises(ValueError) as info:
        prepare_run(store, opts)
    assert "7.yaml" in str(info.value) and "has no recorded verdict" in str(info.value)


def test_replay_over_a_suite_without_matching_ids_says_so(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "x.jsonl", [{"problem_id": "gsm8k/3", "index": 0, "text": "t"}])
    opts = RunOptions(suite="humaneval", backend="replay", replay=data, db=tmp_path / "z.db")
    with Store.open(opts.db) as store, pytest.raises(ValueError, match="'gsm8k/3'"):
        prepare_run(store, opts)


async def test_recorded_verifier_majority_and_missing(tmp_path: Path) -> None:
    data = _jsonl(
        tmp_path / "v.jsonl",
        [
            {"problem_id": "p", "index": 0, "text": "same", "correct": True},
            {"problem_id": "p", "index": 1, "text": "same", "correct": False},
            {"problem_id": "p", "index": 2, "text": "same", "correct": True},
            {"problem_id": "p", "index": 3, "text": "tie", "correct": True},
            {"problem_id": "p", "index": 4, "text": "tie", "correct": False},
            {"problem_id": "p", "index": 5, "text": "none"},
        ],
    )
    verifier = RecordedVerifier(ReplayBackend(data))
    problem = Problem(id="p", prompt="", kind=ProblemKind.FINAL_ANSWER)
    same = await verifier.verify(problem, "same")
    assert same.status is Status.PASS and "majority" in same.stdout
    tie = await verifier.verify(problem, "tie")
    assert tie.status is Status.FAIL and tie.failing_test == "recorded verdict: incorrect"
    for text in ("none", "never recorded"):
        missing = await verifier.verify(problem, text)
        assert missing.status is Status.SANDBOX_ERROR and "no recorded verdict" in missing.stderr
    assert {same.sandbox, tie.sandbox} == {"recorded"}


@pytest.mark.parametrize(
    ("policy", "parallel", "chunk", "target", "requests"),
    [
        ("uniform", 16, 16, 32, 5),
        ("adaptive", 16, 4, 20, 17),
        ("adaptive", 32, 4, 36, 33),
        ("stop-on-solve", 2, 1, 3, 9),
    ],
)
def test_scheduler_config_keeps_a_chunk_waiting_beyond_the_parallel_sequences(
    policy: str, parallel: int, chunk: int, target: int, requests: int
) -> None:
    run = RunRecord(
        id=1, name="", created_at=0.0, updated_at=0.0, status="created", suite="humaneval",
        model="m", backend="llama.cpp", params=SamplingParams(), samples_per_problem=10,
        seed=0, sandbox="local", problem_ids=("a",), policy=policy,
    )  # fmt: skip
    config = scheduler_config(RunOptions(parallel=parallel), run)
    assert (config.chunk_size, config.target_in_flight, config.max_requests) == (
        chunk,
        target,
        requests,
    )
