-- 0003_problem_counts: released; never edit (a change is a new migration).
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
