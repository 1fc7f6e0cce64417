"""``slmprofile export finetune``: a thin typer layer over :mod:`slmprofile.loop.training_data`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..ingest.formats import FormatName
from ..terminal import fail, make_console

export_app = typer.Typer(name="export", help="Export what the next step needs: fine-tuning data per task type.",
                         no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False)


@export_app.command("finetune")
def finetune(
    run_dir: Annotated[Path, typer.Argument(help="Run directory from `slmprofile run` (logs.parquet, "
                                                 "clusters.parquet, suitability.parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write (new or empty).")],
    task_type: Annotated[Optional[list[str]], typer.Option(
        "--task-type", "-t", help="A task type (name or cluster id) to export; repeat for several. Default: the "
                                  "types whose verdict is slm or undecided.")] = None,
    min_feedback: Annotated[Optional[float], typer.Option(help="Keep calls whose feedback is at least this.")] = None,
    min_eval_score: Annotated[Optional[float], typer.Option(help="Keep calls whose eval_score is at least "
                                                                "this.")] = None,
    validation_share: Annotated[float, typer.Option(min=0.0, max=0.5, help="Share held out for validation.")] = 0.1,
    test_share: Annotated[float, typer.Option(min=0.01, max=0.5, help="Share held out for test.")] = 0.15,
    epochs: Annotated[int, typer.Option(min=1, max=100, help="Epochs assumed for the cost estimate.")] = 3,
    usd_per_mtok: Annotated[float, typer.Option("--usd-per-mtok", min=0.0, help="Training price assumed for the "
                                                "cost estimate, USD per million training tokens.")] = 3.0,
    overwrite: Annotated[bool, typer.Option(help="Replace the files an earlier export wrote there.")] = False,
) -> None:
    """Fine-tuning data per task type from the frontier model's logged answers: OpenAI chat JSONL, redacted,
    deduplicated, split train / validation / test by template and time, with counts, tokens and a cost estimate.

    Example: slmprofile export finetune out/run --out out/finetune
    """
    from rich.table import Table

    from ..errors import SlmprofileError
    from ..outputs import claim_dir
    from .training_data import MANIFEST_FILE, FinetuneDataSettings, export_finetune

    try:
        settings = FinetuneDataSettings(task_types=task_type or None, min_feedback=min_feedback,
                                        min_eval_score=min_eval_score, validation_share=validation_share,
                                        test_share=test_share, epochs=epochs,
                                        usd_per_million_training_tokens=usd_per_mtok).check()
        with claim_dir(out, overwrite=overwrite, inputs=[run_dir], reserved=(MANIFEST_FILE,)) as claimed:
            result = export_finetune(run_dir, claimed.path, settings, progress=True)
    except (SlmprofileError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    from rich import box

    table = Table(title=f"fine-tuning data in {out}", caption="examples: train / validation / test",
                  box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("task type", no_wrap=True, overflow="ellipsis", max_width=28)
    for name in ("examples", "tokens", "cost", "readiness"):
        table.add_column(name, no_wrap=True, justify="left" if name == "readiness" else "right")
    for t in result.task_types:
        table.add_row(t.task_type, "/".join(str(t.counts[s]) for s in ("train", "validation", "test")),
                      f"{t.train_tokens:,}", f"${t.estimated_training_usd:.2f}", t.readiness)
    console = make_console()
    console.print(table)
    console.print(f"cost: {epochs} epochs x ${usd_per_mtok:g} per million training tokens (an assumption: "
                  "--usd-per-mtok); test.jsonl is held out by template and time, the frontier answer its reference; "
                  f"wrote {out / MANIFEST_FILE}")


def drift_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run directory from `slmprofile run` (logs.parquet, "
                                                 "embeddings.parquet, clusters.parquet; router/ if trained).")],
    new_logs: Annotated[list[Path], typer.Argument(help="The new window's log files or folders.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write (new or empty).")],
    format: Annotated[Optional[FormatName], typer.Option("--format", "-f", help="Force a log format (default: "
                                                                                "detect per file).")] = None,
    mapping: Annotated[Optional[str], typer.Option("--map", help="TARGET=COLUMN pairs, as for run.")] = None,
    outcomes: Annotated[Optional[list[Path]], typer.Option(
        "--outcomes", help="Eval table(s) of the new window joined by call id (slm_correct, ...): outcome "
                           "changes per task type.")] = None,
    outcomes_key: Annotated[str, typer.Option("--outcomes-key", help="The eval table's call-id column.")] = "id",
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence of every interval.")] = 0.95,
    novel_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of calls fitting no task type from "
                                                                      "which retraining is recommended.")] = 0.05,
    novelty_quantile: Annotated[float, typer.Option(min=0.0, max=0.5, help="The quantile of the run's own "
                                                    "nearest-neighbour similarities below which a call fits no "
                                                    "type (about this share of unchanged traffic is flagged).")] = 0.03,
    min_share_change: Annotated[float, typer.Option(min=0.0, max=1.0, help="Smallest change of a type's share that "
                                                                           "counts as a shift.")] = 0.01,
    json_out: Annotated[bool, typer.Option("--json", help="Print drift.json's summary and verdict as JSON on stdout "
                                                          "instead of the table.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace the files an earlier drift check wrote there.")] = False,
) -> None:
    """Place a new window of logs into the run's task types (no refit) and say what moved: each type's share with
    an interval, traffic that fits no type (with candidate new types), the router's p_slm shift, outcome changes;
    then a verdict (retrain, refresh the savings, or no action) and drift.html.

    Example: slmprofile drift out/run data/month2/logs --out out/drift --json
    """
    import json

    from ..errors import SlmprofileError
    from ..outputs import claim_dir
    from .drift import DRIFT_FILES, DriftSettings, detect_drift

    try:
        settings = DriftSettings(confidence=confidence, novel_share=novel_share, novelty_quantile=novelty_quantile,
                                 min_share_change=min_share_change).check()
        with claim_dir(out, overwrite=overwrite, inputs=[run_dir, *new_logs, *(outcomes or [])],
                       reserved=DRIFT_FILES) as claimed:
            result = detect_drift(run_dir, new_logs, claimed.path, settings, format=format, mapping=mapping,
                                  outcomes=outcomes, outcomes_key=outcomes_key, progress=True)
    except (SlmprofileError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    console = make_console()
    if json_out:
        keep = ("calls_before", "calls_after", "novel_share", "candidate_types", "placement_agreement")
        console.print(json.dumps({**{k: result.summary[k] for k in keep}, "verdict": result.verdict,
                                  "files": result.files}, indent=2))
        return
    from rich import box
    from rich.table import Table

    table = Table(title=f"task-type mix: {run_dir} -> new window", box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("task type", no_wrap=True, overflow="ellipsis", max_width=32)
    for name in ("before", "after", "change (interval)"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in result.types.sort("change", descending=True).iter_rows(named=True):
        mark = " *" if r["shifted"] else ""
        table.add_row(str(r["task_type"]), f"{r['share_before']:.1%}", f"{r['share_after']:.1%}",
                      f"{100 * r['change']:+.1f} ({100 * r['change_lo']:+.1f}..{100 * r['change_hi']:+.1f}) pt{mark}")
    console.print(table)
    for c in result.candidates.head(5).iter_rows(named=True):
        console.print(f"candidate new type: {c['name']} ({c['calls']} calls)")
    console.print(f"verdict: {result.verdict['action']}")
    for r in result.verdict["reasons"]:
        console.print(f"  - [{r['level']}] {r['reason']}")
    console.print(f"wrote {result.files['drift.html']}")
