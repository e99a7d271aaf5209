"""Reports: tables and figures (PNG/SVG) of stored runs, and exports (JSONL, CSV)."""
