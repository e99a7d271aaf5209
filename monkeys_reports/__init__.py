"""Reports: tables and figures (PNG/SVG) of stored runs, and exports (JSONL, CSV).

The door: `build_report` / `render` / `write_figures` (what `monkeys report` does),
`export_run` (`monkeys export`), the scorer registry (`scorer`, `make_scorer`, `SCORERS`) for
verifier-free precision, and `model_shape` (parameters, layers, width of a run's model, for
the FLOPs count of `monkeys_analysis`).
"""

from monkeys_reports._data import (
    FORECAST_K,
    ProblemColumns,
    RunData,
    RunSummary,
    load_run,
    summarize_run,
    union_length,
)
from monkeys_reports._export import EXPORT_COLUMNS, EXPORT_FORMATS, export_rows, export_run
from monkeys_reports._figures import (
    FORMATS,
    cost_figure,
    coverage_figure,
    heatmap_figure,
    precision_figure,
)
from monkeys_reports._params import (
    CATALOG_SHAPES,
    GGUFError,
    gguf_shape,
    model_shape,
    parse_shape,
    read_gguf_header,
)
from monkeys_reports._precision import (
    PrecisionCurves,
    answer_keys,
    build_votes,
    precision_curves,
    score_run,
)
from monkeys_reports._report import (
    Comparison,
    Report,
    ReportOptions,
    build_report,
    compare,
    render,
    summary_rows,
    write_figures,
)
from monkeys_reports._scorers import (
    SCORERS,
    Judge,
    Scorer,
    ScorerError,
    make_scorer,
    mean_logprob,
    scorer,
    yes_probability,
)

__all__ = [
    "CATALOG_SHAPES",
    "EXPORT_COLUMNS",
    "EXPORT_FORMATS",
    "FORECAST_K",
    "FORMATS",
    "SCORERS",
    "Comparison",
    "GGUFError",
    "Judge",
    "PrecisionCurves",
    "ProblemColumns",
    "Report",
    "ReportOptions",
    "RunData",
    "RunSummary",
    "Scorer",
    "ScorerError",
    "answer_keys",
    "build_report",
    "build_votes",
    "compare",
    "cost_figure",
    "coverage_figure",
    "export_rows",
    "export_run",
    "gguf_shape",
    "heatmap_figure",
    "load_run",
    "make_scorer",
    "mean_logprob",
    "model_shape",
    "parse_shape",
    "precision_curves",
    "precision_figure",
    "read_gguf_header",
    "render",
    "score_run",
    "scorer",
    "summarize_run",
    "summary_rows",
    "union_length",
    "write_figures",
    "yes_probability",
]
