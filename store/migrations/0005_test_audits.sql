-- 0005_test_audits: released; never edit (a change is a new migration).
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
    reason        TEXT NOT NULL CHECK (reason IN ('wrong', 'disagree')),
    solution      INTEGER NOT NULL,
    status        TEXT NOT NULL,
    input_head    TEXT NOT NULL,
    expected_head TEXT NOT NULL,
    got_head      TEXT NOT NULL,
    outcomes      TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (problem_id, tests_key, test),
    FOREIGN KEY (problem_id, tests_key) REFERENCES test_audits (problem_id, tests_key)
);
