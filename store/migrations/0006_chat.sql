-- 0006_chat: released; never edit (a change is a new migration).
ALTER TABLE runs ADD COLUMN prompt_format TEXT NOT NULL DEFAULT 'raw'
    CHECK (prompt_format IN ('raw', 'chat'));
ALTER TABLE problems ADD COLUMN messages TEXT NOT NULL DEFAULT '[]';
ALTER TABLE problems ADD COLUMN rendered_prompt TEXT;
ALTER TABLE samples ADD COLUMN thinking TEXT NOT NULL DEFAULT '';
