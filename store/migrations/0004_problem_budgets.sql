-- 0004_problem_budgets: released; never edit (a change is a new migration).
ALTER TABLE runs ADD COLUMN policy TEXT NOT NULL DEFAULT 'uniform'
    CHECK (policy IN ('uniform', 'stop-on-solve', 'adaptive'));
CREATE TABLE problem_budgets (
    run_id     INTEGER NOT NULL,
    problem_id TEXT NOT NULL,
    extra      INTEGER NOT NULL DEFAULT 0 CHECK (extra >= 0),
    PRIMARY KEY (run_id, problem_id),
    FOREIGN KEY (run_id, problem_id) REFERENCES problems (run_id, problem_id)
);
