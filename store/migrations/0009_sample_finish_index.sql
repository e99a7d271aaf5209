-- 0009_sample_finish_index: released; never edit (a change is a new migration).
-- Partial indexes: how many samples of a run were cut off by max_tokens or carry thinking,
-- counted without reading the samples table (millions of rows of text).
CREATE INDEX samples_cut ON samples (run_id) WHERE finish_reason = 'length';
CREATE INDEX samples_thinking ON samples (run_id) WHERE thinking != '';
