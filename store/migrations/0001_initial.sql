-- 0001_initial: released; never edit (a change is a new migration).
CREATE TABLE runs (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL DEFAULT '',
    created_at          REAL NOT NULL,
    updated_at          REAL NOT NULL,
    status              TEXT NOT NULL DEFAULT 'created' CHECK (status IN ('created', 'running', 'paused', 'done', 'failed')),
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
    meta         TEXT NOT NULL DEFAULT '{}',
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
    meta              TEXT NOT NULL DEFAULT '{}',
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
