"""Savings of a run directory: the stored (or freshly assessed) suitability table and the run's calls, written back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..rundir import RunDir
from .estimate import estimate_savings
from .options import ApiOption, Option, SelfHostOption
from .result import SavingsResult

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl


def savings_from_run(run_dir: str | Path, *, options: Sequence[Option] = (ApiOption("gpt-4o-mini"),
                                                                          SelfHostOption("L4")),
                     cascade: bool = False, out_dir: str | Path | None = None, plots: bool = True,
                     outcomes: str | Path | Sequence[str | Path] | None = None,
                     **suitability_settings: Any) -> SavingsResult:
    """Savings of a run directory: reads ``suitability.parquet`` (written by ``slmprofile suitability``; computed
    now with ``suitability_settings`` when absent) and the run's logs and clusters; writes the results to
    ``out_dir`` (default ``run_dir``)."""
    import polars as pl

    from ..suitability import UNUSED_BY_ESTIMATES, assess_suitability, load_calls

    run = Path(run_dir)
    stored = RunDir(run).suitability_info
    use_stored = RunDir(run).suitability.is_file() and not suitability_settings and outcomes is None
    if use_stored and stored.is_file():  # the same evidence as `slmprofile suitability` used
        meta = json.loads(stored.read_text(encoding="utf-8"))
        outcomes = meta.get("outcomes") or None
        suitability_settings = {k: v for k, v in meta.get("settings", {}).items() if k != "target"}
    # the stored table needs no prompt text (assessing anew reads it for the language of each type)
    skip = UNUSED_BY_ESTIMATES + (("prompt_text",) if use_stored else ())
    calls = load_calls(run, outcomes=outcomes, skip_columns=skip)
    if use_stored:
        suitability = pl.read_parquet(RunDir(run).suitability)
    else:
        suitability = assess_suitability(run, logs=calls, write=False, **suitability_settings)
    settings = {k: v for k, v in suitability_settings.items() if k != "target"}

    def retarget(target: float) -> pl.DataFrame:
        return assess_suitability(run, logs=calls, write=False, target=target, **settings)

    result = estimate_savings(suitability, calls, options=options, cascade=cascade, retarget=retarget)
    result.write(out_dir if out_dir is not None else run, plots=plots)
    return result
