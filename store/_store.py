"""The store: one SQLite file (WAL), one writer thread fed by a queue, a reader per thread.

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
import queue
import sqlite3
import stat
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from backends._protocol import SampleFinished
from monkeys_suites._problem import Problem
from store._migrations import MIGRATIONS, DbState, check_compatible, read_state
from store._records import (
    AUDIT_COLUMNS,
    POLICIES,
    PROBLEM_COLUMNS,
    RUN_STATUSES,
    SUSPECT_COLUMNS,
    VERDICT_COLUMNS,
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
from verify._audit_types import ProblemAudit, audit_key
from verify._verdict import Verdict

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000
QUEUE_MAX_ITEMS = 100_000  # a put blocks (backpressure) only when this many items are waiting

_SAMPLE_SQL = (
    "INSERT OR IGNORE INTO samples (run_id, problem_id, idx, seed, text, prompt_tokens, "
    "completion_tokens, finish_reason, gen_seconds, meta, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_VERDICT_SQL = (
    "INSERT OR IGNORE INTO verdicts (run_id, problem_id, idx, attempt, status, passed, "
    "duration_s, exit_code, failing_test, stdout, stderr, sandbox, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_FIT_SQL = "INSERT INTO fits (run_id, kind, params, created_at) VALUES (?, ?, ?, ?)"

_RUN_COLUMNS = (
    "id, name, created_at, updated_at, status, suite, model, backend, params, "
    "samples_per_problem, seed, sandbox, policy"
)
_SAMPLE_COLUMNS = (
    "s.run_id, s.problem_id, s.idx, s.seed, s.text, s.prompt_tokens, s.completion_tokens, "
    "s.finish_reason, s.gen_seconds, s.created_at, s.meta"
)
_LATEST_VERDICT_JOIN = (
    "LEFT JOIN verdicts AS v ON v.run_id = s.run_id AND v.problem_id = s.problem_id "
    "AND v.idx = s.idx AND v.attempt = (SELECT max(w.attempt) FROM verdicts AS w "
    "WHERE w.run_id = s.run_id AND w.problem_id = s.problem_id AND w.idx = s.idx)"
)
_VERDICT_SELECT = ", ".join(f"v.{c.strip()}" for c in VERDICT_COLUMNS.split(","))

Row = tuple[object, ...]


# ---- queue items ---------------------------------------------------------------------------


@dataclass
class _Rows:
    sql: str
    rows: list[Row]


@dataclass
class _Call:
    fn: Callable[[sqlite3.Connection], object]
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    error: BaseException | None = None


@dataclass
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Stop:
    done: threading.Event = field(default_factory=threading.Event)


_Item = _Rows | _Call | _Flush | _Stop


# ---- opening -------------------------------------------------------------------------------


def _uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{path.as_uri()}?{query}"


def _check_file(path: Path) -> bool:
    """Validate what lies at `path` without writing to it. True when it is to be created."""
    parent = path.parent
    if not parent.is_dir():
        raise StoreError(f"{path}: directory {parent} does not exist; create it first.")
    try:
        st = path.stat()
    except FileNotFoundError:
        return True
    except OSError as e:
        raise StoreError(f"{path}: cannot read it: {e}") from e
    if not stat.S_ISREG(st.st_mode):
        raise StoreError(f"{path}: not a regular file (a directory?); expected an SQLite store.")
    if st.st_size == 0:
        return True
    try:
        with path.open("rb") as f:
            header = f.read(100)
    except OSError as e:
        raise StoreError(f"{path}: cannot read it: {e}") from e
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise StoreError(f"{path}: not an SQLite database (corrupt or another kind of file).")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid_for = int.from_bytes(header[92:96], "big")
    change_counter = int.from_bytes(header[24:28], "big")
    if page_size < 512 or page_size & (page_size - 1):
        raise StoreError(f"{path}: corrupt SQLite header (page size {page_size}).")
    if valid_for == change_counter and pages * page_size > st.st_size:
        raise StoreError(
            f"{path}: truncated SQLite database ({st.st_size} bytes, its header says "
            f"{pages * page_size}); it is damaged. Restore it from a copy or use another --db."
        )
    return False


def _inspect_readonly(path: Path) -> DbState | None:
    """The database's state read on a read-only connection; None when that cannot be done
    (a crashed WAL database may need recovery, which needs write access)."""
    # Without a WAL file, read the file as immutable: no locks, no -shm/-wal files created.
    wal = path.with_name(path.name + "-wal")
    params = {"mode": "ro"} if wal.exists() else {"mode": "ro", "immutable": "1"}
    try:
        conn = sqlite3.connect(_uri(path, **params), uri=True, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        conn.execute("BEGIN")
        return read_state(conn)
    except sqlite3.DatabaseError as e:
        if isinstance(e, sqlite3.OperationalError) and "recover" in str(e).lower():
            return None
        if isinstance(e, sqlite3.OperationalError) and "unable to open" in str(e).lower():
            return None
        raise StoreError(f"{path}: corrupt or not an SQLite database ({e}).") from e
    finally:
        conn.close()


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

    def __init__(self, path: Path, conn: sqlite3.Connection, batch_rows: int, batch_s: float):
        self.path = path
        self._wconn = conn
        self._batch_rows = batch_rows
        self._batch_s = batch_s
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=QUEUE_MAX_ITEMS)
        self._lock = threading.Lock()
        self._put_lock = threading.Lock()  # never taken by the writer thread
        self._closed = False
        self._errors: list[BaseException] = []
        self._failed_rows = 0
        self._readers: dict[int, sqlite3.Connection] = {}
        self._thread = threading.Thread(
            target=self._writer_main, name=f"monkeys-store-writer:{path.name}", daemon=True
        )
        self._thread.start()
        _OPEN_STORES.add(self)

    # ---- lifecycle -----------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | Path, *, batch_rows: int = 1000, batch_seconds: float = 0.05
    ) -> Store:
        """Open the store at `path`, creating it or migrating it to this version.

        Raises StoreError, leaving the file untouched, when it is not a monkeys store, is
        corrupt, or was written by a newer monkeys.
        """
        if batch_rows < 1 or batch_seconds < 0:
            raise ValueError("batch_rows must be >= 1 and batch_seconds >= 0")
        p = Path(path).expanduser().absolute()
        fresh = _check_file(p)
        if not fresh:
            state = _inspect_readonly(p)
            if state is not None:
                check_compatible(state, MIGRATIONS, where=str(p))
        try:
            conn = sqlite3.connect(p, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise StoreError(f"{p}: cannot open it: {e}") from e
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not fresh:  # validated read-write, before anything is written
                conn.execute("BEGIN")
                state = read_state(conn)
                conn.execute("COMMIT")
                check_compatible(state, MIGRATIONS, where=str(p))
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                raise StoreError(f"{p}: cannot use WAL mode here (journal_mode is {mode}).")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            MIGRATIONS.apply(conn, where=str(p))
        except StoreError:
            conn.close()
            raise
        except sqlite3.DatabaseError as e:
            conn.close()
            raise StoreError(f"{p}: corrupt or not an SQLite database ({e}).") from e
        except BaseException:
            conn.close()
            raise
        return cls(p, conn, batch_rows, batch_seconds)

    def close(self) -> None:
        """Commit everything queued, stop the writer, close connections. Idempotent.

        Raises StoreError if a queued write failed and was not yet reported."""
        with self._put_lock:
            if self._closed:
                return
            self._closed = True
        stop = _Stop()
        if self._thread.is_alive():
            self._queue.put(stop)
            self._thread.join()
        with self._lock:
            readers = list(self._readers.values())
            self._readers.clear()
        for r in readers:
            with contextlib.suppress(sqlite3.Error):
                r.close()
        _OPEN_STORES.discard(self)
        self._raise_pending()

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

    # ---- the writer thread -----------------------------------------------------------------

    def _writer_main(self) -> None:
        conn = self._wconn
        stopping = False
        try:
            while not stopping:
                first = self._queue.get()
                batch: list[_Item] = [first]
                nrows = len(first.rows) if isinstance(first, _Rows) else 0
                urgent = not isinstance(first, _Rows)
                deadline = time.monotonic() + self._batch_s
                while not urgent and nrows < self._batch_rows:
                    left = deadline - time.monotonic()
                    try:
                        item = (
                            self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                        )
                    except queue.Empty:
                        break
                    batch.append(item)
                    if isinstance(item, _Rows):
                        nrows += len(item.rows)
                    else:
                        urgent = True
                try:
                    self._commit(batch)
                except Exception as e:  # a bug or an unexpected failure: report, keep going
                    log.exception("store writer failed")
                    self._rollback()
                    self._fail_batch(batch, e)
                for item in batch:
                    if isinstance(item, _Call | _Flush):
                        item.done.set()
                    elif isinstance(item, _Stop):
                        stopping = True
                        item.done.set()
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _rollback(self) -> None:
        if self._wconn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._wconn.execute("ROLLBACK")

    def _commit(self, batch: list[_Item]) -> None:
        if not any(isinstance(i, _Rows | _Call) for i in batch):
            return
        conn = self._wconn
        try:
            conn.execute("BEGIN IMMEDIATE")
            for group in _grouped(batch):
                if isinstance(group, _Rows):
                    conn.executemany(group.sql, group.rows)
                elif isinstance(group, _Call):
                    self._run_call(group)
            conn.execute("COMMIT")
            return
        except sqlite3.Error:
            self._rollback()
        # Something in the batch failed: store what can be stored, row by row; report the rest.
        for item in batch:
            if isinstance(item, _Call):
                item.result, item.error = None, None
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            self._fail_batch(batch, e)
            return
        row_errors: list[BaseException] = []
        for item in batch:
            if isinstance(item, _Rows):
                for row in item.rows:
                    try:
                        conn.execute(item.sql, row)
                    except sqlite3.Error as e:
                        if not conn.in_transaction:  # the error rolled the transaction back
                            self._fail_batch(batch, e)
                            return
                        row_errors.append(e)
            elif isinstance(item, _Call):
                self._run_call(item)
                if not conn.in_transaction:
                    self._fail_batch(batch, item.error or StoreError("transaction rolled back"))
                    return
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            self._rollback()
            self._fail_batch(batch, e)
            return
        for err in row_errors:
            self._record_error(err, 1)

    def _run_call(self, call: _Call) -> None:
        conn = self._wconn
        conn.execute("SAVEPOINT monkeys_call")
        try:
            call.result = call.fn(conn)
        except Exception as e:
            call.error = e
            if conn.in_transaction:
                conn.execute("ROLLBACK TO monkeys_call")
        if conn.in_transaction:
            conn.execute("RELEASE monkeys_call")

    def _fail_batch(self, batch: list[_Item], cause: BaseException) -> None:
        rows = 0
        for item in batch:
            if isinstance(item, _Rows):
                rows += len(item.rows)
            elif isinstance(item, _Call):
                item.result = None
                item.error = cause
        if rows:
            self._record_error(cause, rows)

    def _record_error(self, cause: BaseException, rows: int) -> None:
        with self._lock:
            self._errors.append(cause)
            self._failed_rows += rows

    def _raise_pending(self) -> None:
        with self._lock:
            if not self._errors:
                return
            errors, failed = self._errors, self._failed_rows
            self._errors, self._failed_rows = [], 0
        first = errors[0]
        raise StoreError(
            f"{self.path}: {failed} queued row(s) could not be written "
            f"({len(errors)} error(s); first: {type(first).__name__}: {first})"
        ) from first

    # ---- queueing ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        if not self._thread.is_alive():
            raise StoreError(f"{self.path}: the store's writer thread has stopped")

    def _enqueue(self, item: _Item) -> None:
        self._raise_pending()
        with self._put_lock:  # so that nothing is queued behind the writer's stop marker
            self._check_open()
            self._queue.put(item)

    def _call(self, fn: Callable[[sqlite3.Connection], object]) -> object:
        """Run `fn` on the writer connection inside the writer's transaction; return once
        committed."""
        call = _Call(fn)
        self._enqueue(call)
        call.done.wait()
        if call.error is not None:
            if isinstance(call.error, StoreError | ValueError):
                raise call.error
            raise StoreError(f"{self.path}: write failed: {call.error}") from call.error
        return call.result

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything queued so far is committed; raise StoreError if any of it
        failed (or if `timeout` seconds pass first)."""
        marker = _Flush()
        with self._put_lock:
            self._check_open()
            self._queue.put(marker)
        if not marker.done.wait(timeout):
            raise StoreError(f"{self.path}: flush did not finish within {timeout} s")
        self._raise_pending()

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
        )

        def write(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO runs (name, created_at, updated_at, status, suite, model, backend, "
                "params, samples_per_problem, seed, sandbox, policy) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                run_row,
            )
            run_id = cur.lastrowid
            assert run_id is not None
            conn.executemany(
                f"INSERT INTO problems (run_id, position, {PROBLEM_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        self._enqueue(_Rows(_SAMPLE_SQL, [_sample_row(run_id, sample, time.time())]))

    def put_samples(self, run_id: int, samples: Iterable[SampleFinished]) -> None:
        """Queue many samples as one item (cheaper than `put_sample` in a loop)."""
        now = time.time()
        rows = [_sample_row(run_id, s, now) for s in samples]
        if rows:
            self._enqueue(_Rows(_SAMPLE_SQL, rows))

    def put_verdict(
        self, run_id: int, problem_id: str, idx: int, verdict: Verdict, attempt: int = 0
    ) -> None:
        """Queue a verdict. (run, problem, idx, attempt) is unique: the first stored wins;
        a re-verification uses attempt >= 1. Attempt 0 is what `counts` uses."""
        self._enqueue(
            _Rows(_VERDICT_SQL, [_verdict_row(run_id, problem_id, idx, verdict, attempt)])
        )

    def put_verdicts(
        self, run_id: int, verdicts: Iterable[tuple[str, int, Verdict]], attempt: int = 0
    ) -> None:
        """Queue many (problem_id, idx, verdict) as one item."""
        rows = [_verdict_row(run_id, pid, i, v, attempt) for pid, i, v in verdicts]
        if rows:
            self._enqueue(_Rows(_VERDICT_SQL, rows))

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
        self._enqueue(_Rows(_FIT_SQL, [row]))

    # ---- reads ---------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        self._check_open()
        ident = threading.get_ident()
        conn = self._readers.get(ident)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    _uri(self.path, mode="ro"),
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            except sqlite3.Error as e:
                raise StoreError(f"{self.path}: cannot open a reader: {e}") from e
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
        rid, name, created, updated, status, suite, model, backend, params, spp, seed, sb, pol = row
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
                "AND seed = ? AND policy = ? ORDER BY id DESC",
                (spec.suite, spec.model, spec.backend, spec.seed, spec.policy),
            ).fetchall()
            for row in rows:
                if params_to_json(params_from_json(row[8])) != want:
                    continue
                rec = self._run_row(conn, row)
                if rec.problem_ids == tuple(spec.problem_ids):
                    return rec
        return None

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
        run, in run order, (0, 0) when it has none. O(problems): kept by triggers."""
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
        with self._read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(
                f"SELECT {_SAMPLE_COLUMNS}, {_VERDICT_SELECT}, v.created_at FROM samples AS s "
                "JOIN problems AS p ON p.run_id = s.run_id AND p.problem_id = s.problem_id "
                "LEFT JOIN verdicts AS v ON v.run_id = s.run_id "
                "AND v.problem_id = s.problem_id AND v.idx = s.idx AND v.attempt = 0 "
                "WHERE s.run_id = ? ORDER BY p.position, s.idx",
                (run_id,),
            ).fetchall()
        return [(_sample_with_verdict(r[:-1]), r[-1]) for r in rows]

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


def _grouped(batch: list[_Item]) -> Iterator[_Rows | _Call]:
    """Consecutive row items with the same SQL merged into one executemany, order kept."""
    current: _Rows | None = None
    for item in batch:
        if isinstance(item, _Rows):
            if current is not None and current.sql == item.sql:
                current.rows.extend(item.rows)
            else:
                if current is not None:
                    yield current
                current = _Rows(item.sql, list(item.rows))
        elif isinstance(item, _Call):
            if current is not None:
                yield current
                current = None
            yield item
    if current is not None:
        yield current


def _sample_row(run_id: int, s: SampleFinished, now: float) -> Row:
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
        dumps({str(k): float(v) for k, v in s.meta.items()}),
        now,
    )


def _verdict_row(run_id: int, problem_id: str, idx: int, v: Verdict, attempt: int) -> Row:
    if attempt < 0:
        raise StoreError(f"verdict attempt must be >= 0, got {attempt}")
    return (
        run_id,
        problem_id,
        idx,
        attempt,
        str(v.status.value),
        1 if v.passed else 0,
        float(v.duration_s),
        v.exit_code,
        None if v.failing_test is None else clean_text(v.failing_test),
        clean_text(v.stdout),
        clean_text(v.stderr),
        v.sandbox,
        time.time(),
    )


def _sample_record(row: tuple[Any, ...], verdict: Verdict | None) -> SampleRecord:
    run_id, pid, idx, seed, text, pt, ct, fr, gs, created, meta = row[:11]
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
    )


def _sample_with_verdict(row: tuple[Any, ...]) -> SampleRecord:
    v = row[11:]
    return _sample_record(row, None if v[0] is None else verdict_from_row(v))
