"""The store room: runs, problems, samples, verdicts and fits in one SQLite file.

WAL mode, one writer thread fed by a queue (batched commits), a read-only connection per reading
thread. Schema and example queries: `store/SCHEMA.md`.
"""

from store._migrations import MIGRATIONS, Migration, Migrations
from store._records import (
    POLICIES,
    RUN_STATUSES,
    PolicyName,
    PromptFormatName,
    RunRecord,
    RunSpec,
    RunStatus,
    SampleRecord,
    StoreError,
    clean_text,
)
from store._schema import APP, META_TABLE, MIGRATIONS_TABLE
from store._store import REPORT_ROW, REPORT_VERDICT, ReportRows, Store

__all__ = [
    "APP",
    "META_TABLE",
    "MIGRATIONS",
    "MIGRATIONS_TABLE",
    "POLICIES",
    "REPORT_ROW",
    "REPORT_VERDICT",
    "RUN_STATUSES",
    "Migration",
    "Migrations",
    "PolicyName",
    "PromptFormatName",
    "ReportRows",
    "RunRecord",
    "RunSpec",
    "RunStatus",
    "SampleRecord",
    "Store",
    "StoreError",
    "clean_text",
]
