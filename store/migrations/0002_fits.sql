-- 0002_fits: released; never edit (a change is a new migration).
CREATE TABLE fits (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES runs (id),
    kind       TEXT NOT NULL,
    params     TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX fits_run ON fits (run_id, created_at);
