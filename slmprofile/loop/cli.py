"""``slmprofile export finetune``: a thin typer layer over :mod:`slmprofile.loop.training_data`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

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
    deduplicated, split train / validation / test by template and time, with counts, tokens and a cost estimate."""
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
