"""One function opens a session, and nothing is stored until its backend and sandbox are up."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from backends import BackendError
from monkeys_tui._session import RunOptions, open_session
from store import Store

from .conftest import Replayed


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens


@pytest.mark.parametrize(
    "opts",
    [
        RunOptions(suite="humaneval", problems="0:2", model="/nonexistent/model.gguf"),
        RunOptions(
            suite="humaneval",
            problems="0:2",
            backend="openai",
            model="m",
            base_url=f"http://127.0.0.1:{_closed_port()}",
        ),
    ],
    ids=["missing-gguf", "unreachable-server"],
)
async def test_a_session_that_cannot_open_stores_nothing(tmp_path: Path, opts: RunOptions) -> None:
    opts.db = tmp_path / "m.db"
    opts.sandbox = "local"
    with Store.open(opts.db) as store:
        with pytest.raises((BackendError, OSError, ValueError)):
            await open_session(store, opts)
        assert store.list_runs() == []
    raw = sqlite3.connect(opts.db)
    try:
        assert raw.execute("SELECT count(*) FROM problems").fetchone()[0] == 0
    finally:
        raw.close()


async def test_an_opened_replay_session_is_stored_and_resumed(
    tmp_path: Path, replayed: Replayed
) -> None:
    opts = replayed.options()
    opts.db = tmp_path / "m.db"
    with Store.open(opts.db) as store:
        first = await open_session(store, opts)
        try:
            assert first.started and not first.resumed
            assert [r.id for r in store.list_runs()] == [first.run.id]
        finally:
            await first.close()
        again = await open_session(store, opts)
        try:
            assert again.resumed and again.run.id == first.run.id
            assert len(store.list_runs()) == 1
        finally:
            await again.close()
