"""Readers for the public labelled data sets used to test and benchmark slmprofile.

They live outside the repository (``../shared/data`` beside the project, or ``$SLMPROFILE_SHARED_DATA``); their text
is never copied into it. Each reader returns a polars frame with ``text`` and the set's labels.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

WEAK_MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
STRONG_MODEL = "gpt-4-1106-preview"


def shared_data_dir(start: str | Path | None = None) -> Path | None:
    """``$SLMPROFILE_SHARED_DATA``, else the first ``shared/data`` found beside ``start`` (default: the repo) or
    its parents; None when absent."""
    env = os.environ.get("SLMPROFILE_SHARED_DATA")
    if env:
        return Path(env) if Path(env).is_dir() else None
    here = Path(start or Path(__file__).resolve().parents[1]).resolve()
    for base in (here, *here.parents):
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return None


def _root(root: str | Path | None) -> Path:
    path = Path(root) if root else shared_data_dir()
    if path is None or not Path(path).is_dir():
        raise FileNotFoundError("public data sets not found: set SLMPROFILE_SHARED_DATA or place them in ../shared/data")
    return Path(path)


def load_clinc150(root: str | Path | None = None, *, split: str = "test") -> pl.DataFrame:
    """CLINC150 utterances of ``split`` (train/val/test, or oos_*): ``text, intent, domain``."""
    import polars as pl

    base = _root(root) / "clinc150"
    data = json.loads((base / "data_full.json").read_text(encoding="utf-8"))[split]
    domains = json.loads((base / "domains.json").read_text(encoding="utf-8"))
    domain_of = {intent: domain for domain, intents in domains.items() for intent in intents}
    return pl.DataFrame({"text": [t for t, _ in data], "intent": [i for _, i in data],
                         "domain": [domain_of.get(i, "oos") for _, i in data]})


def load_banking77(root: str | Path | None = None, *, split: str = "test") -> pl.DataFrame:
    """Banking77 queries: ``text, intent``."""
    import polars as pl

    return pl.read_csv(_root(root) / "banking77" / f"{split}.csv").rename({"category": "intent"})


def load_routellm(root: str | Path | None = None, *, include_gsm8k: bool = True) -> pl.DataFrame:
    """RouteLLM per-prompt correctness: ``text, source, subject, slm_correct, frontier_correct``.

    ``slm_correct`` is Mixtral-8x7B's correctness, ``frontier_correct`` GPT-4-1106's. ``source`` is ``mmlu`` or
    ``gsm8k``; ``subject`` the MMLU subject (``gsm8k`` for GSM8K).
    """
    import polars as pl

    base = _root(root) / "routellm"
    frames = []
    for path in sorted((base / "mmlu").glob("mmlu_*.csv")):
        subject = path.stem.removeprefix("mmlu_")
        frames.append(pl.read_csv(path, columns=["prompt", WEAK_MODEL, STRONG_MODEL])
                      .with_columns(source=pl.lit("mmlu"), subject=pl.lit(subject)))
    if include_gsm8k:
        frames.append(pl.read_csv(base / "gsm8k_responses.csv", columns=["prompt", WEAK_MODEL, STRONG_MODEL])
                      .with_columns(source=pl.lit("gsm8k"), subject=pl.lit("gsm8k")))
    frame = pl.concat(frames)
    return frame.select(
        pl.col("prompt").alias("text"), "source", "subject",
        pl.col(WEAK_MODEL).cast(pl.Boolean).alias("slm_correct"),
        pl.col(STRONG_MODEL).cast(pl.Boolean).alias("frontier_correct"),
    )


def load_mt_bench(root: str | Path | None = None) -> pl.DataFrame:
    """MT-Bench questions: ``text`` (first turn), ``category``, ``question_id``."""
    import polars as pl

    rows = [json.loads(line) for line in
            (_root(root) / "routellm" / "mt_bench" / "question.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return pl.DataFrame({"text": [r["turns"][0] for r in rows], "category": [r["category"] for r in rows],
                         "question_id": [r["question_id"] for r in rows]})
