"""The shareable HTML report of a run directory: one self-contained file a team lead reads in five minutes.

>>> path = write_report("out/sample")          # doctest: +SKIP  -> out/sample/report.html

The report reads only what the stages wrote into the run directory (``slmprofile run`` and later stages):

- ``run.json``, ``task_types.parquet``, ``logs.parquet``, ``plots/*.png`` (ingest, redaction, task types);
- ``suitability.parquet``/``.csv`` (+ ``suitability.json`` settings), ``savings.parquet``/``.csv`` and
  ``savings_options.csv`` (per-task-type verdicts and savings; totals and assumptions per savings option);
- ``router/router.json``, ``router/cost_quality.png`` and ``router/bench.json`` (router metrics, cost-quality curve,
  latency table).

Every section past the task types is optional: a missing file makes its section say "not run" and how to run it.
Each file is read through :class:`~slmprofile.rundir.RunDir` in the columns of its contract (:mod:`slmprofile.schema`);
a table that lacks one is an error naming the file and the column. Everything is HTML-escaped, images
are embedded as base64 PNG, CSS is inline, and there is no script and no external URL: the file opens offline.
Example prompts come from ``task_types.parquet`` (written from redacted logs) and are redacted once more here.

The package: :mod:`.values` (numbers and words) -> :mod:`.load` (the run directory -> :class:`RunData`) ->
:mod:`.sections` (what each section shows) and :mod:`.plots` -> :mod:`.render` (Jinja templates under
``templates/``, one per section). A new section is one template plus one function in :mod:`.sections`.
"""

from .load import (HOW_TO_RUN, RunData, SavingsData, load_run, read_bench, read_router, read_savings,
                   read_suitability)
from .plots import plot_daily, plot_savings, png, png_file
from .render import TEMPLATES, render_report, write_report
from .sections import (Headline, assumptions, data_quality, headline, router_expectations, sparkline,
                       task_type_rows, weekly_values)
from .values import (KEEP_VERDICTS, MOVE_VERDICTS, as_number, flatten_scalars, fmt_int, fmt_money, fmt_pct,
                     fmt_trend, redacted_text, verdict_class)

__all__ = ["HOW_TO_RUN", "KEEP_VERDICTS", "MOVE_VERDICTS", "TEMPLATES",
           "Headline", "RunData", "SavingsData", "as_number", "assumptions", "data_quality", "flatten_scalars",
           "fmt_int", "fmt_money", "fmt_pct", "fmt_trend", "headline", "load_run",
           "plot_daily", "plot_savings", "png", "png_file", "read_bench", "read_router",
           "read_savings", "read_suitability", "redacted_text", "render_report",
           "router_expectations", "sparkline", "task_type_rows", "verdict_class", "weekly_values", "write_report"]
