"""The SQLite schema of a monkeys store, as named migrations (see `store/SCHEMA.md`).

Plain tables and plain columns, JSON text where a value is a list or a mapping, so that a store
reads as-is in Datasette, pandas and the sqlite3 shell.

Each migration is a literal SQL file in `store/migrations/` named ``NNNN_name.sql``, applied in
the order of its number. A released migration is never edited (`tests/store/test_migrations.py`
holds the digest of each): a new column, table or accepted value (a new policy, a new run status)
is a new file. The CHECK constraints list the names defined once in `store._records`
(`RunStatus`, `PolicyName`) and `verify._audit_types.SuspectReason`; the same test fails when a
name is added there without a migration that lets the database accept it.
"""

from __future__ import annotations

import re
from importlib import resources

APP = "monkeys"
META_TABLE = "_monkeys_meta"
MIGRATIONS_TABLE = "_monkeys_migrations"

# The bookkeeping tables every monkeys store has; created before any migration runs.
BOOKKEEPING_SQL = """
CREATE TABLE IF NOT EXISTS _monkeys_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS _monkeys_migrations (
    name       TEXT PRIMARY KEY,
    applied_at REAL NOT NULL
);
"""

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def _read_migrations() -> tuple[tuple[str, str], ...]:
    folder = resources.files("store") / "migrations"
    found = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    for position, (filename, _) in enumerate(found, start=1):
        m = _NAME.match(filename)
        if m is None or int(m.group(1)) != position:
            raise RuntimeError(
                f"store/migrations/{filename}: migrations are named NNNN_name.sql and numbered "
                f"1, 2, 3, ... without gaps (expected number {position:04d})"
            )
    return tuple((filename.removesuffix(".sql"), sql) for filename, sql in found)


# Name -> SQL text, in the order they are applied.
MIGRATION_SQL: tuple[tuple[str, str], ...] = _read_migrations()
