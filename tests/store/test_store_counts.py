"""`problem_counts` kept by the writer (new verdicts and samples, per problem and batch) and by
triggers (changed or deleted ones): always `count(*), sum(passed)` over the attempt-0 verdicts,
and `stored` the samples' `count(*)`.

Also the writer's many-row INSERT statements: the rows stored are those one by one would store
(the first of a duplicate wins), whatever the batch's size."""

from __future__ import annotations

import math
import random
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from store import MIGRATIONS, Store, StoreError
from store._store import _BASE_COUNTS_SQL
from store._writer import MULTI_ROWS
from verify._verdict import Status, Verdict

STATUSES = list(Status)


def brute_counts(path: Path, run_id: int) -> dict[str, tuple[int, int]]:
    """(n, c) per problem of the run counted from the verdicts themselves."""
    with sqlite3.connect(path) as raw:
        out = {
            pid: (0, 0)
            for (pid,) in raw.execute(
                "SELECT problem_id FROM problems WHERE run_id = ? ORDER BY position", (run_id,)
            )
        }
        for pid, n, c in raw.execute(
            "SELECT problem_id, count(*), sum(passed) FROM verdicts "
            "WHERE run_id = ? AND attempt = 0 GROUP BY problem_id",
            (run_id,),
        ):
            out[pid] = (n, c)
    return out


class Model:
    """What the attempt-0 verdicts should be: the first put of each (problem, index) wins."""

    def __init__(self, pids: list[str]) -> None:
        self.pids = pids
        self.first: dict[tuple[str, int], bool] = {}

    def put(self, pid: str, idx: int, v: Verdict) -> tuple[str, int, Verdict]:
        self.first.setdefault((pid, idx), v.passed)
        return pid, idx, v

    def counts(self) -> dict[str, tuple[int, int]]:
        out = dict.fromkeys(self.pids, (0, 0))
        for (pid, _), passed in self.first.items():
            n, c = out[pid]
            out[pid] = (n + 1, c + passed)
        return out


def check(store: Store, run_id: int, model: Model) -> None:
    store.flush()
    counts = store.counts(run_id)
    assert counts == brute_counts(store.path, run_id)
    assert counts == model.counts()
    with sqlite3.connect(store.path) as raw:
        (n,) = raw.execute("SELECT count(*) FROM samples WHERE run_id = ?", (run_id,)).fetchone()
    assert store.finish_counts(run_id)[0] == n


def test_counts_equal_the_verdicts_after_mixed_writes(db_path: Path, h: Any) -> None:
    rng = random.Random(16)
    problems = h.make_problems(4)
    pids = [p.id for p in problems]
    model = Model(pids)

    def verdict() -> Verdict:
        return Verdict(rng.choice(STATUSES), 0.1)

    store = Store.open(db_path)
    rid = store.create_run(h.make_spec(problems, budget=2_000), problems)
    store.put_samples(rid, [h.sample(pid, i) for pid in pids for i in range(1_200)])
    # a large chunk per problem in one batch (many-row statements), all stored
    for pid in pids:
        store.put_verdicts(rid, [model.put(pid, i, verdict()) for i in range(600)])
    check(store, rid, model)
    # a chunk that repeats stored verdicts (ignored) among new ones, and a duplicate inside
    # the chunk itself: the problem is counted again from its verdicts
    again = [model.put(pids[0], i, verdict()) for i in range(500, 900)]
    store.put_verdicts(rid, [*again, model.put(pids[0], 899, verdict())])
    check(store, rid, model)
    # one verdict at a time, mixed problems and repeats (the writer merges them into batches)
    for _ in range(300):
        store.put_verdict(rid, *model.put(rng.choice(pids), rng.randrange(600, 1_100), verdict()))
    check(store, rid, model)
    # re-verifications (attempt 1 and up) are never counted
    store.put_verdicts(rid, [(pids[1], i, Verdict(Status.PASS, 0.1)) for i in range(300)], 1)
    for i in range(5):
        store.put_reverification(rid, pids[2], i, Verdict(Status.PASS, 0.1))
    check(store, rid, model)
    # a batch with a row that cannot be stored (no such sample): the rest stored and counted
    store.put_verdicts(rid, [model.put(pids[3], i, verdict()) for i in range(600, 1_000)])
    store.put_verdict(rid, pids[3], 5_000, verdict())
    with pytest.raises(StoreError, match=r"1 queued row\(s\) could not be written"):
        store.flush()
    check(store, rid, model)
    # verdicts changed and deleted by hand (the sqlite3 shell): the triggers count them
    with sqlite3.connect(db_path) as raw:
        raw.execute(
            "UPDATE verdicts SET passed = 1 - passed WHERE problem_id = ? AND idx < 50", (pids[0],)
        )
        raw.execute(
            "UPDATE verdicts SET attempt = 7 WHERE problem_id = ? AND idx < 20 AND attempt = 0",
            (pids[1],),
        )
        raw.execute("DELETE FROM verdicts WHERE problem_id = ? AND idx >= 1000", (pids[3],))
    for i in range(50):
        model.first[(pids[0], i)] = not model.first[(pids[0], i)]
    for i in range(20):
        del model.first[(pids[1], i)]
    for key in [k for k in model.first if k[0] == pids[3] and k[1] >= 1000]:
        del model.first[key]
    check(store, rid, model)
    # samples deleted by hand (a trigger counts them), then stored again in a batch that
    # repeats stored ones and one of its own (the problem's samples are counted again)
    with sqlite3.connect(db_path) as raw:
        raw.execute("DELETE FROM samples WHERE problem_id = ? AND idx >= 1100", (pids[3],))
    check(store, rid, model)
    again_samples = [h.sample(pids[3], i) for i in range(1_000, 1_200)]
    store.put_samples(rid, [*again_samples, h.sample(pids[3], 1_199)])
    check(store, rid, model)
    store.close()
    # resumed by a new writer: repeats and new verdicts
    with Store.open(db_path) as store:
        chunk = [model.put(pid, i, verdict()) for pid in pids for i in range(900, 1_200)]
        store.put_verdicts(rid, chunk)
        check(store, rid, model)
    assert model.counts()[pids[3]][0] == 1_200


def test_a_store_migrated_from_the_trigger_keeps_its_counts(db_path: Path, h: Any) -> None:
    """Verdicts counted by 0003's insert trigger (an older monkeys), then 0010: the writer
    counts on from there."""
    raw = sqlite3.connect(db_path, isolation_level=None)
    MIGRATIONS.apply(raw, upto="0009_sample_finish_index")
    raw.execute("PRAGMA foreign_keys = ON")
    h.raw_run(raw, 9, ["a", "b"])
    for pid in "ab":
        for i in range(6):
            h.raw_sample(raw, pid, i)
    model = Model(["a", "b"])
    for i in range(3):
        v = model.put("a", i, Verdict(Status.PASS if i else Status.FAIL, 0.1))[2]
        raw.execute(
            "INSERT INTO verdicts (run_id, problem_id, idx, status, passed, duration_s, "
            "created_at) VALUES (1, 'a', ?, ?, ?, 0.1, 1)",
            (i, v.status.value, int(v.passed)),
        )
    raw.close()
    with Store.open(db_path) as store:  # applies 0010
        check(store, 1, model)
        store.put_verdicts(
            1, [model.put(pid, i, Verdict(Status.PASS, 0.1)) for pid in "ab" for i in range(2, 6)]
        )
        check(store, 1, model)
    assert model.counts() == {"a": (6, 5), "b": (4, 4)}


def test_many_row_statements_store_what_one_by_one_stores(tmp_path: Path, h: Any) -> None:
    problems = h.make_problems(3)
    pids = [p.id for p in problems]
    rng = random.Random(3)
    n = 3 * MULTI_ROWS + 17  # whole statements and a remainder
    draws = [(rng.choice(pids), rng.randrange(n // 2)) for _ in range(n)]  # many repeats
    texts = [f"draw {k}" for k in range(n)]
    stored = []
    for name, batch in (("many", True), ("single", False)):
        with Store.open(tmp_path / f"{name}.db") as store:
            rid = store.create_run(h.make_spec(problems, budget=n), problems)
            samples = [h.sample(pid, i, text) for (pid, i), text in zip(draws, texts, strict=True)]
            if batch:
                store.put_samples(rid, samples)
            else:
                for s in samples:
                    store.put_sample(rid, s)
                    store.flush()
            store.flush()
            stored.append(
                [(r.problem_id, r.idx, r.text, r.seed, r.meta) for r in store.samples(rid)]
            )
    assert stored[0] == stored[1]
    first: dict[tuple[str, int], str] = {}
    for key, text in zip(draws, texts, strict=True):
        first.setdefault(key, text)
    assert sorted((pid, i, t) for pid, i, t, _, _ in stored[0]) == sorted(
        (pid, i, t) for (pid, i), t in first.items()
    )


def test_a_batch_stores_each_samples_own_meta(fresh_db: Store, run_id: int, h: Any) -> None:
    """Metas are encoded once per distinct meta in a batch (shared objects by identity, equal
    ones by repr): each sample still gets its own, -0.0 apart from 0.0."""
    shared = {"replayed": 1.0, "recorded_correct": 1.0}
    metas = [shared, {"x": 0.0}, shared, {"x": -0.0}, {"x": 0.0}, {}, shared, {"x": 2.5}]
    samples = [replace(h.sample("T/0", i), meta=m) for i, m in enumerate(metas)]
    fresh_db.put_samples(run_id, samples)
    fresh_db.flush()
    got = [r.meta for r in fresh_db.samples(run_id, "T/0")]
    assert got == metas
    assert [math.copysign(1.0, m["x"]) for m in got if "x" in m] == [1.0, -1.0, 1.0, 1.0]


def test_base_counts_read_only_the_verdicts_with_base_tests(
    fresh_db: Store, run_id: int, h: Any
) -> None:
    """Store.base_counts reads the partial index of verdicts judged under base tests (0011), so
    a run without base tests costs nothing however many verdicts it has; the counts are those
    of every attempt-0 verdict with a base verdict."""
    fresh_db.put_samples(run_id, [h.sample(pid, i) for pid in ("T/0", "T/1") for i in range(6)])
    base = [Verdict(Status.PASS, 0.1, base_passed=i % 3 != 0) for i in range(6)]
    fresh_db.put_verdicts(run_id, [("T/0", i, v) for i, v in enumerate(base)])
    fresh_db.put_verdicts(run_id, [("T/1", i, Verdict(Status.FAIL, 0.1)) for i in range(6)])
    fresh_db.put_verdicts(run_id, [("T/0", 0, Verdict(Status.PASS, 0.1, base_passed=True))], 1)
    fresh_db.flush()
    assert fresh_db.base_counts(run_id) == {"T/0": (6, 4, 4)}
    with sqlite3.connect(fresh_db.path) as raw:
        plan = raw.execute(f"EXPLAIN QUERY PLAN {_BASE_COUNTS_SQL}", (run_id,)).fetchall()
    assert "verdicts_base" in str(plan)
