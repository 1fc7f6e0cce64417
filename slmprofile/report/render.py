"""Rendering: the Jinja templates under ``templates/`` (one per section, included by ``report.html.j2``) filled from
:class:`~.load.RunData`; :func:`write_report` writes the file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..rundir import RunDir
from .load import HOW_TO_RUN, RunData, load_run, named_task_types
from .plots import plot_daily, plot_savings, png, png_file
from .sections import (TABLE_ROWS, assumptions, data_quality, fmt_metric, headline, router_expectations,
                       task_type_rows)
from .values import as_number, flatten_scalars

if TYPE_CHECKING:  # pragma: no cover
    pass

logger = logging.getLogger(__name__)

#: The report's Jinja templates: ``report.html.j2`` includes one template per section; ``row.html.j2`` is the
#: task-type table's row; ``report.css`` the inline style.
TEMPLATES = Path(__file__).resolve().parent / "templates"


def render_report(data: RunData) -> str:
    """The report's HTML for loaded run data (see :func:`write_report`)."""
    import jinja2

    from ..version import __version__

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.get_template("report.html.j2")
    images: dict[str, str | None] = {name: png_file(path) for name, path in data.plots.items()}
    if data.daily is not None:
        images["daily"] = png(plot_daily(data.daily))
    if data.task_types is not None and data.savings is not None and "plots/savings_by_task_type" not in data.extra_plots:
        fig = plot_savings(named_task_types(data.task_types))
        images["savings"] = png(fig) if fig is not None else None
    curve = f"{RunDir.ROUTER}/{Path(RunDir.ROUTER_CURVE).stem}"  # drawn by `router train`, shown in its section
    if curve in data.extra_plots:
        images["router_curve"] = png_file(data.extra_plots[curve])
    images = {k: v for k, v in images.items() if v}
    extra = [(name.split("/")[-1].replace("_", " "), b64) for name, path in data.extra_plots.items()
             if name != curve and (b64 := png_file(path))]
    options = data.savings.options if data.savings else []
    option_cols: list[str] = []
    for o in options:
        option_cols += [c for c in o if c not in option_cols]
    bench = data.bench or []
    bench_cols: list[str] = []
    for r in bench:
        bench_cols += [c for c in r if c not in bench_cols]
    bench_cols = bench_cols[:12]
    bench_rows = [{c: fmt_metric(r[c]) if c in r else "" for c in bench_cols} for r in bench]
    info = data.info
    versions = ", ".join(f"{k} {v}" for k, v in (info.get("versions") or {}).items() if k != "slmprofile")
    timings = ", ".join(f"{k} {float(v):.1f} s" for k, v in (info.get("timings_s") or {}).items()
                        if as_number(v) is not None)
    return template.render(
        css=(TEMPLATES / "report.css").read_text(encoding="utf-8"), title=data.run_dir.resolve().name, created=info.get("created"),
        inputs=", ".join(str(p) for p in info.get("inputs") or []), headline=headline(data),
        rows=task_type_rows(data.task_types) if data.task_types is not None else [], max_rows=TABLE_ROWS,
        has_suitability=data.suitability is not None, has_savings=data.savings is not None, how=HOW_TO_RUN,
        show_slm_share=data.task_types is not None and "slm_share" in data.task_types.columns
        and data.task_types["slm_share"].null_count() < data.task_types.height,
        images=images, extra_images=extra,
        cost_plots=[("task_cost_share", "Share of calls and share of cost per task type (largest by cost)."),
                    ("task_share_over_time", "Weekly share of calls of the largest task types: drift shows here."),
                    ("daily", "Calls per day by model (top) and cost per day (bottom), from the redacted logs.")],
        router=data.router, router_expect=router_expectations(data.router),
        router_metrics=[(k, fmt_metric(v)) for k, v in flatten_scalars(
            data.router or {}, skip=("curve", "path", "hash", "version", "estimates", "novelty", "selection"))],
        bench=bench_rows, bench_cols=bench_cols, option_cols=option_cols[:10],
        options=[{c: fmt_metric(o[c]) if c in o else "" for c in option_cols[:10]} for o in options],
        chosen_option=data.savings.option if data.savings else None, assumptions=assumptions(data), dq=data_quality(data),
        version=__version__, versions=versions, timings=timings, finetune=data.finetune,
        candidates=data.candidates,
    )


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the self-contained HTML report of ``run_dir`` (default ``RUN_DIR/report.html``); returns its path.

    >>> write_report("out/sample")            # doctest: +SKIP
    PosixPath('out/sample/report.html')
    """
    data = load_run(run_dir)
    html = render_report(data)
    path = Path(out) if out is not None else RunDir(run_dir).report
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    logger.info("wrote report %s (%d bytes)", path, len(html))
    return path
