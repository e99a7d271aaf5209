-- 0011_verdict_base_index: released; never edit (a change is a new migration).
-- A partial index of the attempt-0 verdicts judged under base tests too (EvalPlus suites):
-- Store.base_counts reads it instead of every verdict of the run (at 5,000,000 replayed
-- samples, none of them with base tests, 0.6 s of `monkeys show`). Empty for other suites.
CREATE INDEX verdicts_base ON verdicts (run_id, problem_id, base_passed, passed)
WHERE attempt = 0 AND base_passed IS NOT NULL;
