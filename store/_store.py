"""The store's API: runs, problems, samples, verdicts, fits and audits in one SQLite file.

Writes go through the writer thread (`store._writer`); the file is checked and opened by
`store._files`; reads run on a read-only connection per reading thread.

Streaming writes (`put_sample`, `put_verdict`, `put_fit`) are queued and committed by the
writer thread in batches (up to `batch_rows` rows or `batch_seconds` after the first queued
item, whichever comes first; a `flush` or a synchronous write commits at once). A write that
fails is never dropped silently: the next put / flush / synchronous write raises StoreError.
Synchronous writes (`create_run`, `set_budget`, `set_status`) go through the same writer and
return once committed. Reads run on a read-only connection of the calling thread, so they never
block the writer nor wait for it (what is still queued is not visible until committed: `flush`).

Crash safety: every commit is a WAL transaction (synchronous=NORMAL: safe against a killed
process, not against power loss on the last commits). A process killed mid-run loses only what
was queued and not yet committed; a sample's identity (run, problem, idx) is the primary key and
inserts are INSERT OR IGNORE, so resuming never stores a duplicate.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import operator
import sqlite3
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from backends._protocol import SampleFinished
from monkeys_suites._problem import Problem
from store._files import (
    BUSY_TIMEOUT_MS,
    check_file,
    connect_writer,
    inspect_readonly,
    read_only_reason,
    reader_params,
    uri,
)
from store._migrations import MIGRATIONS, check_compatible
from store._records import (
    AUDIT_COLUMNS,
    POLICIES,
    PROBLEM_COLUMNS,
    RUN_STATUSES,
    SUSPECT_COLUMNS,
    VERDICT_COLUMNS,
    PromptFormatName,
    RunRecord,
    RunSpec,
    SampleRecord,
    StoreError,
    audit_from_row,
    audit_row,
    clean_text,
    dumps,
    float_map,
    loads,
    params_from_json,
    params_to_json,
    problem_from_row,
    problem_row,
    suspect_from_row,
    suspect_rows,
    verdict_from_row,
)
from store._writer import Row, Rows, Writer, flat_rows
from verify._audit_types import ProblemAudit, audit_key
from verify._verdict import Verdict

log = logging.getLogger(__name__)

_SAMPLE_SQL = (
    "INSERT OR IGNORE INTO samples (run_id, problem_id, idx, seed, text, prompt_tokens, "
    "completion_tokens, finish_reason, gen_seconds, meta, created_at, thinking) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_VERDICT_SQL = (
    "INSERT OR IGNORE INTO verdicts (run_id, problem_id, idx, attempt, status, passed, "
    "duration_s, exit_code, failing_test, stdout, stderr, sandbox, created_at, base_passed) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# New attempt-0 verdicts, added to problem_counts per problem (see _count_verdicts)
_COUNT_SQL = (
    "INSERT INTO problem_counts (run_id, problem_id, n, c) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (run_id, problem_id) DO UPDATE SET n = n + excluded.n, c = c + excluded.c"
)
_RECOUNT_SQL = (
    "INSERT INTO problem_counts (run_id, problem_id, n, c) "
    "SELECT ?, ?, count(*), coalesce(sum(passed), 0) FROM verdicts "
    "WHERE run_id = ? AND problem_id = ? AND attempt = 0 "
    "ON CONFLICT (run_id, problem_id) DO UPDATE SET n = excluded.n, c = excluded.c"
)
# New samples, added to problem_counts.stored per problem (see _count_samples)
_COUNT_SAMPLES_SQL = (
    "INSERT INTO problem_counts (run_id, problem_id, stored) VALUES (?, ?, ?) "
    "ON CONFLICT (run_id, problem_id) DO UPDATE SET stored = stored + excluded.stored"
)
_RECOUNT_SAMPLES_SQL = (
    "INSERT INTO problem_counts (run_id, problem_id, stored) "
    "SELECT ?, ?, count(*) FROM samples WHERE run_id = ? AND problem_id = ? "
    "ON CONFLICT (run_id, problem_id) DO UPDATE SET stored = excluded.stored"
)
# reads the partial index verdicts_base (0011): only the verdicts judged under base tests
_BASE_COUNTS_SQL = (
    "SELECT problem_id, count(*), sum(base_passed), sum(base_passed AND passed) "
    "FROM verdicts WHERE run_id = ? AND attempt = 0 AND base_passed IS NOT NULL "
    "GROUP BY problem_id"
)
_FIT_SQL = "INSERT INTO fits (run_id, kind, params, created_at) VALUES (?, ?, ?, ?)"

_RUN_COLUMNS = (
    "id, name, created_at, updated_at, status, suite, model, backend, params, "
    "samples_per_problem, seed, sandbox, policy, prompt_format"
)
_SAMPLE_COLUMNS = (
    "s.run_id, s.problem_id, s.idx, s.seed, s.text, s.prompt_tokens, s.completion_tokens, "
    "s.finish_reason, s.gen_seconds, s.created_at, s.meta, s.thinking"
)
_LATEST_VERDICT_JOIN = (
    "LEFT JOIN verdicts AS v ON v.run_id = s.run_id AND v.problem_id = s.problem_id "
    "AND v.idx = s.idx AND v.attempt = (SELECT max(w.attempt) FROM verdicts AS w "
    "WHERE w.run_id = s.run_id AND w.problem_id = s.problem_id AND w.idx = s.idx)"
)
_VERDICT_SELECT = ", ".join(f"v.{c.strip()}" for c in VERDICT_COLUMNS.split(","))
REPORT_ROW = (
    "idx",
    "prompt_tokens",
    "completion_tokens",
    "truncated",  # 1: cut off by max_tokens
    "gen_seconds",
    "created_at",
)
"""The columns of `Store.iter_report_rows`' samples."""
REPORT_VERDICT = ("idx", "passed", "duration_s", "created_at")
"""The columns of `Store.iter_report_rows`' attempt-0 verdicts."""


@dataclass(frozen=True)
class ReportRows:
    """One problem's samples as `Store.iter_report_rows` reads them (index order)."""

    problem_id: str
    samples: list[tuple[int | float, ...]]  # REPORT_ROW
    verdicts: list[tuple[int | float, ...]]  # REPORT_VERDICT, of the verified samples
    texts: list[str]  # every sample's, or [] when not asked


# ---- the store -----------------------------------------------------------------------------

_OPEN_STORES: weakref.WeakSet[Store] = weakref.WeakSet()  # registry: flushed at exit


@atexit.register
def _close_open_stores() -> None:
    for s in list(_OPEN_STORES):
        with contextlib.suppress(Exception):
            s.close()


class Store:
    """A monkeys store (see module doc and SCHEMA.md). Open with `Store.open(path)`."""

    path: Path

    def __init__(self, path: Path, writer: Writer | None, reader_params: dict[str, str]) -> None:
        self.path = path
        self._writer = writer
        self._reader_params = reader_params
        self._lock = threading.Lock()
        self._closed = False
        self._readers: dict[int, sqlite3.Connection] = {}
        _OPEN_STORES.add(self)

    # ---- lifecycle -----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        batch_rows: int = 1000,
        batch_seconds: float = 0.05,
        read_only: bool | None = False,
    ) -> Store:
        """Open the store at `path`, creating it or migrating it to this version.

        `read_only`: only read (what `runs`, `show`, `export` and `report` need): the file must
        exist; nothing is written, so it works in a read-only directory or on a read-only file
        (a store that still needs migrating is migrated first where that can be written).
        None: read-write where the file can be written, else read-only (`show`, which also
        stores the fits it computes when it can).
        Raises StoreError, leaving the file untouched, when it is not a monkeys store, is
        corrupt, was written by a newer monkeys, or cannot be written when writing is asked.
        """
        if batch_rows < 1 or batch_seconds < 0:
            raise ValueError("batch_rows must be >= 1 and batch_seconds >= 0")
        p = Path(path).expanduser().absolute()
        fresh = check_file(p)
        if read_only and fresh:
            raise StoreError(f"{p}: no monkeys store there yet (start a run with `monkeys run`).")
        state = None if fresh else inspect_readonly(p)
        if state is not None:
            check_compatible(state, MIGRATIONS, where=str(p))
        blocked = read_only_reason(p)
        if read_only is None:
            read_only = blocked is not None
        if read_only:
            if state is not None and MIGRATIONS.pending(set(state.applied)):
                if blocked is not None:
                    raise StoreError(
                        f"{p}: written by an older monkeys and needs migrating, but {blocked}; "
                        "copy it somewhere writable and open the copy."
                    )
                cls.open(p).close()  # migrate once, then read
            return cls(p, None, reader_params(p, writable=blocked is None))
        if blocked is not None:
            raise StoreError(
                f"{p}: cannot write the store: {blocked}. Reading commands (runs, show, "
                "export, report) open it read-only; to run, use a writable --db."
            )
        conn = connect_writer(p, fresh)
        return cls(p, Writer(p, conn, batch_rows, batch_seconds), reader_params(p, True))

    @property
    def read_only(self) -> bool:
        return self._writer is None

    def close(self) -> None:
        """Commit everything queued, stop the writer, close connections. Idempotent.

        Raises StoreError if a queued write failed and was not yet reported."""
        if self._closed:
            return
        self._closed = True
        # Readers first: the writer's connection, closed last, then checkpoints the WAL into
        # the database file and removes it (a read-only connection cannot), so the .db file
        # alone holds every commit (a user copying it loses nothing).
        with self._lock:
            readers = list(self._readers.values())
            self._readers.clear()
        for r in readers:
            with contextlib.suppress(sqlite3.Error):
                r.close()
        try:
            if self._writer is not None:
                self._writer.close()
        finally:
            _OPEN_STORES.discard(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except StoreError:
            log.exception("store %s: queued writes failed while closing", self.path)

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- writing goes through the writer thread --------------------------------------------

    def _w(self) -> Writer:
        if self._writer is None:
            raise StoreError(f"{self.path}: opened read-only; nothing can be written to it.")
        return self._writer

    def _enqueue(self, item: Rows) -> None:
        self._w().enqueue(item)

    def _call(self, fn: Callable[[sqlite3.Connection], object]) -> object:
        return self._w().call(fn)

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything queued so far is committed; raise StoreError if any of it
        failed (or if `timeout` seconds pass first). Nothing to do on a read-only store."""
        if self._writer is not None:
            self._writer.flush(timeout)

    # ---- runs & problems (synchronous) ---------------------------------------------------

    def create_run(self, spec: RunSpec, problems: Sequence[Problem]) -> int:
        """Store a new run and its problems (in `spec.problem_ids` order); returns its id."""
        by_id = {p.id: p for p in problems}
        if len(set(spec.problem_ids)) != len(spec.problem_ids):
            raise StoreError("a run's problem ids must be unique")
        missing = [pid for pid in spec.problem_ids if pid not in by_id]
        if missing:
            raise StoreError(f"problems {missing[:5]} of the run were not given")
        if spec.samples_per_problem < 0:
            raise StoreError("samples_per_problem must be >= 0")
        if spec.policy not in POLICIES:
            raise StoreError(f"unknown sampling policy {spec.policy!r}; expected one of {POLICIES}")
        now = time.time()
        run_row = (
            spec.name,
            now,
            now,
            "created",
            spec.suite,
            spec.model,
            spec.backend,
            params_to_json(spec.params),
            spec.samples_per_problem,
            spec.seed,
            spec.sandbox,
            spec.policy,
            str(spec.prompt_format),
        )
        if spec.prompt_format not in tuple(PromptFormatName):
            raise StoreError(f"unknown prompt format {spec.prompt_format!r}; expected raw or chat")

        def write(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO runs (name, created_at, updated_at, status, suite, model, backend, "
                "params, samples_per_problem, seed, sandbox, policy, prompt_format) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                run_row,
            )
            run_id = cur.lastrowid
            assert run_id is not None
            conn.executemany(
                f"INSERT INTO problems (run_id, position, {PROBLEM_COLUMNS}) "
                f"VALUES ({', '.join('?' * (2 + PROBLEM_COLUMNS.count(',') + 1))})",
                [problem_row(run_id, i, by_id[pid]) for i, pid in enumerate(spec.problem_ids)],
            )
            return run_id

        result = self._call(write)
        assert isinstance(result, int)
        return result

    def _update_run(self, run_id: int, column: str, value: object) -> None:
        def write(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                f"UPDATE runs SET {column} = ?, updated_at = ? WHERE id = ?",
                (value, time.time(), run_id),
            )
            if cur.rowcount != 1:
                raise StoreError(f"{self.path}: no run {run_id}")

        self._call(write)

    def set_budget(self, run_id: int, samples_per_problem: int) -> None:
        if samples_per_problem < 0:
            raise StoreError("samples_per_problem must be >= 0")
        self._update_run(run_id, "samples_per_problem", int(samples_per_problem))

    def add_problem_budgets(self, run_id: int, extra: Mapping[str, int]) -> None:
        """Raise the budget of some problems of a run by `extra[problem]` samples each (on top
        of the run's samples_per_problem): "+N samples for the unsolved problems"."""
        if any(v < 0 for v in extra.values()):
            raise StoreError("a budget extension must be >= 0")

        def write(conn: sqlite3.Connection) -> None:
            known = set(self._require_run(conn, run_id))
            unknown = sorted(set(extra) - known)
            if unknown:
                raise StoreError(f"{self.path}: run {run_id} has no problems {unknown[:5]}")
            conn.executemany(
                "INSERT INTO problem_budgets (run_id, problem_id, extra) VALUES (?, ?, ?) "
                "ON CONFLICT (run_id, problem_id) DO UPDATE SET extra = extra + excluded.extra",
                [(run_id, pid, int(v)) for pid, v in extra.items() if v],
            )
            conn.execute("UPDATE runs SET updated_at = ? WHERE id = ?", (time.time(), run_id))

        self._call(write)

    def problem_budgets(self, run_id: int) -> dict[str, int]:
        """Problem -> its budget: the run's samples_per_problem plus any extension."""
        with self._read() as conn:
            pids = self._require_run(conn, run_id)
            (base,) = conn.execute(
                "SELECT samples_per_problem FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            extra = dict(
                conn.execute(
                    "SELECT problem_id, extra FROM problem_budgets WHERE run_id = ?", (run_id,)
                ).fetchall()
            )
        return {pid: int(base) + int(extra.get(pid, 0)) for pid in pids}

    def set_policy(self, run_id: int, policy: str) -> None:
        if policy not in POLICIES:
            raise StoreError(f"unknown sampling policy {policy!r}; expected one of {POLICIES}")
        self._update_run(run_id, "policy", policy)

    def set_status(self, run_id: int, status: str) -> None:
        if status not in RUN_STATUSES:
            raise StoreError(f"unknown run status {status!r}; expected one of {RUN_STATUSES}")
        self._update_run(run_id, "status", status)

    # ---- streaming writes (queued) -------------------------------------------------------

    def put_sample(self, run_id: int, sample: SampleFinished) -> None:
        """Queue a finished sample; a second one with the same (run, problem, index) is
        ignored (the first stored wins)."""
        self._enqueue(Rows(_SAMPLE_SQL, [_sample_row(run_id, sample, time.time())], _count_samples))

    def put_samples(self, run_id: int, samples: Iterable[SampleFinished]) -> None:
        """Queue many samples as one item (cheaper than `put_sample` in a loop)."""
        now = time.time()
        metas = _Metas()  # a run's samples share a few metas: each encoded once
        rows = [_sample_row(run_id, s, now, metas) for s in samples]
        if rows:
            self._enqueue(Rows(_SAMPLE_SQL, rows, _count_samples, flat_rows(rows)))

    def put_verdict(
        self, run_id: int, problem_id: str, idx: int, verdict: Verdict, attempt: int = 0
    ) -> None:
        """Queue a verdict. (run, problem, idx, attempt) is unique: the first stored wins;
        a re-verification uses attempt >= 1. Attempt 0 is what `counts` uses."""
        row = _verdict_row(run_id, problem_id, idx, verdict, attempt)
        self._enqueue(Rows(_VERDICT_SQL, [row], _count_verdicts))

    def put_verdicts(
        self, run_id: int, verdicts: Iterable[tuple[str, int, Verdict]], attempt: int = 0
    ) -> None:
        """Queue many (problem_id, idx, verdict) as one item."""
        if attempt < 0:
            raise StoreError(f"verdict attempt must be >= 0, got {attempt}")
        now = time.time()
        # verdicts judged without running anything are often one shared object: its columns
        # are converted once per call (the verdict is held, so that its id is not reused)
        columns: dict[int, tuple[Verdict, Row, Row]] = {}
        rows = []
        for pid, i, v in verdicts:
            got = columns.get(id(v))
            if got is None:
                got = columns[id(v)] = (v, *_verdict_columns(v))
            rows.append((run_id, pid, i, attempt, *got[1], now, *got[2]))
        if rows:
            self._enqueue(Rows(_VERDICT_SQL, rows, _count_verdicts, flat_rows(rows)))

    def put_reverification(self, run_id: int, problem_id: str, idx: int, verdict: Verdict) -> int:
        """Store a re-verification of one sample as its next attempt (synchronous); returns the
        attempt number. The number is chosen inside the write transaction (BEGIN IMMEDIATE), so
        concurrent re-verifications of one sample, from any thread or process, each get their
        own attempt and none is dropped."""

        def write(conn: sqlite3.Connection) -> int:
            (last,) = conn.execute(
                "SELECT max(attempt) FROM verdicts WHERE run_id = ? AND problem_id = ? AND idx = ?",
                (run_id, problem_id, idx),
            ).fetchone()
            attempt = 1 if last is None else max(1, int(last) + 1)
            conn.execute(_VERDICT_SQL, _verdict_row(run_id, problem_id, idx, verdict, attempt))
            return attempt

        result = self._call(write)
        assert isinstance(result, int)
        return result

    def put_fit(
        self,
        run_id: int,
        kind: str,
        params: dict[str, float],
        created_at: float | None = None,
    ) -> None:
        """Queue an analysis fit (e.g. kind "power_law"), its parameters stored as JSON."""
        row = (
            run_id,
            kind,
            dumps({str(k): float(v) for k, v in params.items()}),
            time.time() if created_at is None else float(created_at),
        )
        self._enqueue(Rows(_FIT_SQL, [row]))

    # ---- reads ---------------------------------------------------------------------------

    def _new_reader(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        try:
            conn = sqlite3.connect(
                uri(self.path, **self._reader_params),
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot open a reader: {e}") from e
        return conn

    def _reader(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        ident = threading.get_ident()
        conn = self._readers.get(ident)
        if conn is None:
            conn = self._new_reader()
            with self._lock:
                self._readers[ident] = conn
        return conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read-only snapshot on this thread's connection."""
        conn = self._reader()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: read failed: {e}") from e

    def _run_row(self, conn: sqlite3.Connection, row: tuple[Any, ...]) -> RunRecord:
        rid, name, created, updated, status, suite, model, backend, params, spp, seed, sb = row[:12]
        pol, prompt_format = row[12:14]
        pids = tuple(
            r[0]
            for r in conn.execute(
                "SELECT problem_id FROM problems WHERE run_id = ? ORDER BY position", (rid,)
            )
        )
        return RunRecord(
            id=rid,
            name=name,
            created_at=created,
            updated_at=updated,
            status=status,
            suite=suite,
            model=model,
            backend=backend,
            params=params_from_json(params),
            samples_per_problem=spp,
            seed=seed,
            sandbox=sb,
            problem_ids=pids,
            policy=pol,
            prompt_format=prompt_format,
        )

    def get_run(self, run_id: int) -> RunRecord:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"{self.path}: no run {run_id}")
            return self._run_row(conn, row)

    def list_runs(self) -> list[RunRecord]:
        with self._read() as conn:
            rows = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id").fetchall()
            return [self._run_row(conn, r) for r in rows]

    def find_run(self, spec: RunSpec) -> RunRecord | None:
        """The latest run with the same suite, problems, model, backend, params and seed."""
        want = params_to_json(spec.params)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE suite = ? AND model = ? AND backend = ? "
                "AND seed = ? AND policy = ? AND prompt_format = ? ORDER BY id DESC",
                (spec.suite, spec.model, spec.backend, spec.seed, spec.policy, spec.prompt_format),
            ).fetchall()
            for row in rows:
                if params_to_json(params_from_json(row[8])) != want:
                    continue
                rec = self._run_row(conn, row)
                if rec.problem_ids == tuple(spec.problem_ids):
                    return rec
        return None

    def put_rendered_prompt(self, run_id: int, problem_id: str, text: str) -> None:
        """Queue the prompt a problem's samples were given as the model saw it (a rendered
        chat template); the first stored stays."""
        self._enqueue(
            Rows(
                "UPDATE problems SET rendered_prompt = ? WHERE run_id = ? AND problem_id = ? "
                "AND rendered_prompt IS NULL",
                [(clean_text(text), run_id, problem_id)],
            )
        )

    def rendered_prompt(self, run_id: int, problem_id: str) -> str | None:
        """The prompt as the model saw it (`put_rendered_prompt`), None when not stored (a raw
        prompt is the problem's own `prompt`)."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT rendered_prompt FROM problems WHERE run_id = ? AND problem_id = ?",
                (run_id, problem_id),
            ).fetchone()
        return None if row is None else row[0]

    def run_problems(self, run_id: int) -> list[Problem]:
        with self._read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(
                f"SELECT {PROBLEM_COLUMNS} FROM problems WHERE run_id = ? ORDER BY position",
                (run_id,),
            ).fetchall()
        return [problem_from_row(r) for r in rows]

    def _require_run(self, conn: sqlite3.Connection, run_id: int) -> list[str]:
        """The run's problem ids in order; StoreError when there is no such run."""
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            raise StoreError(f"{self.path}: no run {run_id}")
        return [
            r[0]
            for r in conn.execute(
                "SELECT problem_id FROM problems WHERE run_id = ? ORDER BY position", (run_id,)
            )
        ]

    def stored_indices(self, run_id: int) -> dict[str, set[int]]:
        """Problem -> indices of its stored samples (every problem of the run is a key)."""
        with self._read() as conn:
            out: dict[str, set[int]] = {pid: set() for pid in self._require_run(conn, run_id)}
            for pid, idx in conn.execute(
                "SELECT problem_id, idx FROM samples WHERE run_id = ?", (run_id,)
            ):
                out.setdefault(pid, set()).add(idx)
        return out

    def unverified(self, run_id: int) -> list[SampleRecord]:
        """Stored samples with no verdict at all (e.g. verification cut short by a crash)."""
        with self._read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(
                f"SELECT {_SAMPLE_COLUMNS} FROM samples AS s "
                "JOIN problems AS p ON p.run_id = s.run_id AND p.problem_id = s.problem_id "
                "WHERE s.run_id = ? AND NOT EXISTS (SELECT 1 FROM verdicts AS v "
                "WHERE v.run_id = s.run_id AND v.problem_id = s.problem_id AND v.idx = s.idx) "
                "ORDER BY p.position, s.idx",
                (run_id,),
            ).fetchall()
        return [_sample_record(r, None) for r in rows]

    def counts(self, run_id: int) -> dict[str, tuple[int, int]]:
        """Problem -> (n verified, c passed) over attempt-0 verdicts; every problem of the
        run, in run order, (0, 0) when it has none. O(problems): kept by the writer (new
        verdicts) and by triggers (changed or deleted ones)."""
        with self._read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(
                "SELECT p.problem_id, coalesce(k.n, 0), coalesce(k.c, 0) FROM problems AS p "
                "LEFT JOIN problem_counts AS k "
                "ON k.run_id = p.run_id AND k.problem_id = p.problem_id "
                "WHERE p.run_id = ? ORDER BY p.position",
                (run_id,),
            ).fetchall()
        return {pid: (int(n), int(c)) for pid, n, c in rows}

    def base_counts(self, run_id: int) -> dict[str, tuple[int, int, int]]:
        """Problem -> (n judged under both test sets, passed the base tests, passed both) over
        attempt-0 verdicts, for the problems that have base tests (EvalPlus suites); empty when
        none has. A sample passing base but not both is a base-test false positive."""
        with self._read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(_BASE_COUNTS_SQL, (run_id,)).fetchall()
        return {pid: (int(n), int(b or 0), int(both or 0)) for pid, n, b, both in rows}

    def get_sample(self, run_id: int, problem_id: str, idx: int) -> SampleRecord | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_SAMPLE_COLUMNS}, {_VERDICT_SELECT} FROM samples AS s "
                f"{_LATEST_VERDICT_JOIN} "
                "WHERE s.run_id = ? AND s.problem_id = ? AND s.idx = ?",
                (run_id, problem_id, idx),
            ).fetchone()
        return None if row is None else _sample_with_verdict(row)

    def samples(self, run_id: int, problem_id: str | None = None) -> list[SampleRecord]:
        """Samples with their latest verdicts, in run order then index order."""
        where = "s.run_id = ?" + (" AND s.problem_id = ?" if problem_id is not None else "")
        args: tuple[object, ...] = (run_id,) if problem_id is None else (run_id, problem_id)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_SAMPLE_COLUMNS}, {_VERDICT_SELECT} FROM samples AS s "
                "JOIN problems AS p ON p.run_id = s.run_id AND p.problem_id = s.problem_id "
                f"{_LATEST_VERDICT_JOIN} WHERE {where} ORDER BY p.position, s.idx",
                args,
            ).fetchall()
        return [_sample_with_verdict(r) for r in rows]

    def verdict_codes(
        self, run_id: int, codes: Mapping[str, int], *, stored: int, unknown: int
    ) -> Iterator[tuple[str, bytearray]]:
        """`verdict_grid` as one byte per sample index, problem after problem in run order
        (what the app's grid holds): ``codes[status]`` of the attempt-0 verdict (``unknown``
        for a status not in ``codes``), ``stored`` for a sample stored without a verdict, 0
        where no sample is stored; as long as the problem's largest stored index + 1.
        Millions of samples in about a second: the indices come grouped by status from SQLite
        and are placed with numpy, never one Python object per sample."""
        import numpy as np

        with self._read() as conn:
            pids = self._require_run(conn, run_id)
        conn = self._new_reader()
        try:
            conn.execute("BEGIN")
            for pid in pids:
                n, top = conn.execute(
                    "SELECT count(*), max(idx) FROM samples WHERE run_id = ? AND problem_id = ?",
                    (run_id, pid),
                ).fetchone()
                if not n:
                    yield pid, bytearray()
                    continue
                row = np.zeros(int(top) + 1, dtype=np.uint8)
                if n == top + 1:
                    row[:] = stored
                else:
                    (idx,) = conn.execute(
                        "SELECT group_concat(idx) FROM samples WHERE run_id = ? AND problem_id = ?",
                        (run_id, pid),
                    ).fetchone()
                    row[np.array(idx.split(","), dtype=np.int64)] = stored
                for status, idx in conn.execute(
                    "SELECT status, group_concat(idx) FROM verdicts WHERE run_id = ? "
                    "AND problem_id = ? AND attempt = 0 GROUP BY status",
                    (run_id, pid),
                ):
                    row[np.array(idx.split(","), dtype=np.int64)] = codes.get(status, unknown)
                yield pid, bytearray(row.tobytes())
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: read failed: {e}") from e
        finally:
            conn.close()

    def verdict_grid(self, run_id: int) -> dict[str, dict[int, str]]:
        """Problem -> index -> attempt-0 verdict status ("pending": stored, not verified).
        Every problem of the run is a key, in run order."""
        with self._read() as conn:
            grid: dict[str, dict[int, str]] = {pid: {} for pid in self._require_run(conn, run_id)}
            for pid, idx, status in conn.execute(
                "SELECT s.problem_id, s.idx, v.status FROM samples AS s LEFT JOIN verdicts AS v "
                "ON v.run_id = s.run_id AND v.problem_id = s.problem_id AND v.idx = s.idx "
                "AND v.attempt = 0 WHERE s.run_id = ?",
                (run_id,),
            ):
                grid.setdefault(pid, {})[idx] = "pending" if status is None else status
        return grid

    def verdicts(self, run_id: int, problem_id: str, idx: int) -> list[tuple[int, Verdict]]:
        """Every verdict of one sample as (attempt, verdict), attempt 0 (the one that counts)
        first, then the re-verifications."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT attempt, {VERDICT_COLUMNS} FROM verdicts "
                "WHERE run_id = ? AND problem_id = ? AND idx = ? ORDER BY attempt",
                (run_id, problem_id, idx),
            ).fetchall()
        return [(int(r[0]), verdict_from_row(r[1:])) for r in rows]

    def usage(self, run_id: int) -> tuple[int, int, int]:
        """(samples stored, their prompt tokens, their completion tokens) of a run."""
        with self._read() as conn:
            self._require_run(conn, run_id)
            n, p, c = conn.execute(
                "SELECT count(*), coalesce(sum(prompt_tokens), 0), "
                "coalesce(sum(completion_tokens), 0) FROM samples WHERE run_id = ?",
                (run_id,),
            ).fetchone()
        return int(n), int(p), int(c)

    def finish_counts(self, run_id: int) -> tuple[int, int, int]:
        """(samples stored, of them cut off by max_tokens, of them with thinking), read from
        problem_counts and partial indexes only (fast at millions of samples)."""
        with self._read() as conn:
            self._require_run(conn, run_id)
            (n,) = conn.execute(  # kept per problem: O(problems)
                "SELECT coalesce(sum(stored), 0) FROM problem_counts WHERE run_id = ?", (run_id,)
            ).fetchone()
            (cut,) = conn.execute(
                "SELECT count(*) FROM samples WHERE run_id = ? AND finish_reason = 'length'",
                (run_id,),
            ).fetchone()
            (thinking,) = conn.execute(
                "SELECT count(*) FROM samples WHERE run_id = ? AND thinking != ''", (run_id,)
            ).fetchone()
        return int(n), int(cut), int(thinking)

    def fits(self, run_id: int) -> list[tuple[str, dict[str, float], float]]:
        """(kind, params, created_at) of the run's fits, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT kind, params, created_at FROM fits WHERE run_id = ? "
                "ORDER BY created_at, id",
                (run_id,),
            ).fetchall()
        return [(k, float_map(loads(p, "fit params"), "fit params"), t) for k, p, t in rows]

    def samples_verdict0(self, run_id: int) -> list[tuple[SampleRecord, float | None]]:
        """Every sample of a run in run order then index order, with its attempt-0 verdict
        (the one `counts` uses; None while unverified) as `SampleRecord.verdict`, and the time
        that verdict was stored (for reports, export and cost)."""
        return list(self.iter_samples_verdict0(run_id))

    def iter_samples_verdict0(
        self, run_id: int, *, chunk: int = 2000
    ) -> Iterator[tuple[SampleRecord, float | None]]:
        """`samples_verdict0` streamed: problem after problem in run order, each read along
        the primary key, `chunk` rows in memory at a time (export of millions of samples in
        flat memory). Reads on a connection of its own, one snapshot for the whole run, so the
        caller may read the store meanwhile."""
        with self._read() as conn:
            pids = self._require_run(conn, run_id)
        conn = self._new_reader()
        try:
            conn.execute("BEGIN")
            for pid in pids:
                cur = conn.execute(
                    f"SELECT {_SAMPLE_COLUMNS}, {_VERDICT_SELECT}, v.created_at "
                    "FROM samples AS s LEFT JOIN verdicts AS v ON v.run_id = s.run_id "
                    "AND v.problem_id = s.problem_id AND v.idx = s.idx AND v.attempt = 0 "
                    "WHERE s.run_id = ? AND s.problem_id = ? ORDER BY s.idx",
                    (run_id, pid),
                )
                while rows := cur.fetchmany(chunk):
                    for r in rows:
                        yield _sample_with_verdict(r[:-1]), r[-1]
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: read failed: {e}") from e
        finally:
            conn.close()

    def iter_report_rows(
        self, run_id: int, *, texts: Container[str] = frozenset()
    ) -> Iterator[ReportRows]:
        """Per problem in run order, what reports read of its samples, in index order: their
        numbers (`REPORT_ROW`), their attempt-0 verdicts (`REPORT_VERDICT`), and for the
        problems in `texts` every sample's text (else []): no metadata decoded, no record
        built, no join (three scans along the primary keys). One problem in memory at a time;
        one snapshot, on a connection of its own, so the caller may read the store meanwhile."""
        with self._read() as conn:
            pids = self._require_run(conn, run_id)
        conn = self._new_reader()
        try:
            conn.execute("BEGIN")
            for pid in pids:
                key = (run_id, pid)
                rows = conn.execute(
                    "SELECT idx, prompt_tokens, completion_tokens, finish_reason = 'length', "
                    "gen_seconds, created_at FROM samples "
                    "WHERE run_id = ? AND problem_id = ? ORDER BY idx",
                    key,
                ).fetchall()
                verdicts = conn.execute(
                    "SELECT idx, passed, duration_s, created_at FROM verdicts "
                    "WHERE run_id = ? AND problem_id = ? AND attempt = 0 ORDER BY idx",
                    key,
                ).fetchall()
                got = []
                if pid in texts:
                    got = conn.execute(
                        "SELECT text FROM samples WHERE run_id = ? AND problem_id = ? ORDER BY idx",
                        key,
                    ).fetchall()
                yield ReportRows(pid, rows, verdicts, [t for (t,) in got])
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: read failed: {e}") from e
        finally:
            conn.close()

    # ---- test audits ----------------------------------------------------------------------

    def put_audit(self, audit: ProblemAudit) -> None:
        """Store the audit of one problem's tests (synchronous), replacing an earlier audit of
        the same problem and tests."""
        where = "problem_id = ? AND tests_key = ?"
        key = (audit.problem_id, audit.tests_key)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(f"DELETE FROM suspect_tests WHERE {where}", key)
            conn.execute(f"DELETE FROM test_audits WHERE {where}", key)
            conn.execute(
                f"INSERT INTO test_audits ({AUDIT_COLUMNS}) VALUES ({', '.join('?' * 12)})",
                audit_row(audit),
            )
            conn.executemany(
                f"INSERT INTO suspect_tests ({SUSPECT_COLUMNS}) VALUES ({', '.join('?' * 10)})",
                suspect_rows(audit),
            )

        self._call(write)

    def audits(self, problems: Iterable[Problem]) -> dict[str, ProblemAudit]:
        """Problem id -> the stored audit of its current tests (`tests_key`), for the problems
        that have one."""
        keys = {p.id: audit_key(p) for p in problems}
        out: dict[str, ProblemAudit] = {}
        with self._read() as conn:
            for pid, key in keys.items():
                row = conn.execute(
                    f"SELECT {AUDIT_COLUMNS} FROM test_audits "
                    "WHERE problem_id = ? AND tests_key = ?",
                    (pid, key),
                ).fetchone()
                if row is None:
                    continue
                suspects = conn.execute(
                    f"SELECT {SUSPECT_COLUMNS} FROM suspect_tests "
                    "WHERE problem_id = ? AND tests_key = ? ORDER BY test",
                    (pid, key),
                ).fetchall()
                out[pid] = audit_from_row(row, tuple(suspect_from_row(r) for r in suspects))
        return out

    def run_audits(self, run_id: int) -> dict[str, ProblemAudit]:
        """The stored audits of a run's problems (as the run stored them), in run order."""
        return self.audits(self.run_problems(run_id))

    def verdict_attempts(self, run_id: int) -> dict[str, dict[int, dict[int, str]]]:
        """Problem -> index -> attempt -> status, over every verdict of the run (attempt 0 and
        the re-verifications); every problem of the run is a key, in run order."""
        with self._read() as conn:
            out: dict[str, dict[int, dict[int, str]]] = {
                pid: {} for pid in self._require_run(conn, run_id)
            }
            for pid, idx, attempt, status in conn.execute(
                "SELECT problem_id, idx, attempt, status FROM verdicts WHERE run_id = ? "
                "ORDER BY problem_id, idx, attempt",
                (run_id,),
            ):
                out.setdefault(pid, {}).setdefault(int(idx), {})[int(attempt)] = str(status)
        return out


# ---- helpers -------------------------------------------------------------------------------


class _Metas:
    """The JSON of the metas of one batch of samples, each distinct meta encoded once: a meta
    object seen before by identity (a backend's samples often share one), else by ``repr``
    (which tells 0.0 from -0.0). Held only while the batch is converted."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Mapping[str, float], str]] = {}
        self._by_repr: dict[str, str] = {}

    def json(self, meta: Mapping[str, float]) -> str:
        got = self._by_id.get(id(meta))
        if got is not None and got[0] is meta:
            return got[1]
        key = repr(meta)
        out = self._by_repr.get(key)
        if out is None:
            out = self._by_repr[key] = _meta_json(meta)
        self._by_id[id(meta)] = (meta, out)  # the meta is held: its id is not reused
        return out


def _meta_json(meta: Mapping[str, float]) -> str:
    return dumps({str(k): float(v) for k, v in meta.items()})


def _sample_row(run_id: int, s: SampleFinished, now: float, metas: _Metas | None = None) -> Row:
    if s.index < 0:
        raise StoreError(f"sample index must be >= 0, got {s.index}")
    return (
        run_id,
        s.problem_id,
        s.index,
        s.seed,
        clean_text(s.text),
        s.prompt_tokens,
        s.completion_tokens,
        s.finish_reason,
        float(s.seconds),
        _meta_json(s.meta) if metas is None else metas.json(s.meta),
        now,
        clean_text(s.reasoning),
    )


_RUN_PROBLEM = operator.itemgetter(0, 1)  # of a sample or verdict row
_RUN_PROBLEM_ATTEMPT = operator.itemgetter(0, 1, 3)  # of a verdict row
_COUNTED = operator.itemgetter(0, 1, 3, 5)  # of a verdict row: run, problem, attempt, passed


def _count_verdicts(conn: sqlite3.Connection, stored: list[Row], unsure: list[Row]) -> None:
    """Add verdict rows (`_VERDICT_SQL`) just stored to `problem_counts`: (n, c) of each
    problem grows by its new attempt-0 verdicts and their passes. A problem with `unsure` rows
    (some ignored as already stored, which not known) is counted again from its verdicts."""
    recount = {(run, pid) for run, pid, attempt in map(_RUN_PROBLEM_ATTEMPT, unsure) if not attempt}
    tally: dict[tuple[object, object], list[int]] = {}
    # (run, problem, attempt, passed) counted in C: millions of rows, a few distinct keys
    for (run, pid, attempt, passed), k in Counter(map(_COUNTED, stored)).items():
        if attempt == 0:
            t = tally.setdefault((run, pid), [0, 0])
            t[0] += k
            if passed:
                t[1] += k
    conn.executemany(
        _COUNT_SQL, [(*key, n, c) for key, (n, c) in tally.items() if key not in recount]
    )
    conn.executemany(_RECOUNT_SQL, [(*key, *key) for key in recount])


def _count_samples(conn: sqlite3.Connection, stored: list[Row], unsure: list[Row]) -> None:
    """Add sample rows (`_SAMPLE_SQL`) just stored to `problem_counts.stored`, per problem; a
    problem with `unsure` rows (some ignored as already stored) is counted again."""
    recount = set(map(_RUN_PROBLEM, unsure))
    tally = Counter(map(_RUN_PROBLEM, stored))  # counted in C: millions of rows
    conn.executemany(
        _COUNT_SAMPLES_SQL, [(*key, n) for key, n in tally.items() if key not in recount]
    )
    conn.executemany(_RECOUNT_SAMPLES_SQL, [(*key, *key) for key in recount])


def _verdict_row(run_id: int, problem_id: str, idx: int, v: Verdict, attempt: int) -> Row:
    if attempt < 0:
        raise StoreError(f"verdict attempt must be >= 0, got {attempt}")
    head, tail = _verdict_columns(v)
    return (run_id, problem_id, idx, attempt, *head, time.time(), *tail)


def _verdict_columns(v: Verdict) -> tuple[Row, Row]:
    """A verdict's columns before `created_at` and after it."""
    return (
        (
            str(v.status.value),
            1 if v.passed else 0,
            float(v.duration_s),
            v.exit_code,
            None if v.failing_test is None else clean_text(v.failing_test),
            clean_text(v.stdout),
            clean_text(v.stderr),
            v.sandbox,
        ),
        (None if v.base_passed is None else int(v.base_passed),),
    )


def _sample_record(row: tuple[Any, ...], verdict: Verdict | None) -> SampleRecord:
    run_id, pid, idx, seed, text, pt, ct, fr, gs, created, meta, thinking = row[:12]
    return SampleRecord(
        run_id=run_id,
        problem_id=pid,
        idx=idx,
        seed=seed,
        text=text,
        prompt_tokens=pt,
        completion_tokens=ct,
        finish_reason=fr,
        gen_seconds=gs,
        created_at=created,
        verdict=verdict,
        meta=float_map(loads(meta, "sample meta"), "sample meta"),
        thinking=thinking,
    )


def _sample_with_verdict(row: tuple[Any, ...]) -> SampleRecord:
    v = row[12:]
    return _sample_record(row, None if v[0] is None else verdict_from_row(v))
