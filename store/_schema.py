"""The SQLite schema of a monkeys store, as named migrations (see `store/SCHEMA.md`).

Plain tables and plain columns, JSON text where a value is a list or a mapping, so that a store
reads as-is in Datasette, pandas and the sqlite3 shell. A migration, once released, is never
edited: a change is a new migration appended to `MIGRATION_SQL`.
"""

from __future__ import annotations

APP = "monkeys"
META_TABLE = "_monkeys_meta"
MIGRATIONS_TABLE = "_monkeys_migrations"

RUN_STATUSES = ("created", "running", "paused", "done", "failed")

# The bookkeeping tables every monkeys store has; created before any migration runs.
BOOKKEEPING_SQL = f"""
CREATE TABLE IF NOT EXISTS {META_TABLE} (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
    name       TEXT PRIMARY KEY,
    applied_at REAL NOT NULL
);
"""

_STATUS_LIST = ", ".join(f"'{s}'" for s in RUN_STATUSES)

INITIAL_SQL = f"""
CREATE TABLE runs (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL DEFAULT '',
    created_at          REAL NOT NULL,
    updated_at          REAL NOT NULL,
    status              TEXT NOT NULL DEFAULT 'created' CHECK (status IN ({_STATUS_LIST})),
    suite               TEXT NOT NULL,
    model               TEXT NOT NULL,
    backend             TEXT NOT NULL,
    params              TEXT NOT NULL,
    samples_per_problem INTEGER NOT NULL CHECK (samples_per_problem >= 0),
    seed                INTEGER NOT NULL,
    sandbox             TEXT NOT NULL
);

CREATE TABLE problems (
    run_id       INTEGER NOT NULL REFERENCES runs (id),
    position     INTEGER NOT NULL,
    problem_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    prompt       TEXT NOT NULL,
    tests        TEXT NOT NULL,
    entry_point  TEXT NOT NULL,
    answer       TEXT,
    answers      TEXT NOT NULL DEFAULT '[]',
    stop         TEXT NOT NULL DEFAULT '[]',
    time_limit_s REAL NOT NULL,
    memory_mb    INTEGER NOT NULL,
    meta         TEXT NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (run_id, problem_id),
    UNIQUE (run_id, position)
);

CREATE TABLE samples (
    run_id            INTEGER NOT NULL REFERENCES runs (id),
    problem_id        TEXT NOT NULL,
    idx               INTEGER NOT NULL CHECK (idx >= 0),
    seed              INTEGER NOT NULL,
    text              TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    finish_reason     TEXT NOT NULL,
    gen_seconds       REAL NOT NULL,
    meta              TEXT NOT NULL DEFAULT '{{}}',
    created_at        REAL NOT NULL,
    PRIMARY KEY (run_id, problem_id, idx),
    FOREIGN KEY (run_id, problem_id) REFERENCES problems (run_id, problem_id)
);

CREATE TABLE verdicts (
    run_id       INTEGER NOT NULL,
    problem_id   TEXT NOT NULL,
    idx          INTEGER NOT NULL,
    attempt      INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    status       TEXT NOT NULL,
    passed       INTEGER NOT NULL CHECK (passed IN (0, 1)),
    duration_s   REAL NOT NULL,
    exit_code    INTEGER,
    failing_test TEXT,
    stdout       TEXT NOT NULL DEFAULT '',
    stderr       TEXT NOT NULL DEFAULT '',
    sandbox      TEXT NOT NULL DEFAULT '',
    created_at   REAL NOT NULL,
    PRIMARY KEY (run_id, problem_id, idx, attempt),
    FOREIGN KEY (run_id, problem_id, idx) REFERENCES samples (run_id, problem_id, idx)
);

CREATE VIEW sample_results AS
SELECT s.run_id, s.problem_id, s.idx, s.seed, s.text, s.prompt_tokens, s.completion_tokens,
       s.finish_reason, s.gen_seconds, s.created_at,
       v.status, v.passed, v.duration_s AS verify_seconds, v.exit_code, v.failing_test
FROM samples AS s
LEFT JOIN verdicts AS v
  ON v.run_id = s.run_id AND v.problem_id = s.problem_id AND v.idx = s.idx AND v.attempt = 0;
"""

FITS_SQL = """
CREATE TABLE fits (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES runs (id),
    kind       TEXT NOT NULL,
    params     TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX fits_run ON fits (run_id, created_at);
"""

# Per-problem (n verified, c passed) over attempt-0 verdicts, kept by triggers in the same
# transaction as the verdicts themselves, so it can never disagree with them; reading it is
# O(problems) however many samples a run has.
COUNTS_SQL = """
CREATE TABLE problem_counts (
    run_id     INTEGER NOT NULL,
    problem_id TEXT NOT NULL,
    n          INTEGER NOT NULL DEFAULT 0,
    c          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, problem_id),
    FOREIGN KEY (run_id, problem_id) REFERENCES problems (run_id, problem_id)
);

INSERT INTO problem_counts (run_id, problem_id, n, c)
SELECT p.run_id, p.problem_id,
       (SELECT count(*) FROM verdicts AS v
         WHERE v.run_id = p.run_id AND v.problem_id = p.problem_id AND v.attempt = 0),
       (SELECT coalesce(sum(v.passed), 0) FROM verdicts AS v
         WHERE v.run_id = p.run_id AND v.problem_id = p.problem_id AND v.attempt = 0)
FROM problems AS p;

CREATE TRIGGER problem_counts_new_problem AFTER INSERT ON problems
BEGIN
    INSERT OR IGNORE INTO problem_counts (run_id, problem_id, n, c)
    VALUES (NEW.run_id, NEW.problem_id, 0, 0);
END;

CREATE TRIGGER problem_counts_verdict_insert AFTER INSERT ON verdicts WHEN NEW.attempt = 0
BEGIN
    INSERT OR IGNORE INTO problem_counts (run_id, problem_id, n, c)
    VALUES (NEW.run_id, NEW.problem_id, 0, 0);
    UPDATE problem_counts SET n = n + 1, c = c + NEW.passed
    WHERE run_id = NEW.run_id AND problem_id = NEW.problem_id;
END;

CREATE TRIGGER problem_counts_verdict_delete AFTER DELETE ON verdicts WHEN OLD.attempt = 0
BEGIN
    UPDATE problem_counts SET n = n - 1, c = c - OLD.passed
    WHERE run_id = OLD.run_id AND problem_id = OLD.problem_id;
END;

CREATE TRIGGER problem_counts_verdict_update AFTER UPDATE ON verdicts
WHEN OLD.attempt = 0 OR NEW.attempt = 0
BEGIN
    UPDATE problem_counts SET n = n - 1, c = c - OLD.passed
    WHERE OLD.attempt = 0 AND run_id = OLD.run_id AND problem_id = OLD.problem_id;
    INSERT OR IGNORE INTO problem_counts (run_id, problem_id, n, c)
    SELECT NEW.run_id, NEW.problem_id, 0, 0 WHERE NEW.attempt = 0;
    UPDATE problem_counts SET n = n + 1, c = c + NEW.passed
    WHERE NEW.attempt = 0 AND run_id = NEW.run_id AND problem_id = NEW.problem_id;
END;
"""

# The sampling policy of a run (part of its identity: a uniform and an adaptive run of the same
# spec are two experiments), and per-problem budget extensions ("+N for unsolved problems").
# A problem's budget is runs.samples_per_problem + its problem_budgets.extra (0 when absent).
POLICIES = ("uniform", "stop-on-solve", "adaptive")
_POLICY_LIST = ", ".join(f"'{p}'" for p in POLICIES)
BUDGETS_SQL = f"""
ALTER TABLE runs ADD COLUMN policy TEXT NOT NULL DEFAULT 'uniform'
    CHECK (policy IN ({_POLICY_LIST}));
CREATE TABLE problem_budgets (
    run_id     INTEGER NOT NULL,
    problem_id TEXT NOT NULL,
    extra      INTEGER NOT NULL DEFAULT 0 CHECK (extra >= 0),
    PRIMARY KEY (run_id, problem_id),
    FOREIGN KEY (run_id, problem_id) REFERENCES problems (run_id, problem_id)
);
"""

# Test audits (`monkeys audit`): a problem's reference solutions run against each of its
# tests. Keyed by problem id and `tests_key` (a digest of what the verifier runs besides a
# completion), not by run: every run of the same problem and tests shares its audit.
AUDIT_REASONS = ("wrong", "disagree")
_REASON_LIST = ", ".join(f"'{r}'" for r in AUDIT_REASONS)
AUDITS_SQL = f"""
CREATE TABLE test_audits (
    problem_id      TEXT NOT NULL,
    tests_key       TEXT NOT NULL,
    suite           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    n_tests         INTEGER NOT NULL CHECK (n_tests >= 0),
    solutions_run   INTEGER NOT NULL CHECK (solutions_run >= 0),
    solutions_total INTEGER NOT NULL CHECK (solutions_total >= 0),
    excluded        TEXT NOT NULL DEFAULT '[]',
    inconclusive    INTEGER NOT NULL DEFAULT 0,
    sandbox         TEXT NOT NULL,
    duration_s      REAL NOT NULL,
    created_at      REAL NOT NULL,
    PRIMARY KEY (problem_id, tests_key)
);

CREATE TABLE suspect_tests (
    problem_id    TEXT NOT NULL,
    tests_key     TEXT NOT NULL,
    test          INTEGER NOT NULL CHECK (test >= 0),
    reason        TEXT NOT NULL CHECK (reason IN ({_REASON_LIST})),
    solution      INTEGER NOT NULL,
    status        TEXT NOT NULL,
    input_head    TEXT NOT NULL,
    expected_head TEXT NOT NULL,
    got_head      TEXT NOT NULL,
    outcomes      TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (problem_id, tests_key, test),
    FOREIGN KEY (problem_id, tests_key) REFERENCES test_audits (problem_id, tests_key)
);
"""

# Name -> SQL, in the order they are applied. Append only.
MIGRATION_SQL: tuple[tuple[str, str], ...] = (
    ("0001_initial", INITIAL_SQL),
    ("0002_fits", FITS_SQL),
    ("0003_problem_counts", COUNTS_SQL),
    ("0004_problem_budgets", BUDGETS_SQL),
    ("0005_test_audits", AUDITS_SQL),
)
