"""Store benchmark: 1,000,000 samples (~300 bytes of text each) through the writer queue.

Goals: >= 20,000 sample rows/s written (each sample also gets its verdict, as in a run, and
the time to write the verdicts is counted too), and per-problem (n, c) counts of the reopened
1M-row store in < 1 s. Baselines measured in the same run: raw sqlite3 `executemany` of the same
rows into the same schema (no queue, no thread), and counting with a GROUP BY over the verdicts
instead of the writer-kept `problem_counts` table.

Prints its figures; the LAST line is
``store: <rows/s> rows/s, counts <t> s (goal >= 20000 rows/s, < 1 s) PASS|FAIL``;
exit 0 only when both goals are met. Everything is written in a temporary directory, removed.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from backends._protocol import SampleFinished, SamplingParams  # noqa: E402
from monkeys_suites._problem import Problem, ProblemKind  # noqa: E402
from store import RunSpec, Store  # noqa: E402
from verify._verdict import Status, Verdict  # noqa: E402

N_ROWS = 1_000_000
N_PROBLEMS = 200
BATCH = 1000
GOAL_ROWS_S = 20_000
GOAL_COUNTS_S = 1.0


def texts(rng: random.Random, k: int) -> list[str]:
    """`k` distinct-ish model outputs of ~300 bytes."""
    words = ["return", "x", "+", "for", "i", "in", "range(n):", "if", "else", "yield", "def"]
    return [
        "    " + " ".join(rng.choice(words) for _ in range(60))[:296] + f"#{j}" for j in range(k)
    ]


def main() -> int:
    rng = random.Random(0)
    pool = texts(rng, 997)
    problems = [
        Problem(id=f"Bench/{i}", prompt=f"def f{i}():\n", kind=ProblemKind.FUNCTION_TESTS)
        for i in range(N_PROBLEMS)
    ]
    per_problem = N_ROWS // N_PROBLEMS
    spec = RunSpec(
        "bench", tuple(p.id for p in problems), "m", "replay", SamplingParams(), per_problem
    )
    pass_ = Verdict(Status.PASS, 0.1, exit_code=0, sandbox="docker")
    fail = Verdict(Status.FAIL, 0.1, exit_code=1, failing_test="assert f(1) == 2")
    truth: dict[str, tuple[int, int]] = {}

    with tempfile.TemporaryDirectory(prefix="monkeys-bench-") as tmp:
        db = Path(tmp) / "bench.db"
        store = Store.open(db)
        rid = store.create_run(spec, problems)
        t0 = time.perf_counter()
        n = 0
        for p_i, p in enumerate(problems):
            c = 0
            for start in range(0, per_problem, BATCH):
                idx = range(start, min(start + BATCH, per_problem))
                batch = [
                    SampleFinished(p.id, i, i, pool[(i + p_i) % len(pool)], 40, 80, "stop", 0.5)
                    for i in idx
                ]
                store.put_samples(rid, batch)
                verdicts = [
                    (p.id, i, pass_ if (i * 7 + p_i) % 10 < p_i % 10 else fail) for i in idx
                ]
                c += sum(v.passed for _, _, v in verdicts)
                store.put_verdicts(rid, verdicts)
                n += len(batch)
            truth[p.id] = (per_problem, c)
        store.flush()
        write_s = time.perf_counter() - t0
        store.close()
        rows_s = n / write_s
        size_mb = db.stat().st_size / 1e6
        print(f"wrote {n:,} samples + {n:,} verdicts through the queue in {write_s:.2f} s")
        print(f"  {rows_s:,.0f} sample rows/s (db {size_mb:,.0f} MB)")

        t0 = time.perf_counter()
        store = Store.open(db)
        open_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        counts = store.counts(rid)
        counts_s = time.perf_counter() - t0
        ok_counts = counts == truth
        print(f"reopened in {open_s:.3f} s; counts of {len(counts)} problems in {counts_s:.4f} s")
        print(f"  counts agree with the written verdicts: {ok_counts}")
        store.close()

        # Baseline 1: GROUP BY over the 1M verdicts (what the counts table saves).
        con = sqlite3.connect(db)
        t0 = time.perf_counter()
        grouped = con.execute(
            "SELECT problem_id, count(*), sum(passed) FROM verdicts "
            "WHERE run_id = ? AND attempt = 0 GROUP BY problem_id",
            (rid,),
        ).fetchall()
        group_s = time.perf_counter() - t0
        con.close()
        print(f"baseline: GROUP BY over verdicts in {group_s:.3f} s ({len(grouped)} problems)")

        # Baseline 2: raw executemany of the same sample rows, no queue, no thread.
        raw_db = Path(tmp) / "raw.db"
        with Store.open(raw_db) as s2:
            rid2 = s2.create_run(spec, problems)
        con = sqlite3.connect(raw_db, isolation_level=None)
        con.execute("PRAGMA synchronous = NORMAL")
        sql = (
            "INSERT OR IGNORE INTO samples (run_id, problem_id, idx, seed, text, prompt_tokens, "
            "completion_tokens, finish_reason, gen_seconds, meta, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?)"
        )
        t0 = time.perf_counter()
        raw_n = 0
        for p_i, p in enumerate(problems[: N_PROBLEMS // 4]):
            for start in range(0, per_problem, BATCH):
                now = time.time()
                rows = [
                    (rid2, p.id, i, i, pool[(i + p_i) % len(pool)], 40, 80, "stop", 0.5, now)
                    for i in range(start, min(start + BATCH, per_problem))
                ]
                con.execute("BEGIN")
                con.executemany(sql, rows)
                con.execute("COMMIT")
                raw_n += len(rows)
        raw_s = time.perf_counter() - t0
        con.close()
        print(
            f"baseline: raw executemany of {raw_n:,} samples (no verdicts): "
            f"{raw_n / raw_s:,.0f} rows/s"
        )

    passed = rows_s >= GOAL_ROWS_S and counts_s < GOAL_COUNTS_S and ok_counts
    print(
        f"store: {rows_s:.0f} rows/s, counts {counts_s:.4f} s "
        f"(goal >= {GOAL_ROWS_S} rows/s, < {GOAL_COUNTS_S:g} s) {'PASS' if passed else 'FAIL'}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
