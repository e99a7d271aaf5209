-- 0012_problem_sample_counts: released; never edit (a change is a new migration).
-- problem_counts.stored: how many samples of the problem are stored (verified or not), so
-- that `monkeys show` counts a run's samples in O(problems) instead of reading an index entry
-- per sample (0.5 s at 5,000,000). Kept like n and c: added by the store's writer once per
-- problem and batch, taken off by triggers when samples are deleted or moved.
ALTER TABLE problem_counts ADD COLUMN stored INTEGER NOT NULL DEFAULT 0;

UPDATE problem_counts SET stored = (
    SELECT count(*) FROM samples AS s
    WHERE s.run_id = problem_counts.run_id AND s.problem_id = problem_counts.problem_id
);

CREATE TRIGGER problem_counts_sample_delete AFTER DELETE ON samples
BEGIN
    UPDATE problem_counts SET stored = stored - 1
    WHERE run_id = OLD.run_id AND problem_id = OLD.problem_id;
END;

CREATE TRIGGER problem_counts_sample_update AFTER UPDATE OF run_id, problem_id ON samples
BEGIN
    UPDATE problem_counts SET stored = stored - 1
    WHERE run_id = OLD.run_id AND problem_id = OLD.problem_id;
    UPDATE problem_counts SET stored = stored + 1
    WHERE run_id = NEW.run_id AND problem_id = NEW.problem_id;
END;
