-- 0010_problem_counts_by_batch: released; never edit (a change is a new migration).
-- New attempt-0 verdicts are added to problem_counts by the store's writer, once per problem
-- and batch in the same transaction as the verdicts (Store: _count_verdicts), instead of by a
-- trigger statement per verdict row (about a fifth of the writer's time at millions of
-- samples). Verdicts updated or deleted are still counted by 0003's triggers.
DROP TRIGGER problem_counts_verdict_insert;
