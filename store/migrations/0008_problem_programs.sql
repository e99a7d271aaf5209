-- 0008_problem_programs: released; never edit (a change is a new migration).
-- How a function-test problem's program is built when the completion is a whole program
-- (program_prefix; NULL: prompt + completion) and its weaker base tests ('': none), so that a
-- resumed or re-verified run judges its samples as the suite does.
ALTER TABLE problems ADD COLUMN program_prefix TEXT;
ALTER TABLE problems ADD COLUMN base_tests TEXT NOT NULL DEFAULT '';
