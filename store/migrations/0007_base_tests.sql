-- 0007_base_tests: released; never edit (a change is a new migration).
-- Suites with two test sets (EvalPlus: the original base tests and the stronger plus tests)
-- judge each sample under both: `passed` is the stronger tests' verdict, `base_passed` whether
-- the sample passed the base tests (NULL: the problem has no base tests).
ALTER TABLE verdicts ADD COLUMN base_passed INTEGER CHECK (base_passed IN (0, 1));
