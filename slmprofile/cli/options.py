"""Options and value parsers shared by the commands: one name and one help text per idea, one error line per bad
value."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from ..ingest.formats import FormatName
from ..terminal import fail

FormatOpt = Annotated[Optional[FormatName], typer.Option("--format", "-f", help="Force a log format (default: detect per file).")]
MapOpt = Annotated[Optional[str], typer.Option(
    "--map", help="TARGET=COLUMN pairs, e.g. prompt=question,response=answer,slm_correct=small_ok")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail at the first bad row instead of counting a skip.")]
ModelOpt = Annotated[Optional[Path], typer.Option("--model", help="Local sentence-transformers model directory "
                                                                 "(default: bundled all-MiniLM-L6-v2).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")]
OutcomesOpt = Annotated[Optional[list[Path]], typer.Option(
    "--outcomes", help="Eval table(s) (CSV/Parquet/JSONL) with outcome columns joined to the calls by id, e.g. "
                       "slm_correct, frontier_correct, feedback, eval_score (rename with --map).")]
OutcomesKeyOpt = Annotated[str, typer.Option("--outcomes-key", help="The eval table's call-id column.")]
CacheOpt = Annotated[Optional[Path], typer.Option("--cache-dir", help="Embedding cache (default ~/.cache/slmprofile).")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Reuse an output that exists: an output directory "
                                            "loses only the files slmprofile's manifest lists there (nothing else is "
                                            "ever deleted); a named output file is replaced.")]
CandidateHelp = "Shadow-run this candidate small model through --base-url"
BaseUrlOpt = Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible API of the model(s) named here "
                                                                      "(e.g. http://localhost:8000/v1).")]
ApiModelOpt = Annotated[Optional[list[str]], typer.Option("--api-model", help="API small model priced with genai-prices "
                                                                              "(repeat; MODEL or MODEL=IN,OUT).")]
GpuOpt = Annotated[Optional[list[str]], typer.Option("--gpu", help="Self-host GPU type (repeat): L4, A10G, L40S, "
                                                                   "A100-80GB, H100-80GB.")]
BackendOpt = Annotated[Literal["torch", "onnx", "onnx-int8", "auto"], typer.Option("--embed-backend", help="torch (sentence-transformers), onnx, onnx-int8, or auto (int8 ONNX on a CPU when its vectors agree with PyTorch to cosine >= 0.99; about 1.5x faster).")]
RunBackendOpt = Annotated[Optional[Literal["torch", "onnx", "onnx-int8", "auto"]], typer.Option("--embed-backend", help="torch (sentence-transformers), onnx, onnx-int8, or auto (int8 ONNX on a CPU when its vectors agree with PyTorch to cosine >= 0.99; about 1.5x faster). Default: auto (PyTorch on a GPU).", show_default=False)]


def read_parquet(path: Path, what: str = "logs"):
    """``path`` read as Parquet, or one error line naming it (missing, a directory, not Parquet)."""
    import polars as pl

    from ..errors import SlmprofileError

    if not path.is_file():
        raise SlmprofileError(f"{path}: no such file (expected the {what} Parquet)")
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - polars raises several types for a damaged or foreign file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SlmprofileError(f"{path}: not a readable Parquet file of {what} ({first})") from None


read_logs = read_parquet


def parse_prices(spec: str | None, flag: str) -> tuple[float, float] | None:
    """``IN,OUT`` USD per million tokens, or ``None``; a malformed value ends the command with one line."""
    if not spec:
        return None
    try:
        values = tuple(float(x) for x in spec.split(","))
    except ValueError:
        values = ()
    if len(values) != 2 or any(not (v >= 0) or v == float("inf") for v in values):
        fail(f"{flag} must be IN,OUT: two non-negative USD prices per million tokens, e.g. 0.15,0.60; got {spec!r}")
    return values  # type: ignore[return-value]


def write_atomic(frame, out: Path) -> None:
    """Write ``frame`` to ``out`` through a temporary file beside it, so a failure never leaves half a file."""
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        frame.write_parquet(tmp)
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fail(f"{out}: cannot write ({exc.strerror or exc})")



def savings_options(api_model: list[str] | None, gpu: list[str] | None, *, gpu_price: float | None = None,
                     tokens_per_second: float | None = None, utilisation: float = 0.5,
                     replicas: int | None = None) -> list:
    """The savings options of ``--api-model`` / ``--gpu`` (defaults: gpt-4o-mini and L4), shared by ``run`` and
    ``savings``; a malformed ``--api-model`` ends the command with one error line."""
    from ..savings import ApiOption, SelfHostOption

    options: list = []
    for spec in api_model or ["gpt-4o-mini"]:
        name, sep, prices = spec.partition("=")
        if sep and not prices:
            fail(f"--api-model must be MODEL or MODEL=IN,OUT; got {spec!r}")
        options.append(ApiOption(name, price=parse_prices(prices, f"--api-model {name}=")))
    for g in gpu or ["L4"]:
        options.append(SelfHostOption(g, usd_per_hour=gpu_price, tokens_per_second=tokens_per_second,
                                      utilisation=utilisation, replicas=replicas))
    return options

