"""Released migrations stay frozen, and the schema accepts exactly the names the code defines.

A released migration is never edited: its digest is recorded here when it is released (add a
line for a new migration; never change an existing one). A name added to `RunStatus`,
`PolicyName` or `SuspectReason` without a migration that widens the CHECK constraint fails
`test_check_constraints_accept_exactly_the_defined_names`.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

from store import MIGRATIONS, PolicyName, PromptFormatName, RunStatus, Store
from store._schema import MIGRATION_SQL
from verify._audit_types import SuspectReason

RELEASED = {
    "0001_initial": "3797cc99e06c7b8924a6ff18176230c47bbc222170b8fc72c0be07018d4e6f12",
    "0002_fits": "0dfe049dd2becc1ec23b887ff2a7b00c0d928b6cb2bf9b298394bbf4e72de2c0",
    "0003_problem_counts": "60c6c7ed503c7ea32dcd105941426f76587d09aa1f2799c99816d1a1ccc428b8",
    "0004_problem_budgets": "ffada56ccbf2ccbcc4a718d93baf5c8a28c07a1c1ea42852141437c8ffd8c50a",
    "0005_test_audits": "c77c47e22236f4683926f7a68453c60bf45ed39271482a4165b63758780a733c",
    "0006_chat": "d7726b06e120e2318da21f7c888b33014ed8bc9cdeba67992e8803b50cc0be7f",
    "0007_base_tests": "ecbcf34fb9635550e5c38b3625b78f342e31c2ce5c01637c130a17134156c22d",
    "0008_problem_programs": "b1977d118ea4d044fef6467e966dc96e9524721bacee6acb2ae12548de1d9a68",
    "0009_sample_finish_index": "3065f4ad9068171ce545d39a4392009998e6a88568973c53d512768e091a58bc",
    "0010_problem_counts_by_batch": (
        "fb23cd20ff24816cd67b4f7b86ca2876257ec77a4b5e9fde4135582abf4d9c4f"
    ),
    "0011_verdict_base_index": "b703920fdfe5d37cfb18ce77dabec01aa28864901c7e760f7543b035f54ccf57",
    "0012_problem_sample_counts": (
        "e556ed729b9e11671769c70a22d706d49cd4b1726b38fe8591d2f238883e93d5"
    ),
}


def test_released_migrations_are_unchanged() -> None:
    digests = {name: hashlib.sha256(sql.encode()).hexdigest() for name, sql in MIGRATION_SQL}
    for name, digest in RELEASED.items():
        assert name in digests, f"released migration {name} is gone: never remove one"
        assert digests[name] == digest, (
            f"released migration {name} was edited: revert it and add a new migration instead"
        )
    unrecorded = sorted(set(digests) - set(RELEASED))
    assert not unrecorded, f"record the digest of new migrations {unrecorded} in RELEASED"


def test_migrations_apply_in_file_order() -> None:
    assert MIGRATIONS.names == tuple(name for name, _ in MIGRATION_SQL)
    assert [int(n[:4]) for n in MIGRATIONS.names] == list(range(1, len(MIGRATIONS.names) + 1))


def _check_values(conn: sqlite3.Connection, column: str) -> set[str]:
    """The values every CHECK (column IN (...)) of the schema allows, intersected."""
    sets: list[set[str]] = []
    for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"):
        for m in re.finditer(rf"CHECK \({column} IN \(([^)]*)\)\)", sql):
            sets.append({v.strip().strip("'") for v in m.group(1).split(",")})
    assert sets, f"no CHECK constraint on {column}"
    return set.intersection(*sets)


def test_check_constraints_accept_exactly_the_defined_names(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    Store.open(db).close()
    conn = sqlite3.connect(db)
    try:
        for column, names in (
            ("status", set(RunStatus)),
            ("policy", set(PolicyName)),
            ("prompt_format", set(PromptFormatName)),
            ("reason", set(SuspectReason)),
        ):
            allowed = _check_values(conn, column)
            assert allowed == {str(n) for n in names}, (
                f"{column}: the schema accepts {sorted(allowed)} but the code defines "
                f"{sorted(str(n) for n in names)}: add a migration that changes the CHECK"
            )
    finally:
        conn.close()
