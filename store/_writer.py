"""The store's writer: one thread that owns the read-write connection, fed by a queue.

Queued rows (`Rows`) are committed in batches: up to `batch_rows` rows or `batch_s` seconds
after the first queued item, whichever comes first; a `Call` (a function of the connection, run
inside the writer's transaction) or a `flush` commits at once. A write that fails is never dropped
silently: it is recorded and the next enqueue / flush / call / close raises StoreError.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from store._records import StoreError

log = logging.getLogger(__name__)

QUEUE_MAX_ITEMS = 100_000  # a put blocks (backpressure) only when this many items are waiting
MULTI_ROWS = 256  # rows an INSERT writes per statement when a batch has that many

Row = tuple[object, ...]


Stored = Callable[[sqlite3.Connection, list[Row], list[Row]], None]


@dataclass
class Rows:
    """Rows of one statement. `stored` (for an INSERT OR IGNORE) is called in the same
    transaction, after them, with the rows it stored and the rows it may have ignored: those of
    a statement that stored fewer rows than it was given, which of them not known (rare: a
    conflict)."""

    sql: str
    rows: list[Row]
    stored: Stored | None = None
    # The rows' values in one list, row after row, when the producer made it (`flat_rows`):
    # the writer slices its many-row statements' parameters from it (the writer's thread is
    # the ingest's bottleneck; the producer's has time to spare).
    flat: list[object] | None = None


@dataclass
class Call:
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


Item = Rows | Call | _Flush | _Stop


class Writer:
    """The writer thread of one store file and what it has failed to write."""

    def __init__(self, path: Path, conn: sqlite3.Connection, batch_rows: int, batch_s: float):
        self.path = path
        self._wconn = conn
        self._batch_rows = batch_rows
        self._batch_s = batch_s
        self._queue: queue.Queue[Item] = queue.Queue(maxsize=QUEUE_MAX_ITEMS)
        self._lock = threading.Lock()
        self._put_lock = threading.Lock()  # never taken by the writer thread
        self._closed = False
        self._errors: list[BaseException] = []
        self._failed_rows = 0
        self._thread = threading.Thread(
            target=self._main, name=f"monkeys-store-writer:{path.name}", daemon=True
        )
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Commit everything queued and stop the thread (idempotent); raise StoreError if a
        queued write failed and was not yet reported."""
        with self._put_lock:
            if self._closed:
                return
            self._closed = True
        stop = _Stop()
        if self._thread.is_alive():
            self._queue.put(stop)
            self._thread.join()
        self.raise_pending()

    def _main(self) -> None:
        conn = self._wconn
        stopping = False
        try:
            while not stopping:
                first = self._queue.get()
                batch: list[Item] = [first]
                nrows = len(first.rows) if isinstance(first, Rows) else 0
                urgent = not isinstance(first, Rows)
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
                    if isinstance(item, Rows):
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
                    if isinstance(item, Call | _Flush):
                        item.done.set()
                    elif isinstance(item, _Stop):
                        stopping = True
                        item.done.set()
        finally:
            with contextlib.suppress(sqlite3.Error):
                # statistics from a sample of each index (SQLite's advice for `optimize`): a
                # full ANALYZE reads every row, 0.9 s at 5,000,000 samples when a run ends
                conn.execute("PRAGMA analysis_limit = 1000")
                conn.execute("PRAGMA optimize")
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _rollback(self) -> None:
        if self._wconn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._wconn.execute("ROLLBACK")

    def _commit(self, batch: list[Item]) -> None:
        if not any(isinstance(i, Rows | Call) for i in batch):
            return
        conn = self._wconn
        try:
            conn.execute("BEGIN IMMEDIATE")
            for group in _grouped(batch):
                if isinstance(group, Rows):
                    _insert(conn, group)
                elif isinstance(group, Call):
                    self._run_call(group)
            conn.execute("COMMIT")
            return
        except sqlite3.Error:
            self._rollback()
        # Something in the batch failed: store what can be stored, row by row; report the rest.
        for item in batch:
            if isinstance(item, Call):
                item.result, item.error = None, None
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            self._fail_batch(batch, e)
            return
        row_errors: list[BaseException] = []
        for item in batch:
            if isinstance(item, Rows):
                stored: list[Row] = []
                for row in item.rows:
                    try:
                        if conn.execute(item.sql, row).rowcount == 1:
                            stored.append(row)
                    except sqlite3.Error as e:
                        if not conn.in_transaction:  # the error rolled the transaction back
                            self._fail_batch(batch, e)
                            return
                        row_errors.append(e)
                if item.stored is not None:
                    try:
                        item.stored(conn, stored, [])
                    except sqlite3.Error as e:
                        self._rollback()
                        self._fail_batch(batch, e)
                        return
            elif isinstance(item, Call):
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

    def _run_call(self, call: Call) -> None:
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

    def _fail_batch(self, batch: list[Item], cause: BaseException) -> None:
        rows = 0
        for item in batch:
            if isinstance(item, Rows):
                rows += len(item.rows)
            elif isinstance(item, Call):
                item.result = None
                item.error = cause
        if rows:
            self._record_error(cause, rows)

    def _record_error(self, cause: BaseException, rows: int) -> None:
        with self._lock:
            self._errors.append(cause)
            self._failed_rows += rows

    def raise_pending(self) -> None:
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

    def check_open(self) -> None:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        if not self._thread.is_alive():
            raise StoreError(f"{self.path}: the store's writer thread has stopped")

    def enqueue(self, item: Item) -> None:
        self.raise_pending()
        with self._put_lock:  # so that nothing is queued behind the writer's stop marker
            self.check_open()
            self._queue.put(item)

    def call(self, fn: Callable[[sqlite3.Connection], object]) -> object:
        """Run `fn` on the writer connection inside the writer's transaction; return once
        committed."""
        call = Call(fn)
        self.enqueue(call)
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
            self.check_open()
            self._queue.put(marker)
        if not marker.done.wait(timeout):
            raise StoreError(f"{self.path}: flush did not finish within {timeout} s")
        self.raise_pending()


_VALUES = re.compile(r"^(INSERT .+ VALUES )(\(\?(?:, \?)*\))$", re.DOTALL)


@functools.lru_cache(maxsize=64)
def _multi_sql(sql: str, limit: int) -> tuple[str, int] | None:
    """`sql`, a one-row ``INSERT ... VALUES (?, ...)``, as an INSERT of n rows at once, and n;
    None when `sql` is not of that form (or n would be 1)."""
    m = _VALUES.match(sql)
    if m is None:
        return None
    head, row = m.groups()
    n = min(MULTI_ROWS, limit // row.count("?"))
    return (head + ", ".join([row] * n), n) if n > 1 else None


def _insert(conn: sqlite3.Connection, rows: Rows) -> None:
    """Run `rows`, in order, then `rows.stored`. An INSERT of many rows goes as statements of
    MULTI_ROWS rows each: the same rows, triggers and conflicts as one by one, but SQLite runs a
    statement without the GIL, so a busy Python thread beside the writer stalls it once per
    statement rather than once per row (and each row costs less)."""
    multi = None
    if len(rows.rows) >= MULTI_ROWS:
        multi = _multi_sql(rows.sql, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    stored: list[Row] = []
    unsure: list[Row] = []

    def tally(chunk: list[Row], changed: int) -> None:
        if rows.stored is not None:
            (stored if changed == len(chunk) else unsure).extend(chunk)

    whole = 0
    if multi is not None:
        sql, n = multi
        whole = len(rows.rows) - len(rows.rows) % n
        width = len(rows.rows[0])
        for i in range(0, whole, n):
            chunk = rows.rows[i : i + n]
            if rows.flat is not None:
                params = rows.flat[i * width : (i + n) * width]
            else:
                params = list(itertools.chain.from_iterable(chunk))
            tally(chunk, conn.execute(sql, params).rowcount)
    rest = rows.rows[whole:] if whole else rows.rows
    if rest:
        tally(rest, conn.executemany(rows.sql, rest).rowcount)
    if rows.stored is not None:
        rows.stored(conn, stored, unsure)


def flat_rows(rows: list[Row]) -> list[object] | None:
    """`Rows.flat` of `rows` where the writer would use it (a many-row batch), else None."""
    return list(itertools.chain.from_iterable(rows)) if len(rows) >= MULTI_ROWS else None


def _grouped(batch: list[Item]) -> Iterator[Rows | Call]:
    """Consecutive row items with the same SQL (and `stored`) merged into one, order kept."""
    current: Rows | None = None
    for item in batch:
        if isinstance(item, Rows):
            if current is not None and (current.sql, current.stored) == (item.sql, item.stored):
                current.rows.extend(item.rows)
                if current.flat is not None and item.flat is not None:
                    current.flat.extend(item.flat)
                else:
                    current.flat = None
            else:
                if current is not None:
                    yield current
                flat = None if item.flat is None else list(item.flat)
                current = Rows(item.sql, list(item.rows), item.stored, flat)
        elif isinstance(item, Call):
            if current is not None:
                yield current
                current = None
            yield item
    if current is not None:
        yield current
