"""Opening: fresh files, migrations of older stores, and refusing what is not ours."""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from store import (
    APP,
    META_TABLE,
    MIGRATIONS,
    MIGRATIONS_TABLE,
    Migration,
    Migrations,
    Store,
    StoreError,
)
from verify._verdict import Status, Verdict


def snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    """The file's bytes, its mtime, and the files beside it."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent))


def make_store(path: Path, h: Any, samples: int = 0) -> int:
    """A real store at `path` with one run (and `samples` verified samples), closed."""
    probs = h.make_problems(3)
    with Store.open(path) as store:
        rid: int = store.create_run(h.make_spec(probs), probs)
        for i in range(samples):
            pid = probs[i % 3].id
            store.put_sample(rid, h.sample(pid, i, text="x" * 500))
            store.put_verdict(rid, pid, i, Verdict(Status.PASS, 0.1))
    return rid


def assert_refused(path: Path, match: str) -> None:
    before = snapshot(path)
    with pytest.raises(StoreError, match=match):
        Store.open(path)
    assert snapshot(path) == before


# ---- fresh ---------------------------------------------------------------------------------


def test_new_file_is_created_with_meta(db_path: Path) -> None:
    with Store.open(db_path) as store:
        assert store.path == db_path
        assert store.list_runs() == []
    with sqlite3.connect(db_path) as raw:
        meta = dict(raw.execute(f"SELECT key, value FROM {META_TABLE}").fetchall())
        names = [r[0] for r in raw.execute(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY rowid")]
        mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
    assert meta == {"app": APP, "schema_version": str(MIGRATIONS.version)}
    assert names == list(MIGRATIONS.names)
    assert mode == "wal"


def test_empty_file_is_created_fresh(db_path: Path) -> None:
    db_path.touch()
    with Store.open(db_path) as store:
        assert store.list_runs() == []
    assert db_path.stat().st_size > 0


def test_empty_sqlite_database_is_adopted(db_path: Path) -> None:
    sqlite3.connect(db_path).close()
    with sqlite3.connect(db_path) as raw:
        raw.execute("PRAGMA user_version = 0")
    with Store.open(db_path) as store:
        assert store.list_runs() == []


def test_reopen_keeps_data_and_applies_nothing(db_path: Path, h: Any) -> None:
    rid = make_store(db_path, h, samples=9)
    with sqlite3.connect(db_path) as raw:
        applied = raw.execute(f"SELECT name, applied_at FROM {MIGRATIONS_TABLE}").fetchall()
    with Store.open(db_path) as store:
        assert store.counts(rid) == {"T/0": (3, 3), "T/1": (3, 3), "T/2": (3, 3)}
    with sqlite3.connect(db_path) as raw:
        assert raw.execute(f"SELECT name, applied_at FROM {MIGRATIONS_TABLE}").fetchall() == applied


def test_a_closed_store_is_whole_in_its_db_file(db_path: Path, h: Any, tmp_path: Path) -> None:
    """Closing checkpoints the write-ahead log into the .db file and removes it, also after
    reads from other threads' connections: a copy of the .db file alone has every commit."""
    import shutil
    import threading

    probs = h.make_problems(3)
    with Store.open(db_path) as store:
        rid = store.create_run(h.make_spec(probs), probs)
        for i in range(300):
            store.put_sample(rid, h.sample(probs[i % 3].id, i, text="x" * 500))
            store.put_verdict(rid, probs[i % 3].id, i, Verdict(Status.PASS, 0.1))
        store.flush()
        seen: list[dict[str, tuple[int, int]]] = []
        reader = threading.Thread(target=lambda: seen.append(store.counts(rid)))
        reader.start()
        reader.join()
        assert seen == [store.counts(rid)]  # readers on two threads are open now
    assert not Path(f"{db_path}-wal").exists()
    copy = tmp_path / "copy" / "m.db"
    copy.parent.mkdir()
    shutil.copyfile(db_path, copy)
    with Store.open(copy) as store:
        assert store.counts(rid) == {"T/0": (100, 100), "T/1": (100, 100), "T/2": (100, 100)}


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "no" / "such" / "dir" / "m.db")
    assert not (tmp_path / "no").exists()


def test_path_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a regular file"):
        Store.open(tmp_path)


# ---- refused -------------------------------------------------------------------------------


def test_not_ours(db_path: Path) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        raw.execute("INSERT INTO customers (name) VALUES ('ada')")
    raw.close()
    assert_refused(db_path, "not a monkeys store.*customers")


def test_meta_of_another_app(db_path: Path) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"CREATE TABLE {META_TABLE} (key TEXT PRIMARY KEY, value TEXT)")
        raw.execute(f"INSERT INTO {META_TABLE} VALUES ('app', 'gorillas')")
    raw.close()
    assert_refused(db_path, "not a monkeys store.*gorillas")


@pytest.mark.parametrize("size", [1, 50, 100, 4096, 70_000])
def test_random_bytes(db_path: Path, size: int) -> None:
    db_path.write_bytes(random.Random(size).randbytes(size))
    assert_refused(db_path, "not an SQLite database")


def test_text_file(db_path: Path) -> None:
    db_path.write_text("run_id,problem\n1,HumanEval/0\n")
    assert_refused(db_path, "not an SQLite database")


def test_truncated(db_path: Path, h: Any) -> None:
    make_store(db_path, h, samples=300)
    data = db_path.read_bytes()
    assert len(data) > 8 * 4096
    db_path.write_bytes(data[: len(data) // 2])
    assert_refused(db_path, "truncated")


def test_truncated_to_header_fragment(db_path: Path, h: Any) -> None:
    make_store(db_path, h)
    db_path.write_bytes(db_path.read_bytes()[:60])
    assert_refused(db_path, "not an SQLite database")


def test_garbage_after_valid_header(db_path: Path, h: Any) -> None:
    make_store(db_path, h, samples=30)
    data = db_path.read_bytes()
    noise = random.Random(1).randbytes(len(data) - 100)
    db_path.write_bytes(data[:100] + noise)
    assert_refused(db_path, "corrupt")


def test_newer_schema_version(db_path: Path, h: Any) -> None:
    make_store(db_path, h, samples=3)
    with sqlite3.connect(db_path) as raw:
        raw.execute(
            f"UPDATE {META_TABLE} SET value = ? WHERE key = 'schema_version'",
            (str(MIGRATIONS.version + 1),),
        )
    raw.close()
    assert_refused(db_path, f"newer monkeys.*schema_version {MIGRATIONS.version + 1}")


def test_unknown_migration(db_path: Path, h: Any) -> None:
    make_store(db_path, h)
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"INSERT INTO {MIGRATIONS_TABLE} VALUES ('9999_from_the_future', 1.0)")
    raw.close()
    assert_refused(db_path, "newer monkeys.*9999_from_the_future")


def test_newer_store_left_in_wal_after_a_crash(db_path: Path, h: Any) -> None:
    """A newer store whose last writer died (its -wal still there) is refused untouched."""
    make_store(db_path, h)
    raw = sqlite3.connect(db_path, isolation_level=None)
    raw.execute("PRAGMA journal_mode = WAL")
    raw.execute(f"INSERT INTO {MIGRATIONS_TABLE} VALUES ('9999_from_the_future', 1.0)")
    # Keep the WAL un-checkpointed by leaving the connection open while we look.
    before = db_path.read_bytes(), db_path.stat().st_mtime_ns
    try:
        with pytest.raises(StoreError, match="9999_from_the_future"):
            Store.open(db_path)
        assert (db_path.read_bytes(), db_path.stat().st_mtime_ns) == before
    finally:
        raw.close()


# ---- migrations ----------------------------------------------------------------------------


def test_older_store_is_migrated(db_path: Path, h: Any) -> None:
    """A store made by the first migration only (no fits, no counts table) is upgraded, and
    its per-problem counts are backfilled from the verdicts it already has."""
    raw = sqlite3.connect(db_path, isolation_level=None)
    MIGRATIONS.apply(raw, upto="0001_initial")
    h.raw_run(raw, 3, ["a", "b"])
    outcomes = {("a", 0): "pass", ("a", 1): "fail", ("a", 2): "pass", ("b", 0): "timeout"}
    for (pid, i), status in outcomes.items():
        h.raw_sample(raw, pid, i)
        raw.execute(
            "INSERT INTO verdicts (run_id, problem_id, idx, status, passed, duration_s, "
            "created_at) VALUES (1, ?, ?, ?, ?, 0.1, 1)",
            (pid, i, status, int(status == "pass")),
        )
    assert raw.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'").fetchone()[
        0
    ] == str(1)
    raw.close()

    with Store.open(db_path) as store:
        assert store.counts(1) == {"a": (3, 2), "b": (1, 0)}
        store.put_fit(1, "power_law", {"a": -1.0, "b": -0.5})
        store.flush()
        assert [k for k, _, _ in store.fits(1)] == ["power_law"]
        assert store.get_run(1).params.temperature == 0.5
    with sqlite3.connect(db_path) as raw2:
        names = [r[0] for r in raw2.execute(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY rowid")]
        version = raw2.execute(f"SELECT value FROM {META_TABLE} WHERE key='schema_version'")
        assert version.fetchone()[0] == str(MIGRATIONS.version)
    raw2.close()
    assert names == list(MIGRATIONS.names)


def test_migration_runner_decorator_and_idempotence(tmp_path: Path) -> None:
    migrations = Migrations((Migration("m1", "CREATE TABLE a (x INTEGER);"),))

    @migrations
    def m2(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO a VALUES (42)")

    assert migrations.names == ("m1", "m2") and migrations.version == 2
    with pytest.raises(ValueError, match="duplicate"):
        migrations.add(Migration("m1", "SELECT 1;"))
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    assert migrations.apply(conn) == ["m1", "m2"]
    assert migrations.apply(conn) == []
    assert conn.execute("SELECT x FROM a").fetchall() == [(42,)]
    conn.close()


def test_failing_migration_rolls_back(tmp_path: Path) -> None:
    migrations = Migrations(
        (
            Migration("ok", "CREATE TABLE a (x INTEGER);"),
            Migration("broken", "CREATE TABLE b (y INTEGER); INSERT INTO nope VALUES (1);"),
        )
    )
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="nope"):
        migrations.apply(conn)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == set()  # all or nothing
    conn.close()
