"""Crash safety: a real process writing through the Store is SIGKILLed mid-run.

It loses at most what was queued and not yet committed; reopening works; resuming reaches
exactly the budget with no duplicate (problem, index).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store import Store

ROOT = Path(__file__).resolve().parents[2]
PROBLEMS = 4
BUDGET = 500

# The writer process: draws what is missing (like the scheduler), verifies what is unverified.
# It flushes every 200 samples (timed batch commits happen in between) and prints
# "COMMITTED n" after each flush: n samples are then known to be committed.
CHILD = r"""
import sys, time
from backends._protocol import SampleFinished, SamplingParams
from store import RunSpec, Store
from monkeys_suites._problem import Problem, ProblemKind
from verify._verdict import Status, Verdict

db, phase, n_problems, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
problems = [Problem(id=f"P/{i}", prompt=f"p{i}", kind=ProblemKind.FINAL_ANSWER, answer=str(i))
            for i in range(n_problems)]
spec = RunSpec("crash", tuple(p.id for p in problems), "m", "replay", SamplingParams(), budget)

def passed(pid, i):
    return (i + int(pid[2:])) % 3 == 0

store = Store.open(db)
run = store.find_run(spec)
rid = run.id if run is not None else store.create_run(spec, problems)
stored = store.stored_indices(rid)
for rec in store.unverified(rid):
    status = Status.PASS if passed(rec.problem_id, rec.idx) else Status.FAIL
    store.put_verdict(rid, rec.problem_id, rec.idx, Verdict(status, 0.01))
print("START", sum(len(s) for s in stored.values()), flush=True)
put = 0
for i in range(budget):
    for p in problems:
        again = phase == "resume" and i in stored[p.id] and i % 7 == 0
        if i in stored[p.id] and not again:
            continue
        text = f"{phase} sample {p.id}#{i} " + "x" * 200
        store.put_sample(rid, SampleFinished(p.id, i, i, text, 3, 50, "stop", 0.01))
        status = Status.PASS if passed(p.id, i) else Status.FAIL
        store.put_verdict(rid, p.id, i, Verdict(status, 0.01))
        put += 1
        if put % 200 == 0:
            store.flush()
            print("COMMITTED", put, flush=True)
        if phase == "kill":
            time.sleep(0.0005)
store.close()
print("DONE", put, flush=True)
"""


def run_child(db: Path, phase: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), phase, str(PROBLEMS), str(BUDGET)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def raw_rows(db: Path) -> tuple[list[tuple[str, int]], dict[str, tuple[int, int]], str]:
    con = sqlite3.connect(db)
    try:
        keys = con.execute("SELECT problem_id, idx FROM samples").fetchall()
        brute = {
            pid: (n, c)
            for pid, n, c in con.execute(
                "SELECT problem_id, count(*), coalesce(sum(passed), 0) FROM verdicts "
                "WHERE attempt = 0 GROUP BY problem_id"
            )
        }
        check = con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()
    return keys, brute, check


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_run_then_resume(db_path: Path) -> None:
    child = run_child(db_path, "kill")
    assert child.stdout is not None
    committed = 0
    try:
        for line in child.stdout:
            if line.startswith("COMMITTED"):
                committed = int(line.split()[1])
                if committed >= 600:
                    break
        # It goes on writing: timed batch commits happen between flushes; kill at any moment.
        time.sleep(random.uniform(0.0, 0.2))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    assert committed >= 600

    keys, brute, check = raw_rows(db_path)
    assert check == "ok"
    assert len(keys) == len(set(keys))
    # Nothing flushed is lost, and the crash stopped it before the budget.
    assert committed <= len(keys) < PROBLEMS * BUDGET

    # Reopening works (the store recovers the WAL), and its counts agree with the raw rows.
    with Store.open(db_path) as store:
        (run,) = store.list_runs()
        stored = store.stored_indices(run.id)
        assert sum(len(s) for s in stored.values()) == len(keys)
        counts = store.counts(run.id)
        assert {k: v for k, v in counts.items() if v != (0, 0)} == brute
        unverified = len(store.unverified(run.id))
        assert sum(n for n, _ in counts.values()) + unverified == len(keys)

    # Resuming reaches exactly the budget: every (problem, index) once.
    resumed = run_child(db_path, "resume")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert out.splitlines()[0] == f"START {len(keys)}"

    keys2, brute2, check2 = raw_rows(db_path)
    assert check2 == "ok"
    assert len(keys2) == len(set(keys2)) == PROBLEMS * BUDGET
    assert set(keys2) == {(f"P/{p}", i) for p in range(PROBLEMS) for i in range(BUDGET)}
    with Store.open(db_path) as store:
        (run,) = store.list_runs()
        assert store.unverified(run.id) == []
        counts = store.counts(run.id)
        expect = {
            f"P/{p}": (BUDGET, sum((i + p) % 3 == 0 for i in range(BUDGET)))
            for p in range(PROBLEMS)
        }
        assert counts == expect == brute2
        # A sample stored before the crash kept its first text (re-puts are ignored).
        first = store.get_sample(run.id, "P/0", 0)
        assert first is not None and first.text.startswith("kill sample")
