"""What the commands print on stdout: the ingest report and the result tables, readable at 80 columns."""

from __future__ import annotations

from ..terminal import make_console


def print_report(report, *, redacted: bool = True) -> None:
    """The ingest report; with ``redacted`` the quoted examples of skipped lines are redacted like the outputs."""
    from ..redact import redact

    console = make_console()
    for i, line in enumerate(report.lines()):
        console.print(redact(line)[0] if redacted else line, style="bold" if i == 0 else None, highlight=False,
                      markup=False)


def print_task_types(result) -> None:
    from rich.table import Table

    s = result.summary
    console = make_console()
    console.print(f"{s['task_types']} task types in {s['families']} families over {s['prompts']:,} distinct prompts "
                  f"(min_cluster_size {s['min_cluster_size']}); prompts: {s['prompts_core']:,} core, "
                  f"{s['prompts_assigned']:,} noise assigned, {s['prompts_unassigned']:,} unassigned; "
                  f"calls unassigned: {s['calls_unassigned']:,}")
    wide = console.width >= 120  # an example prompt only where it fits; names wrap, numbers never do
    table = Table(show_lines=False, pad_edge=False)
    table.add_column("task type", overflow="fold", ratio=1)
    table.add_column("family", overflow="fold", max_width=14)
    for name in ("calls", "share", "$/month"):
        table.add_column(name, justify="right", no_wrap=True)
    if wide:
        table.add_column("example", overflow="ellipsis", no_wrap=True, max_width=60)
    for row in result.task_types.head(15).iter_rows(named=True):
        cost = row["cost_per_month"]
        cells = [row["task_type"], row["family"], f"{row['calls']:,}", f"{row['share']:.1%}",
                 "?" if cost is None else f"{cost:,.2f}"]
        if wide:
            cells.append((row["examples"] or [""])[0][:60].replace("\n", " "))
        table.add_row(*cells)
    console.print(table)


def print_suitability(table) -> None:
    from rich.table import Table

    counts = dict(table["verdict"].value_counts().iter_rows())
    console = make_console()
    console.print("verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    wide = console.width >= 110  # samples still needed and the SLM share only where they fit
    view = Table(show_lines=False, pad_edge=False)
    view.add_column("task type", overflow="fold", ratio=1)
    for name in ("calls", "$/month", "rate [95% CI]", "verdict") + (("more n", "SLM share") if wide else ()):
        view.add_column(name, justify="left" if name == "verdict" else "right", no_wrap=True)
    for row in table.head(20).iter_rows(named=True):
        cost = row["cost_per_month"]
        cells = [str(row["task_type"]), f"{row['calls']:,}", "?" if cost is None else f"{cost:,.2f}",
                 "?" if row["rate"] is None else f"{row['rate']:.2f} [{row['ci_lo']:.2f}, {row['ci_hi']:.2f}]",
                 row["verdict"]]
        if wide:
            cells += ["" if row["more_samples"] is None else f"{row['more_samples']:,}",
                      f"{row['slm_share']:.0%} ({row['slm_share_lo']:.0%}-{row['slm_share_hi']:.0%})"]
        view.add_row(*cells)
    console.print(view)
