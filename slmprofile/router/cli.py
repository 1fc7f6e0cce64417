"""``slmprofile router train | export | bench``: a thin typer layer over :mod:`slmprofile.router`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from ..rundir import RunDir
from ..terminal import fail, make_console

router_app = typer.Typer(name="router", help="Train, export (ONNX fp32 + int8) and benchmark the SLM/frontier router.",
                         no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False)


def _print_evaluation(result) -> None:
    from rich.table import Table

    table = Table("router", "APGR", "CPT(50%)", "CPT(80%)", "hull AUC", "quality @50% frontier",
                  title=f"held-out evaluation ({result.split.get('kind')} split, "
                        f"{result.split.get('evaluated_prompts', 0):,} prompts)")

    def fmt(v) -> str:
        return "-" if v is None or v != v else f"{v:.3f}"

    for row in result.evaluation.iter_rows(named=True):
        if row.get("strong_share") is not None and row["apgr"] != row["apgr"]:
            table.add_row(row["router"], "-", "-", "-", "-", f"quality {row['quality']:.3f} (point)")
            continue
        table.add_row(row["router"], fmt(row["apgr"]), fmt(row.get("cpt50")), fmt(row.get("cpt80")),
                      fmt(row.get("hull_auc")), fmt(row.get("quality_at_50")))
    make_console().print(table)


@router_app.command()
def train(
    source: Annotated[Path, typer.Argument(help="Run directory from `slmprofile run` (logs.parquet + "
                                                "embeddings.parquet), or a logs Parquet.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Router directory to write.")] = Path("router"),
    label_column: Annotated[str, typer.Option("--label-column", help="SLM outcome column (bool/0-1/rate).")] = "slm_correct",
    frontier_column: Annotated[str, typer.Option("--frontier-column", help="Frontier outcome column, used when "
                                                 "present ('' to ignore).")] = "frontier_correct",
    embeddings: Annotated[Optional[Path], typer.Option("--embeddings", help="Embeddings Parquet (default: the run's).")] = None,
    groups: Annotated[str, typer.Option("--groups", help="Hold out whole groups: task_type, a logs column, or none.")] = "task_type",
    weak_labels: Annotated[Optional[Path], typer.Option("--weak-labels", help="Table of weak labels per task type "
                                                        "(columns task_type + --weak-column).")] = None,
    weak_column: Annotated[str, typer.Option("--weak-column")] = "slm_ok",
    weak_weight: Annotated[float, typer.Option("--weak-weight", help="Sample weight of weak labels.")] = 0.3,
    target_value: Annotated[float, typer.Option("--target", "--target-value", help="The value to reach: e.g. 0.95 "
                                                "success on the SLM's traffic, or 0.6 SLM share with --target-by "
                                                "share.")] = 0.95,
    target: Annotated[Literal["quality", "share"], typer.Option("--target-by", help="quality (success on the SLM's "
                                                                "traffic) or share (of calls kept on the SLM).")] = "quality",
    test_size: Annotated[float, typer.Option("--test-size", help="Share held out for the evaluation.")] = 0.2,
    bag_of_pieces: Annotated[Optional[bool], typer.Option("--bag-of-pieces/--no-bag-of-pieces", help="Default: "
                                                          "chosen on leave-groups-out folds.")] = None,
    novelty_quantile: Annotated[float, typer.Option("--novelty-quantile", min=0.0, max=1.0, help="Novelty guard: "
                                                    "prompts farther from the training traffic than this share of "
                                                    "familiar held-out prompts go to the frontier model (0: no "
                                                    "guard).")] = 0.99,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    max_calls: Annotated[Optional[int], typer.Option("--max-calls", min=0, help="Train on a seeded sample of at most "
                                                     "this many labelled calls, read lazily (default: 20,000 when "
                                                     "SOURCE is a run that took the bounded-memory path, else all; "
                                                     "0: all).")] = None,
    finetune: Annotated[bool, typer.Option("--finetune/--no-finetune", help="Fine-tune the encoder on the "
                                           "training prompts (slow on a CPU); written to OUT/encoder/.")] = False,
    finetune_epochs: Annotated[int, typer.Option("--finetune-epochs")] = 1,
    finetune_max_prompts: Annotated[int, typer.Option("--finetune-max-prompts", help="Fine-tune on a sample of "
                                                      "at most this many prompts.")] = 20_000,
    encoder: Annotated[Literal["minilm", "static"], typer.Option("--encoder", help="minilm (the bundled transformer) or static (word-piece "
                                         "vectors distilled from it once: ~40x faster to route, a little less "
                                         "accurate; written to OUT/static/).")] = "minilm",
    export: Annotated[bool, typer.Option("--export/--no-export", help="Also export ONNX into --out.")] = False,
    check: Annotated[int, typer.Option("--check", help="With --export: parity check (ONNX vs PyTorch) on N "
                                                       "training prompts (0: none).")] = 100,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Reuse --out from an earlier router: replace only "
                                            "the files slmprofile wrote there.")] = False,
    from_router: Annotated[Optional[Path], typer.Option(
        "--from", help="Retrain the exported router in this directory (trained on SOURCE) with --add, and promote "
                       "the new one only if it is non-inferior on a held-out slice of the new window.")] = None,
    add: Annotated[Optional[list[Path]], typer.Option(
        "--add", help="With --from: a run directory or logs Parquet of the new window, with outcome columns "
                      "(repeat for several).")] = None,
    holdout: Annotated[float, typer.Option("--holdout", min=0.05, max=0.9, help="With --from: share of the new "
                                           "window's prompts held out to compare the routers.")] = 0.3,
    margin: Annotated[float, typer.Option("--margin", min=0.0, max=1.0, help="With --from: quality of the routed "
                                          "traffic the new router may lose and still be promoted.")] = 0.01,
    share_margin: Annotated[float, typer.Option("--share-margin", min=0.0, max=1.0, help="With --from: share sent "
                                                "to the small model it may lose.")] = 0.02,
) -> None:
    """Train the router on logged outcomes, evaluate it held out against baselines, write head + report + plot.
    With --from and --add: retrain on old plus new outcomes and write promotion.json (promoted or not, and why).

    Example: slmprofile router train out/run --out out/router --export
    """
    from ..errors import SlmprofileError
    from ..outputs import claim_dir
    from .data import default_max_calls, load_run_data
    from .finetune import ENCODER_DIR, FinetuneSettings
    from .train import SlmRouter, train_router

    console = make_console()
    if from_router is not None or add:
        _retrain(source, from_router, add or [], out, overwrite=overwrite, holdout=holdout, margin=margin,
                 share_margin=share_margin, seed=seed, label_column=label_column,
                 frontier_column=frontier_column or None)
        return
    try:
        from ..runtime import ARTIFACT_FILES

        claimed = claim_dir(out, overwrite=overwrite, inputs=[source] + ([embeddings] if embeddings else []),
                            reserved=(*RunDir.ROUTER_TRAIN_FILES, *ARTIFACT_FILES))
        data = load_run_data(source, label_column=label_column, frontier_column=frontier_column or None,
                             embeddings=embeddings, groups=None if groups == "none" else groups,
                             weak_labels=weak_labels, weak_column=weak_column, weak_weight=weak_weight,
                             max_calls=default_max_calls(source) if max_calls is None else max_calls or None,
                             random_state=seed)
        console.print("data: " + ", ".join(f"{k} {v}" for k, v in data.report.items()), highlight=False)
        estimator = SlmRouter(target=target, target_value=target_value,
                              bag_of_pieces="auto" if bag_of_pieces is None else bag_of_pieces,  # type: ignore[arg-type]
                              novelty_quantile=novelty_quantile or None,
                              random_state=seed)
        if encoder == "static" and finetune:
            raise ValueError("--finetune is for the minilm encoder; a static encoder is distilled, not tuned")
        result = train_router(data.texts, data.slm_correct, data.frontier_correct, encoder=encoder,  # type: ignore[arg-type]
                              embeddings=data.embeddings if encoder == "minilm" else None,
                              groups=data.groups, templates=data.templates, sample_weight=data.sample_weight,
                              timestamps=data.timestamps,
                              test_size=test_size, router=estimator, random_state=seed, progress=True,
                              finetune=FinetuneSettings(epochs=finetune_epochs, max_prompts=finetune_max_prompts,
                                                        random_state=seed) if finetune else None,
                              finetune_dir=out / ENCODER_DIR if finetune else None)
    except (SlmprofileError, ValueError) as exc:
        fail(str(exc))
    _print_evaluation(result)
    v = result.router.validation_
    share = v.get("slm_share")
    console.print(f"threshold p_slm >= {result.router.threshold_:.4f} ({target} target {target_value}; out-of-fold: "
                  f"{share:.1%} of calls to the SLM, success there "
                  f"{'-' if v.get('success_on_slm') is None else format(v['success_on_slm'], '.3f')}); "
                  f"frontier weight {result.router.frontier_weight_}", highlight=False)
    for line in result.describe():
        console.print(line, highlight=False)
    with claimed:
        for name, path in result.write(out).items():
            console.print(f"wrote {name}: {path}")
        if export:
            _export(out, out, int8=True, model=None, check=check, texts=data.texts)


def _retrain(source: Path, from_router: Optional[Path], add: list[Path], out: Path, *, overwrite: bool,
             holdout: float, margin: float, share_margin: float, seed: int, label_column: str,
             frontier_column: Optional[str]) -> None:
    from ..errors import SlmprofileError
    from ..outputs import claim_dir
    from ..runtime import ARTIFACT_FILES
    from .retrain import PROMOTION_FILE, PromotionSettings, retrain_router

    console = make_console()
    try:
        if from_router is None or not add:
            raise SlmprofileError("retraining needs both --from ROUTER_DIR (the router in use) and --add NEW_RUN "
                                  "(the new window with outcomes)")
        settings = PromotionSettings(holdout_share=holdout, margin=margin, share_margin=share_margin,
                                     seed=seed).check()
        with claim_dir(out, overwrite=overwrite, inputs=[source, from_router, *add],
                       reserved=(*RunDir.ROUTER_TRAIN_FILES, *ARTIFACT_FILES, PROMOTION_FILE)) as claimed:
            result = retrain_router(source, from_router, add, claimed.path, settings, label_column=label_column,
                                    frontier_column=frontier_column, progress=True)
    except (SlmprofileError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    e = result.evidence
    console.print(("PROMOTED: " if result.promoted else "NOT PROMOTED: ") + e["action"], highlight=False)
    for reason in e["reasons"]:
        console.print(f"  - {reason}", highlight=False)
    console.print(f"held out {e['calls']['new_held_out']} calls of the new window; wrote {out / PROMOTION_FILE}")


def _export(head_dir: Path, out: Path, *, int8: bool, model: Optional[Path], check: int,
            texts: Optional[list[str]] = None) -> None:
    import random

    from ..errors import SlmprofileError
    from .export import export_router, parity_report
    from .train import SlmRouter

    from ..outputs import claim_file_in, record_outputs

    console = make_console()
    head = head_dir / RunDir.ROUTER_HEAD if head_dir.is_dir() else head_dir
    try:
        from ..runtime import ARTIFACT_FILES

        claim_file_in(out, list(ARTIFACT_FILES))
        result = export_router(head, out, model=model, int8=int8)
    except (SlmprofileError, ValueError) as exc:
        fail(str(exc))
    record_outputs(out, result.files.values())
    for name, path in result.files.items():
        console.print(f"wrote {name}: {path}")
    if check and texts:
        from ..embed import Embedder

        sample = random.Random(0).sample(texts, min(check, len(texts)))
        from ..static_embed import STATIC_DIR, StaticEmbedder, is_static_folder

        tuned = head.parent / RunDir.ROUTER_ENCODER
        encoder = model or (tuned if (tuned / "config.json").is_file() else None)
        if encoder is None and is_static_folder(head.parent / STATIC_DIR):
            encoder = head.parent / STATIC_DIR
        if is_static_folder(encoder):
            embedder = StaticEmbedder(encoder)
        else:
            embedder = Embedder(encoder, device="cpu", cache_dir=False) if encoder else None
        try:
            report = parity_report(SlmRouter.load(head), out, sample, embedder=embedder)
        except SlmprofileError as exc:
            fail(str(exc))
        console.print("parity: " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                             for k, v in report.items()), highlight=False)


@router_app.command("export")
def export_cmd(
    directory: Annotated[Path, typer.Argument(help="Router directory with head.npz (from `router train`).")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Where to write (default: DIRECTORY).")] = None,
    int8: Annotated[bool, typer.Option("--int8/--no-int8", help="Also write the dynamic int8 model.")] = True,
    model: Annotated[Optional[Path], typer.Option("--model", help="Encoder or static embedding directory "
                                                  "(default: DIRECTORY's encoder/ or static/, else the bundled "
                                                  "MiniLM).")] = None,
    check: Annotated[int, typer.Option("--check", help="Parity check on N prompts of --check-logs (0: none).")] = 0,
    check_logs: Annotated[Optional[Path], typer.Option("--check-logs", help="Logs Parquet with prompt_text for "
                                                       "the parity check.")] = None,
) -> None:
    """Export router.onnx + router.int8.onnx + tokenizer.json + router.json (one graph: token ids -> p_slm).

    Example: slmprofile router export out/router
    """
    texts = None
    if check and check_logs:
        import polars as pl

        texts = [t for t in pl.read_parquet(check_logs, columns=["prompt_text"])["prompt_text"].to_list() if t]
    _export(directory, out or directory, int8=int8, model=model, check=check, texts=texts)


@router_app.command()
def bench(
    directory: Annotated[Path, typer.Argument(help="Exported router directory.")],
    threads: Annotated[Optional[int], typer.Option("--threads", help="Intra-op threads (default: all cores).")] = None,
    batch_sizes: Annotated[str, typer.Option("--batch-sizes")] = "1,8,32,128",
    device: Annotated[Literal["cpu", "cuda", "all"], typer.Option("--device", help="cpu, cuda or all (CUDA is skipped with a reason when "
                                                         "absent).")] = "all",
    variants: Annotated[str, typer.Option("--variants", help="Comma-separated: fp32, int8 and/or auto (what "
                                          "Router.load picks by default: int8 where it is faster here).")
                        ] = "fp32,int8",
    prompts: Annotated[Optional[Path], typer.Option("--prompts", help="Logs Parquet / text file of prompts "
                                                    "(default: --prompt-set).")] = None,
    prompt_set: Annotated[Literal["intents", "routellm", "sample", "auto"], typer.Option("--prompt-set", help="Built-in prompts when --prompts is not given: "
                                            "intents (short queries), routellm (exam questions), sample (the "
                                            "bundled logs) or auto.")] = "auto",
    n: Annotated[int, typer.Option("--n", help="Prompts to cycle through.")] = 512,
    max_seconds: Annotated[float, typer.Option("--max-seconds", help="Time budget per configuration.")] = 8.0,
    pytorch: Annotated[bool, typer.Option("--pytorch/--no-pytorch", help="Time the PyTorch path too.")] = True,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Where bench.json/png go (default: DIRECTORY).")] = None,
) -> None:
    """Latency p50/p95/p99 and throughput end to end, ONNX fp32/int8 on CPU (and CUDA) vs the PyTorch path.

    Example: slmprofile router bench out/router --batch-sizes 1,8 --device all
    """
    from ..errors import SlmprofileError
    from ..outputs import claim_file_in, record_outputs
    from .bench import run_benchmark

    try:
        claim_file_in(out or directory, list(RunDir.BENCH_FILES))
    except SlmprofileError as exc:
        fail(str(exc))
    texts = None
    if prompts is not None:
        if prompts.suffix == ".parquet":
            import polars as pl

            texts = [t for t in pl.read_parquet(prompts, columns=["prompt_text"])["prompt_text"].to_list() if t][:n]
        else:
            texts = [line for line in prompts.read_text(encoding="utf-8").splitlines() if line.strip()][:n]
    devices = ("cpu", "cuda") if device == "all" else (device,)
    sizes = [b.strip() for b in batch_sizes.split(",") if b.strip()]
    if not sizes or not all(b.isdigit() and int(b) > 0 for b in sizes):
        fail(f"--batch-sizes must be positive integers separated by commas (e.g. 1,8,32); got {batch_sizes!r}")
    try:
        result = run_benchmark(directory, texts=texts, batch_sizes=[int(b) for b in sizes],
                               variants=[v for v in variants.split(",") if v], devices=devices, threads=threads,
                               pytorch=pytorch, max_seconds=max_seconds, n_prompts=n,
                               prompt_source=prompt_set)
    except (SlmprofileError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    console = make_console()
    console.print(result.table())
    for line in result.auto_lines() + result.skipped:
        console.print(line, highlight=False)
    written = result.write(out or directory)
    record_outputs(out or directory, written.values())
    for name, path in written.items():
        console.print(f"wrote {name}: {path}")
