"""A tiny migration runner: named migrations, recorded in the database as they are applied.

Each migration has a unique name and is applied once, in order,
inside one write transaction together with its record in ``_monkeys_migrations`` (name,
applied_at) and the ``schema_version`` in ``_monkeys_meta``. A database that records a migration
this version does not know, or a higher schema_version, is from a newer monkeys and is refused.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from store._records import StoreError
from store._schema import APP, BOOKKEEPING_SQL, META_TABLE, MIGRATION_SQL, MIGRATIONS_TABLE

Apply = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Migration:
    name: str
    apply: str | Apply  # SQL text (one or more statements) or a function of the connection


def split_sql(sql: str) -> Iterator[str]:
    """The complete statements of an SQL script (a trigger's inner ``;`` included)."""
    *parts, rest = sql.split(";")
    buf = ""
    for part in parts:
        buf += part + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \t\r\n;"):
                yield buf.strip()
            buf = ""
    rest = (buf + rest).strip()
    if rest:
        raise ValueError(f"incomplete SQL statement: {rest[:80]!r}")


class Migrations:
    """An ordered set of named migrations."""

    def __init__(self, migrations: tuple[Migration, ...] = ()) -> None:
        self._items: list[Migration] = []
        for m in migrations:
            self.add(m)

    def add(self, migration: Migration) -> None:
        if any(m.name == migration.name for m in self._items):
            raise ValueError(f"duplicate migration name {migration.name!r}")
        self._items.append(migration)

    def __call__(self, fn: Apply) -> Apply:
        """Decorator: register `fn` as the next migration, named after it."""
        self.add(Migration(fn.__name__, fn))
        return fn

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self._items)

    @property
    def version(self) -> int:
        """The schema version a database has once all these migrations are applied."""
        return len(self._items)

    def pending(self, applied: set[str]) -> list[Migration]:
        return [m for m in self._items if m.name not in applied]

    def apply(
        self, conn: sqlite3.Connection, *, upto: str | None = None, where: str = ""
    ) -> list[str]:
        """Apply the pending migrations (up to and including `upto`) in ONE write transaction.

        `conn` must be in autocommit mode (``isolation_level=None``). Returns the names applied.
        Raises StoreError (nothing changed) when the database is not ours or is newer.
        """
        if upto is not None and upto not in self.names:
            raise ValueError(f"unknown migration {upto!r}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            state = read_state(conn)
            check_compatible(state, self, where=where)
            for stmt in split_sql(BOOKKEEPING_SQL):
                conn.execute(stmt)
            if state.app is None:
                conn.execute(f"INSERT INTO {META_TABLE} (key, value) VALUES ('app', ?)", (APP,))
            done: list[str] = []
            for m in self.pending(state.applied):
                if isinstance(m.apply, str):
                    for stmt in split_sql(m.apply):
                        conn.execute(stmt)
                else:
                    m.apply(conn)
                conn.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",
                    (m.name, time.time()),
                )
                done.append(m.name)
                if m.name == upto:
                    break
            version = len(state.applied) + len(done)
            conn.execute(
                f"INSERT INTO {META_TABLE} (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(version),),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return done


@dataclass(frozen=True)
class DbState:
    """What a database says about itself."""

    tables: frozenset[str]
    app: str | None  # _monkeys_meta 'app', None when there is no such row / table
    schema_version: int | None
    applied: set[str]


def read_state(conn: sqlite3.Connection) -> DbState:
    tables = frozenset(
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%'"
        )
    )
    app: str | None = None
    version: int | None = None
    applied: set[str] = set()
    if META_TABLE in tables:
        meta = dict(conn.execute(f"SELECT key, value FROM {META_TABLE}").fetchall())
        app = meta.get("app")
        raw = meta.get("schema_version")
        if raw is not None:
            try:
                version = int(raw)
            except ValueError:
                version = -1
    if MIGRATIONS_TABLE in tables:
        applied = {r[0] for r in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}
    return DbState(tables, app, version, applied)


def check_compatible(state: DbState, migrations: Migrations, *, where: str) -> None:
    """Raise StoreError unless the database is empty, or a monkeys store this version can use."""
    at = f"{where}: " if where else ""
    if not state.tables:
        return  # a new, empty database: ours to create
    if META_TABLE not in state.tables:
        shown = ", ".join(sorted(state.tables)[:5])
        raise StoreError(
            f"{at}not a monkeys store (an SQLite database with other tables: {shown}; "
            f"no {META_TABLE} table); refusing to touch it. Use another --db path."
        )
    if state.app != APP:
        raise StoreError(
            f"{at}not a monkeys store ({META_TABLE} app is {state.app!r}, not {APP!r}); "
            "refusing to touch it."
        )
    if MIGRATIONS_TABLE not in state.tables:
        raise StoreError(f"{at}damaged monkeys store: it has no {MIGRATIONS_TABLE} table.")
    if state.schema_version is not None and state.schema_version < 0:
        raise StoreError(f"{at}damaged monkeys store: schema_version is not a number.")
    unknown = sorted(state.applied - set(migrations.names))
    if unknown or (state.schema_version or 0) > migrations.version:
        detail = f"unknown migrations {unknown}" if unknown else ""
        if (state.schema_version or 0) > migrations.version:
            detail = (detail + "; " if detail else "") + (
                f"schema_version {state.schema_version} > {migrations.version}"
            )
        raise StoreError(
            f"{at}this store was written by a newer monkeys ({detail}); "
            "upgrade monkeys to open it. It was not modified."
        )


MIGRATIONS = Migrations(tuple(Migration(name, sql) for name, sql in MIGRATION_SQL))
