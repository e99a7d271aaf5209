"""The store's API: runs, problems, samples, verdicts, counts, grid, fits, errors, threads."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends._protocol import SamplingParams
from monkeys_suites._problem import Problem
from store import RunSpec, Store, StoreError
from verify._verdict import Status, Verdict


def verdict(status: Status, **kw: Any) -> Verdict:
    return Verdict(status=status, duration_s=kw.pop("duration_s", 0.5), **kw)


# ---- runs & problems -----------------------------------------------------------------------


def test_create_and_get_run(fresh_db: Store, spec: RunSpec, problems: list[Problem]) -> None:
    before = time.time()
    rid = fresh_db.create_run(spec, problems)
    run = fresh_db.get_run(rid)
    assert run.id == rid
    assert (run.suite, run.model, run.backend, run.seed, run.sandbox, run.name) == (
        spec.suite,
        spec.model,
        spec.backend,
        spec.seed,
        spec.sandbox,
        spec.name,
    )
    assert run.params == spec.params
    assert run.samples_per_problem == spec.samples_per_problem
    assert run.problem_ids == spec.problem_ids
    assert run.status == "created"
    assert before <= run.created_at <= run.updated_at <= time.time()
    assert fresh_db.list_runs() == [run]


def test_run_problems_rebuilt_exactly(fresh_db: Store, run_id: int, problems: list) -> None:
    rebuilt = fresh_db.run_problems(run_id)
    assert rebuilt == problems
    assert [p.meta for p in rebuilt] == [p.meta for p in problems]  # meta is compare=False


def test_create_run_takes_problems_in_spec_order(fresh_db: Store, h: Any) -> None:
    probs = h.make_problems(4)
    order = (probs[2].id, probs[0].id)
    rid = fresh_db.create_run(h.make_spec(probs, problem_ids=order), probs)
    assert fresh_db.get_run(rid).problem_ids == order
    assert [p.id for p in fresh_db.run_problems(rid)] == list(order)


def test_create_run_rejects_missing_or_duplicate_problems(fresh_db: Store, h: Any) -> None:
    probs = h.make_problems(3)
    with pytest.raises(StoreError, match="not given"):
        fresh_db.create_run(h.make_spec(probs, problem_ids=("T/0", "nope")), probs)
    with pytest.raises(StoreError, match="unique"):
        fresh_db.create_run(h.make_spec(probs, problem_ids=("T/0", "T/0")), probs)
    assert fresh_db.list_runs() == []


def test_get_run_missing(fresh_db: Store) -> None:
    with pytest.raises(StoreError, match="no run 42"):
        fresh_db.get_run(42)
    with pytest.raises(StoreError, match="no run 42"):
        fresh_db.counts(42)


def test_find_run_matches_identity_not_budget(
    fresh_db: Store, spec: RunSpec, problems: list[Problem], h: Any
) -> None:
    assert fresh_db.find_run(spec) is None
    first = fresh_db.create_run(spec, problems)
    second = fresh_db.create_run(spec, problems)
    found = fresh_db.find_run(h.make_spec(problems, budget=999, name="other", sandbox="docker"))
    assert found is not None and found.id == second != first
    for change in (
        {"seed": 4},
        {"model": "other"},
        {"backend": "vllm"},
        {"suite": "x"},
        {"params": SamplingParams(temperature=0.7, top_p=0.9, max_tokens=65, stop=("\n\n",))},
        {"params": SamplingParams(temperature=0.7, top_p=0.9, max_tokens=64)},
        {"problem_ids": spec.problem_ids[:-1]},
        {"problem_ids": tuple(reversed(spec.problem_ids))},
    ):
        assert fresh_db.find_run(h.make_spec(problems, **change)) is None, change


def test_set_budget_and_status(fresh_db: Store, run_id: int) -> None:
    created = fresh_db.get_run(run_id).updated_at
    fresh_db.set_budget(run_id, 100)
    fresh_db.set_status(run_id, "running")
    run = fresh_db.get_run(run_id)
    assert (run.samples_per_problem, run.status) == (100, "running")
    assert run.updated_at >= created
    with pytest.raises(StoreError, match="unknown run status"):
        fresh_db.set_status(run_id, "bogus")
    with pytest.raises(StoreError, match="no run 999"):
        fresh_db.set_budget(999, 3)
    with pytest.raises(StoreError, match="no run 999"):
        fresh_db.set_status(999, "done")
    assert fresh_db.get_run(run_id).status == "running"


def test_sync_writes_are_durable_on_return(db_path: Path, spec: RunSpec, problems: list) -> None:
    with Store.open(db_path) as store:
        rid = store.create_run(spec, problems)
        store.set_status(rid, "paused")
        # Another connection (no flush, store still open) sees both.
        with sqlite3.connect(db_path) as raw:
            row = raw.execute("SELECT status FROM runs WHERE id = ?", (rid,)).fetchone()
            n = raw.execute("SELECT count(*) FROM problems WHERE run_id = ?", (rid,)).fetchone()
        assert row == ("paused",)
        assert n == (len(problems),)


# ---- samples & verdicts --------------------------------------------------------------------


def test_samples_roundtrip_and_dedupe(fresh_db: Store, run_id: int, h: Any) -> None:
    fresh_db.put_sample(run_id, h.sample("T/1", 0))
    fresh_db.put_sample(run_id, h.sample("T/1", 1))
    fresh_db.put_sample(run_id, h.sample("T/1", 0, text="a different draw"))  # same identity
    fresh_db.flush()
    recs = fresh_db.samples(run_id)
    assert [(r.problem_id, r.idx) for r in recs] == [("T/1", 0), ("T/1", 1)]
    s0 = h.sample("T/1", 0)
    r0 = recs[0]
    assert (r0.text, r0.seed, r0.prompt_tokens, r0.completion_tokens) == (
        s0.text,
        s0.seed,
        s0.prompt_tokens,
        s0.completion_tokens,
    )
    assert (r0.finish_reason, r0.gen_seconds, r0.meta) == (s0.finish_reason, s0.seconds, s0.meta)
    assert r0.verdict is None
    assert fresh_db.stored_indices(run_id)["T/1"] == {0, 1}
    assert fresh_db.stored_indices(run_id)["T/0"] == set()


def test_verdicts_counts_grid_unverified(
    fresh_db: Store, run_id: int, problems: list[Problem], h: Any
) -> None:
    rng = random.Random(7)
    expect: dict[str, list[int]] = {p.id: [0, 0] for p in problems}
    grid: dict[str, dict[int, str]] = {p.id: {} for p in problems}
    pending: set[tuple[str, int]] = set()
    statuses = list(Status)
    for p in problems[:-1]:  # the last problem gets nothing
        for i in range(rng.randint(1, 12)):
            fresh_db.put_sample(run_id, h.sample(p.id, i))
            if rng.random() < 0.7:
                status = rng.choice(statuses)
                fresh_db.put_verdict(run_id, p.id, i, verdict(status))
                expect[p.id][0] += 1
                expect[p.id][1] += status is Status.PASS
                grid[p.id][i] = status.value
            else:
                grid[p.id][i] = "pending"
                pending.add((p.id, i))
    fresh_db.flush()
    counts = fresh_db.counts(run_id)
    assert list(counts) == [p.id for p in problems]
    assert counts == {k: (n, c) for k, (n, c) in expect.items()}
    assert fresh_db.verdict_grid(run_id) == grid
    assert {(r.problem_id, r.idx) for r in fresh_db.unverified(run_id)} == pending
    # Brute force over the raw rows agrees with the trigger-kept counts.
    with sqlite3.connect(fresh_db.path) as raw:
        brute = dict.fromkeys(expect, (0, 0))
        for pid, n, c in raw.execute(
            "SELECT problem_id, count(*), sum(status = 'pass') FROM verdicts "
            "WHERE run_id = ? AND attempt = 0 GROUP BY problem_id",
            (run_id,),
        ):
            brute[pid] = (n, c)
    assert brute == counts


def test_reverification_attempts(fresh_db: Store, run_id: int, h: Any) -> None:
    fresh_db.put_sample(run_id, h.sample("T/0", 0))
    fresh_db.put_verdict(run_id, "T/0", 0, verdict(Status.SANDBOX_ERROR, stderr="docker died"))
    fresh_db.put_verdict(run_id, "T/0", 0, verdict(Status.PASS))  # same attempt: ignored
    fresh_db.put_verdict(run_id, "T/0", 0, verdict(Status.FAIL, failing_test="t1"), attempt=1)
    fresh_db.flush()
    rec = fresh_db.get_sample(run_id, "T/0", 0)
    assert rec is not None and rec.verdict is not None
    assert (rec.verdict.status, rec.verdict.failing_test) == (Status.FAIL, "t1")  # latest attempt
    assert fresh_db.counts(run_id)["T/0"] == (1, 0)  # attempt 0 only
    assert fresh_db.verdict_grid(run_id)["T/0"] == {0: "sandbox_error"}
    assert fresh_db.unverified(run_id) == []
    assert fresh_db.get_sample(run_id, "T/0", 1) is None


def test_verdict_fields_roundtrip(fresh_db: Store, run_id: int, h: Any) -> None:
    v = Verdict(
        status=Status.TIMEOUT,
        duration_s=10.25,
        exit_code=-9,
        failing_test="assert f(3) == 4",
        stdout="out\x1b[1m bold \x00",
        stderr="Traceback ...\r\n",
        sandbox="local (weaker isolation)",
    )
    fresh_db.put_sample(run_id, h.sample("T/2", 5))
    fresh_db.put_verdict(run_id, "T/2", 5, v)
    fresh_db.flush()
    (rec,) = fresh_db.samples(run_id, "T/2")
    assert rec.verdict == v


def test_samples_ordering_and_filter(fresh_db: Store, run_id: int, h: Any) -> None:
    for pid, i in [("T/3", 2), ("T/0", 1), ("T/3", 0), ("T/0", 0)]:
        fresh_db.put_sample(run_id, h.sample(pid, i))
    fresh_db.flush()
    assert [(r.problem_id, r.idx) for r in fresh_db.samples(run_id)] == [
        ("T/0", 0),
        ("T/0", 1),
        ("T/3", 0),
        ("T/3", 2),
    ]
    assert [r.idx for r in fresh_db.samples(run_id, "T/3")] == [0, 2]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=400))
def test_any_text_is_stored_as_is(fresh_db: Store, run_id: int, h: Any, text: str) -> None:
    idx = len(fresh_db.stored_indices(run_id)["T/4"])
    fresh_db.put_sample(run_id, h.sample("T/4", idx, text=text))
    fresh_db.flush()
    rec = fresh_db.get_sample(run_id, "T/4", idx)
    assert rec is not None and rec.text == text


def test_control_and_escape_text(fresh_db: Store, run_id: int, h: Any) -> None:
    text = "\x1b[31mred\x1b[0m [bold]not markup[/bold] \x00\x07\r\n\t\u202e\U0001f648 \ufeff"
    fresh_db.put_sample(run_id, h.sample("T/0", 0, text=text))
    fresh_db.put_sample(run_id, h.sample("T/0", 1, text="lone \ud800 surrogate"))
    fresh_db.flush()
    assert fresh_db.samples(run_id, "T/0")[0].text == text
    # A lone surrogate cannot be UTF-8: it becomes U+FFFD, the rest is kept.
    assert fresh_db.samples(run_id, "T/0")[1].text == "lone \ufffd surrogate"


# ---- fits ----------------------------------------------------------------------------------


def test_fits(fresh_db: Store, run_id: int) -> None:
    fresh_db.put_fit(run_id, "power_law", {"a": -1.5, "b": -0.25}, created_at=100.0)
    fresh_db.put_fit(run_id, "beta_binomial", {"alpha": 0.5, "beta": float("nan")}, 50.0)
    fresh_db.put_fit(run_id, "power_law", {"a": -1.4, "b": float("inf")}, created_at=200.0)
    fresh_db.flush()
    fits = fresh_db.fits(run_id)
    assert [(k, t) for k, _, t in fits] == [
        ("beta_binomial", 50.0),
        ("power_law", 100.0),
        ("power_law", 200.0),
    ]
    assert fits[1][1] == {"a": -1.5, "b": -0.25}
    assert fits[0][1]["beta"] != fits[0][1]["beta"]  # NaN survives
    assert fits[2][1]["b"] == float("inf")
    with sqlite3.connect(fresh_db.path) as raw:  # stored params are valid JSON
        for (params,) in raw.execute("SELECT params FROM fits"):
            assert isinstance(json.loads(params), dict)


# ---- writer: batching, errors, lifecycle ---------------------------------------------------


def test_writer_commits_without_flush(db_path: Path, spec: RunSpec, problems: list, h: Any) -> None:
    with Store.open(db_path, batch_seconds=0.05) as store:
        rid = store.create_run(spec, problems)
        for i in range(30):
            store.put_sample(rid, h.sample("T/0", i))
        deadline = time.monotonic() + 5
        while len(store.stored_indices(rid)["T/0"]) < 30 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.stored_indices(rid)["T/0"] == set(range(30))


def test_failed_write_is_reported_and_good_rows_kept(fresh_db: Store, run_id: int, h: Any) -> None:
    fresh_db.put_sample(run_id, h.sample("T/0", 0))
    fresh_db.put_sample(run_id, h.sample("not-a-problem-of-the-run", 0))
    fresh_db.put_verdict(run_id, "T/0", 99, verdict(Status.PASS))  # no such sample
    fresh_db.put_sample(run_id, h.sample("T/0", 1))
    with pytest.raises(StoreError, match=r"2 queued row\(s\) could not be written") as err:
        fresh_db.flush()
    assert isinstance(err.value.__cause__, sqlite3.IntegrityError)
    assert fresh_db.stored_indices(run_id)["T/0"] == {0, 1}
    assert fresh_db.counts(run_id)["T/0"] == (0, 0)
    fresh_db.flush()  # reported once; the store goes on working
    fresh_db.put_sample(run_id, h.sample("T/0", 2))
    fresh_db.flush()
    assert fresh_db.stored_indices(run_id)["T/0"] == {0, 1, 2}


def test_failed_write_raises_on_next_put(fresh_db: Store, run_id: int, h: Any) -> None:
    fresh_db.put_fit(run_id + 1000, "power_law", {"a": 1.0})  # no such run
    deadline = time.monotonic() + 5
    with pytest.raises(StoreError, match="FOREIGN KEY"):
        i = 0
        while time.monotonic() < deadline:
            fresh_db.put_sample(run_id, h.sample("T/1", i))
            i += 1
            time.sleep(0.005)
    fresh_db.flush()
    assert fresh_db.fits(run_id + 1000) == []


def test_put_sample_negative_index_rejected(fresh_db: Store, run_id: int, h: Any) -> None:
    with pytest.raises(StoreError, match="index"):
        fresh_db.put_sample(run_id, h.sample("T/0", -1))
    with pytest.raises(StoreError, match="attempt"):
        fresh_db.put_verdict(run_id, "T/0", 0, verdict(Status.PASS), attempt=-1)


def test_close_flushes_and_is_idempotent(db_path: Path, spec: RunSpec, problems: list, h: Any):
    store = Store.open(db_path, batch_seconds=10.0, batch_rows=10**6)  # no timed commit
    rid = store.create_run(spec, problems)
    for i in range(500):
        store.put_sample(rid, h.sample("T/2", i))
    store.close()
    store.close()
    assert store.closed
    with pytest.raises(StoreError, match="closed"):
        store.put_sample(rid, h.sample("T/2", 999))
    with pytest.raises(StoreError, match="closed"):
        store.flush()
    with pytest.raises(StoreError, match="closed"):
        store.counts(rid)
    with Store.open(db_path) as again:
        assert again.stored_indices(rid)["T/2"] == set(range(500))


def test_close_reports_unreported_failure(db_path: Path, spec: RunSpec, problems: list, h: Any):
    store = Store.open(db_path)
    rid = store.create_run(spec, problems)
    store.put_sample(rid, h.sample("nope", 0))
    with pytest.raises(StoreError, match="could not be written"):
        store.close()
    assert store.closed


def test_flush_timeout(db_path: Path, spec: RunSpec, problems: list, h: Any) -> None:
    with Store.open(db_path) as store:
        rid = store.create_run(spec, problems)
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            store.put_sample(rid, h.sample("T/0", 0))
            with pytest.raises(StoreError, match=r"within 0\.2 s"):
                store.flush(timeout=0.2)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        store.flush()
        assert store.stored_indices(rid)["T/0"] == {0}


# ---- readers -------------------------------------------------------------------------------


def test_readers_do_not_wait_for_a_writer(fresh_db: Store, run_id: int, h: Any) -> None:
    fresh_db.put_sample(run_id, h.sample("T/0", 0))
    fresh_db.put_verdict(run_id, "T/0", 0, verdict(Status.PASS))
    fresh_db.flush()
    writer = sqlite3.connect(fresh_db.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE runs SET name = 'x'")  # an open write transaction
    try:
        t0 = time.monotonic()
        assert fresh_db.counts(run_id)["T/0"] == (1, 1)
        assert fresh_db.get_run(run_id).name == "a test run"  # the committed snapshot
        assert time.monotonic() - t0 < 1.0
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_concurrent_reads_while_writing(fresh_db: Store, run_id: int, h: Any) -> None:
    n_samples = 600
    stop = threading.Event()

    def read_loop() -> int:
        last = 0
        reads = 0
        while not stop.is_set():
            n = sum(n for n, _ in fresh_db.counts(run_id).values())
            assert n >= last  # committed counts only grow
            last = n
            fresh_db.verdict_grid(run_id)
            reads += 1
        return reads

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(read_loop) for _ in range(3)]
        for i in range(n_samples):
            pid = f"T/{i % 5}"
            fresh_db.put_sample(run_id, h.sample(pid, i))
            fresh_db.put_verdict(run_id, pid, i, verdict(Status.PASS if i % 4 else Status.FAIL))
        fresh_db.flush()
        stop.set()
        reads = [f.result() for f in futures]
    assert all(r > 0 for r in reads)
    counts = fresh_db.counts(run_id)
    assert sum(n for n, _ in counts.values()) == n_samples
    assert sum(c for _, c in counts.values()) == n_samples - len(range(0, n_samples, 4))


def test_plain_sqlite_reads_the_schema(fresh_db: Store, run_id: int, h: Any) -> None:
    fresh_db.put_sample(run_id, h.sample("T/0", 0))
    fresh_db.put_verdict(run_id, "T/0", 0, verdict(Status.PASS))
    fresh_db.flush()
    with sqlite3.connect(fresh_db.path) as raw:
        t = raw.execute("SELECT json_extract(params, '$.temperature') FROM runs").fetchone()
        assert t == (0.7,)
        row = raw.execute("SELECT problem_id, idx, status, passed FROM sample_results").fetchall()
        assert row == [("T/0", 0, "pass", 1)]
        stop = raw.execute("SELECT stop FROM problems WHERE problem_id = 'T/0'").fetchone()[0]
        assert json.loads(stop) == ["\ndef", "\nclass"]
