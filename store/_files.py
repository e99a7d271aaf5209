"""Checking what lies at a store's path, and opening it read-write (migrated) or read-only.

Nothing here writes to a file it has not validated: the header is read first, then the state of
the database on a read-only connection, and only then is it opened for writing.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from store._migrations import MIGRATIONS, DbState, check_compatible, read_state
from store._records import StoreError

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000
WAL_CHECKPOINT_PAGES = 40_000  # about 160 MB of WAL at the default 4 KiB pages
WRITER_CACHE_KIB = 65_536  # the writer's page cache (SQLite's default is 2 MiB)


def uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{path.as_uri()}?{query}"


def check_file(path: Path) -> bool:
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


def inspect_readonly(path: Path) -> DbState | None:
    """The database's state read on a read-only connection; None when that cannot be done
    (a crashed WAL database may need recovery, which needs write access)."""
    # Without a WAL file, read the file as immutable: no locks, no -shm/-wal files created.
    wal = path.with_name(path.name + "-wal")
    params = {"mode": "ro"} if wal.exists() else {"mode": "ro", "immutable": "1"}
    try:
        conn = sqlite3.connect(uri(path, **params), uri=True, isolation_level=None)
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


def read_only_reason(path: Path) -> str | None:
    """Why the store at `path` cannot be written here (None when it can): a read-only file or
    a read-only directory (SQLite writes its -wal and -shm files beside the database)."""
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is read-only"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"its directory {path.parent} is read-only"
    return None


def reader_params(path: Path, writable: bool) -> dict[str, str]:
    """URI parameters of a read-only connection. Where nothing can write the file (a read-only
    directory or file) and there is no WAL to replay, it is read as immutable: no locks, no
    -shm file to create."""
    wal = path.with_name(path.name + "-wal")
    if not writable and not wal.exists():
        return {"mode": "ro", "immutable": "1"}
    return {"mode": "ro"}


def connect_writer(path: Path, fresh: bool) -> sqlite3.Connection:
    """The read-write connection of a store: validated, WAL mode, migrated to this version."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot open it: {e}") from e
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not fresh:  # validated read-write, before anything is written
            conn.execute("BEGIN")
            state = read_state(conn)
            conn.execute("COMMIT")
            check_compatible(state, MIGRATIONS, where=str(path))
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise StoreError(f"{path}: cannot use WAL mode here (journal_mode is {mode}).")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # a page cache of 64 MiB: a run's samples go into the primary-key index at one place
        # per problem (hundreds), whose pages the default 2 MiB keeps re-reading (5,000,000
        # replayed samples: 103 -> 96 s)
        conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        # checkpoint every WAL_CHECKPOINT_PAGES (not SQLite's 1,000): a page written by many
        # commits (the B-tree's upper levels, problem_counts, those index pages) is copied back
        # once per checkpoint; ingesting millions of samples writes about 40% faster than at
        # 1,000 pages, and 4% faster again at 40,000 than at 10,000
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        MIGRATIONS.apply(conn, where=str(path))
    except StoreError:
        conn.close()
        raise
    except sqlite3.DatabaseError as e:
        conn.close()
        raise StoreError(f"{path}: corrupt or not an SQLite database ({e}).") from e
    except BaseException:
        conn.close()
        raise
    return conn
