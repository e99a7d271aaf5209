"""A valid store that cannot be written (read-only directory or file) is said to be read-only,
never "corrupt", and opens read-only for reading; concurrent re-verifications of one sample
each get their own attempt number from the store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store import Store, StoreError
from verify._verdict import Status, Verdict

ROOT = Path(__file__).resolve().parents[2]

# Opens the store at argv[1] read-write, then read-only; prints what happened, one line each.
PROBE = """
import sys
from store import Store, StoreError
path = sys.argv[1]
try:
    Store.open(path).close()
    print("write: opened")
except StoreError as e:
    print("write:", e)
try:
    with Store.open(path, read_only=True) as s:
        runs = s.list_runs()
        print("read:", len(runs), "run(s),", sum(n for n, _ in s.counts(runs[0].id).values()))
except StoreError as e:
    print("read:", e)
"""


def _probe(path: Path, read_only: Path) -> list[str]:
    """Run PROBE with `read_only` (the store's directory or file) made read-only: by its mode
    for an ordinary user; as root, which writes through any mode, by a read-only bind mount in
    a private mount namespace."""
    cmd = [sys.executable, "-c", PROBE, str(path)]
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("root needs unshare(1) to make a path read-only")
        ro = str(read_only)
        cmd = [
            "unshare",
            "-m",
            "sh",
            "-c",
            'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"',
            ro,
            *cmd,
        ]
    else:
        read_only.chmod(0o555 if read_only.is_dir() else 0o444)
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


@pytest.fixture
def shared_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "stores"
    d.mkdir()
    try:
        yield d
    finally:
        d.chmod(0o755)


def _make(path: Path, h: Any) -> None:
    probs = h.make_problems(3)
    with Store.open(path) as store:
        rid = store.create_run(h.make_spec(probs), probs)
        for i in range(4):
            store.put_sample(rid, h.sample(probs[0].id, i))
            store.put_verdict(rid, probs[0].id, i, Verdict(Status.PASS, 0.1))


def test_store_in_a_read_only_directory(shared_dir: Path, h: Any) -> None:
    db = shared_dir / "runs.db"
    _make(db, h)
    before = sorted(os.listdir(shared_dir))
    write, read = _probe(db, shared_dir)
    assert "read-only" in write and "corrupt" not in write
    assert str(shared_dir) in write
    assert read == "read: 1 run(s), 4"
    assert sorted(os.listdir(shared_dir)) == before  # no -wal / -shm left behind


def test_read_only_file_in_a_writable_directory(shared_dir: Path, h: Any) -> None:
    db = shared_dir / "runs.db"
    _make(db, h)
    write, read = _probe(db, db)
    assert "the file is read-only" in write and "corrupt" not in write
    assert read == "read: 1 run(s), 4"


def test_read_only_store_refuses_writes_and_missing_files(db_path: Path, h: Any) -> None:
    with pytest.raises(StoreError, match="no monkeys store there yet"):
        Store.open(db_path, read_only=True)
    assert not db_path.exists()
    _make(db_path, h)
    with Store.open(db_path, read_only=True) as store:
        assert store.read_only
        rid = store.list_runs()[0].id
        with pytest.raises(StoreError, match="opened read-only"):
            store.set_status(rid, "done")


def test_concurrent_reverifications_each_get_an_attempt(db_path: Path, h: Any) -> None:
    """Two stores on one file (two writer connections, as two processes would have) and
    several threads each re-verify the same sample at once: every verdict is kept, numbered
    1..N without a gap or a repeat."""
    probs = h.make_problems(1)
    pid = probs[0].id
    with Store.open(db_path) as store:
        rid = store.create_run(h.make_spec(probs), probs)
        store.put_sample(rid, h.sample(pid, 0))
        store.put_verdict(rid, pid, 0, Verdict(Status.PASS, 0.1))
    stores = [Store.open(db_path), Store.open(db_path)]
    per_thread, threads_per_store = 25, 3
    start = threading.Barrier(len(stores) * threads_per_store)
    got: list[int] = []
    lock = threading.Lock()

    def work(store: Store, t: int) -> None:
        start.wait()
        for i in range(per_thread):
            status = Status.PASS if (t + i) % 2 else Status.FAIL
            attempt = store.put_reverification(rid, pid, 0, Verdict(status, 0.01 * i))
            with lock:
                got.append(attempt)

    threads = [
        threading.Thread(target=work, args=(s, t)) for s in stores for t in range(threads_per_store)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for s in stores:
        s.close()
    total = len(stores) * threads_per_store * per_thread
    assert sorted(got) == list(range(1, total + 1))
    with Store.open(db_path, read_only=True) as store:
        attempts = [a for a, _ in store.verdicts(rid, pid, 0)]
    assert attempts == list(range(total + 1))


def test_streamed_samples_in_run_order_while_the_store_is_read(fresh_db: Store, h: Any) -> None:
    """iter_samples_verdict0 gives what samples_verdict0 gives, problem after problem in
    run order, in chunks, and other reads on the same thread work while it streams."""
    probs = h.make_problems(4)
    order = [probs[2], probs[0], probs[3], probs[1]]
    rid = fresh_db.create_run(h.make_spec(order), probs)
    for p in probs:
        for i in reversed(range(7)):
            fresh_db.put_sample(rid, h.sample(p.id, i))
            if i % 3:
                fresh_db.put_verdict(rid, p.id, i, Verdict(Status.FAIL, 0.1))
    fresh_db.flush()
    streamed = []
    for rec, at in fresh_db.iter_samples_verdict0(rid, chunk=3):
        assert fresh_db.get_run(rid).id == rid  # a read in the middle of the stream
        streamed.append((rec, at))
    assert streamed == fresh_db.samples_verdict0(rid)
    assert [(r.problem_id, r.idx) for r, _ in streamed] == [
        (p.id, i) for p in order for i in range(7)
    ]
    assert [r.verdict is not None for r, _ in streamed[:7]] == [bool(i % 3) for i in range(7)]


def test_finish_counts_from_indexes(fresh_db: Store, h: Any) -> None:
    """What show prints about cut-off and thinking samples, counted without reading them."""
    from dataclasses import replace

    probs = h.make_problems(2)
    rid = fresh_db.create_run(h.make_spec(probs), probs)
    for i in range(9):
        s = h.sample(probs[i % 2].id, i)  # finish_reason "length" for odd i
        fresh_db.put_sample(rid, replace(s, reasoning="hmm" if i < 3 else ""))
    fresh_db.flush()
    stored = fresh_db.samples(rid)
    assert fresh_db.finish_counts(rid) == (
        9,
        sum(s.truncated for s in stored),
        sum(bool(s.thinking) for s in stored),
    )
    assert fresh_db.finish_counts(rid)[1:] == (4, 3)
