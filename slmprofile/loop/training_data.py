"""Fine-tuning data per task type, from the frontier model's own logged answers (``slmprofile export finetune``).

For each chosen task type (default: the types whose verdict is ``slm`` or ``undecided``) the successful frontier
calls become chat examples in the OpenAI fine-tuning format, one JSON object a line::

    {"messages": [{"role": "system", ...}, {"role": "user", ...}, {"role": "assistant", "content": "..."}]}

(an answer that was a tool call keeps it: ``{"role": "assistant", "tool_calls": [...]}``). Steps, in order:

1. **Keep** calls with status ``ok`` and an answer; drop those an outcome column marks as wrong
   (``frontier_correct`` false), and, when asked, those under a feedback or eval-score floor.
2. **Redact** every message and answer (the run's logs are redacted already; this holds for a logs file too).
3. **Deduplicate**: exact duplicates (same conversation and answer) and near duplicates (the same conversation once
   case, punctuation and spacing are set aside) keep their first call.
4. **Split** by template and time: the calls of one template (one system prompt or prompt skeleton) stay in one
   split, and the latest templates are held out for test, then validation; with fewer than
   :data:`MIN_GROUPS_FOR_TEMPLATE_SPLIT` templates the split is by time alone. Either way a prompt of the test split
   never appears (up to near duplicates) in train or validation, so the test split is a held-out evaluation set
   with the frontier model's answer as the reference.

Per type it counts the examples against the usual thresholds (:data:`MIN_EXAMPLES` to start,
:data:`RECOMMENDED_EXAMPLES` recommended), the training tokens, and a training-cost estimate under a stated price
assumption, and writes them to ``manifest.json``. The examples themselves (messages, answers, redaction, duplicate
keys, the format check) are built in :mod:`slmprofile.loop.chat_examples`; their names are importable from here too.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..params import Interval, check_params
from ..rundir import RunDir
from .chat_examples import (DISTINCTIVE_WORDS, assistant_message, check_example, conversation, near_key, prompt_key,
                            redact_messages, tool_call)

#: Examples below which fine-tuning is not worth starting.
MIN_EXAMPLES = 50
#: Examples from which fine-tuning usually pays off.
RECOMMENDED_EXAMPLES = 500
#: Fewer templates than this in a task type: split by time only (a template split would put most calls in one split).
MIN_GROUPS_FOR_TEMPLATE_SPLIT = 5
SPLITS = ("train", "validation", "test")
MANIFEST_FILE = "manifest.json"

_SLUG = re.compile(r"[^a-z0-9]+")

__all__ = ["DISTINCTIVE_WORDS", "MANIFEST_FILE", "MIN_EXAMPLES", "MIN_GROUPS_FOR_TEMPLATE_SPLIT", "RECOMMENDED_EXAMPLES",
           "SPLITS", "FinetuneDataSettings", "FinetuneExport", "TypeExport", "assistant_message", "check_example",
           "conversation", "export_finetune", "near_key", "prompt_key", "readiness", "readiness_table",
           "redact_messages", "slug", "tool_call"]


@dataclass
class FinetuneDataSettings:
    """What ``export finetune`` keeps and how it splits.

    Attributes:
        task_types: task type names or cluster ids to export (None: verdict ``slm`` or ``undecided``).
        min_feedback: keep calls whose ``feedback`` is at least this (None: no floor; calls without one are kept).
        min_eval_score: the same for ``eval_score``.
        validation_share, test_share: the shares of each type's examples held out (by template and time).
        epochs: training epochs assumed for the cost estimate.
        usd_per_million_training_tokens: the training price assumed for the cost estimate (stated in the manifest).
        redact: redact messages and answers again (the run's logs are redacted already).
    """

    task_types: Sequence[str] | None = None
    min_feedback: float | None = None
    min_eval_score: float | None = None
    validation_share: float = 0.1
    test_share: float = 0.15
    epochs: int = 3
    usd_per_million_training_tokens: float = 3.0
    redact: bool = True

    _parameter_constraints = {
        "task_types": [None, list, tuple],
        "min_feedback": [None, Interval(float, None, None)],
        "min_eval_score": [None, Interval(float, None, None)],
        "validation_share": [Interval(float, 0, 0.5)],
        "test_share": [Interval(float, 0, 0.5, closed="right")],
        "epochs": [Interval(int, 1, 100)],
        "usd_per_million_training_tokens": [Interval(float, 0, None)],
        "redact": [bool],
    }

    def check(self) -> FinetuneDataSettings:
        check_params(self, self._parameter_constraints)
        if self.validation_share + self.test_share >= 0.8:
            raise ValueError("The 'validation_share' and 'test_share' parameters must leave at least 20 % for "
                             f"training; got {self.validation_share} + {self.test_share}.")
        return self


@dataclass
class TypeExport:
    """One task type's export: counts per split, what was dropped, tokens, cost, readiness, files."""

    task_type: str
    cluster_id: int | None
    verdict: str | None
    calls: int
    kept: int
    dropped: dict[str, int]
    split_by: str
    counts: dict[str, int]
    train_tokens: int
    estimated_training_usd: float
    readiness: str
    files: dict[str, str] = field(default_factory=dict)
    tool_call_examples: int = 0


@dataclass
class FinetuneExport:
    """What ``export finetune`` wrote (``manifest.json`` holds the same)."""

    out_dir: Path
    settings: dict[str, Any]
    task_types: list[TypeExport]
    assumptions: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "settings": self.settings, "assumptions": self.assumptions,
                "task_types": [asdict(t) for t in self.task_types]}


# -- readiness and folders ------------------------------------------------------------------------------------------
def readiness(n_train: int) -> str:
    """``too few`` / ``enough to start`` / ``recommended`` for ``n_train`` training examples."""
    if n_train >= RECOMMENDED_EXAMPLES:
        return "recommended"
    return "enough to start" if n_train >= MIN_EXAMPLES else "too few"


def slug(name: str) -> str:
    """A folder name for a task type."""
    return _SLUG.sub("-", name.lower()).strip("-")[:80] or "task-type"


# -- the export ---------------------------------------------------------------------------------------------------
def export_finetune(run_dir: str | Path, out_dir: str | Path, settings: FinetuneDataSettings | None = None, *,
                    progress: bool = False) -> FinetuneExport:
    """Write ``OUT/<task-type>/{train,validation,test}.jsonl`` and ``OUT/manifest.json`` from a run directory
    (``logs.parquet``, ``clusters.parquet``, ``suitability.parquet``). ``out_dir`` must exist (claimed by the
    caller). Returns what was written."""
    import polars as pl

    settings = (settings or FinetuneDataSettings()).check()
    run = RunDir(run_dir)
    out = Path(out_dir)
    logs = run.read_table(RunDir.LOGS, skip=("embedding",))
    clusters = run.read_table(RunDir.CLUSTERS).select("id", "cluster_id", "task_type")
    verdicts = _verdicts(run)
    frame = logs.join(clusters, on="id", how="inner")
    chosen = _chosen_types(frame, verdicts, settings.task_types)
    exports = []
    folders: set[str] = set()
    for name in _progress(chosen, progress):
        part = frame.filter(pl.col("task_type") == name)
        cluster_id = part["cluster_id"][0] if part.height else None
        folder = slug(name)
        if folder in folders:  # two names that differ only in punctuation or after 80 characters
            folder = f"{folder}-{cluster_id}"
        folders.add(folder)
        exports.append(_export_type(part, name, None if cluster_id is None else int(cluster_id),
                                    verdicts.get(name), out, settings, folder))
    assumptions = {
        "usd_per_million_training_tokens": settings.usd_per_million_training_tokens, "epochs": settings.epochs,
        "price_note": "an assumed list price of hosted fine-tuning of a small model; set "
                      "--usd-per-mtok to your provider's",
        "min_examples": MIN_EXAMPLES, "recommended_examples": RECOMMENDED_EXAMPLES,
        "tokens": "prompt + completion tokens of the training examples as logged (or estimated at ingest)"}
    result = FinetuneExport(out, {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(settings).items()},
                            exports, assumptions)
    (out / MANIFEST_FILE).write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    return result


def _progress(items: list[str], show: bool) -> Iterable[str]:
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="export finetune", unit="type")


def _verdicts(run: RunDir) -> dict[str, str]:
    path = run.suitability
    if not Path(path).is_file():
        return {}
    import polars as pl

    table = pl.read_parquet(path, columns=["task_type", "verdict"])
    return dict(zip(table["task_type"].to_list(), table["verdict"].to_list()))


def _chosen_types(frame: Any, verdicts: dict[str, str], wanted: Sequence[str] | None) -> list[str]:
    present = sorted(set(frame["task_type"].drop_nulls().to_list()))
    if wanted is None:
        if not verdicts:
            raise FileNotFoundError("no verdicts in this run (suitability.parquet): name the task types with "
                                    "--task-type, or run `slmprofile suitability DIR` first")
        return [t for t in present if verdicts.get(t) in ("slm", "undecided")]
    by_id = {}
    for name, cid in frame.select("task_type", "cluster_id").unique().iter_rows():
        by_id[str(cid)] = name
    chosen = []
    for item in wanted:
        name = item if item in present else by_id.get(str(item))
        if name is None:
            close = [t for t in present if str(item).lower() in t.lower()]
            hint = f"; did you mean {close[0]!r}?" if close else f"; the run has {len(present)} task types"
            raise ValueError(f"no task type {item!r} in this run{hint}")
        if name not in chosen:
            chosen.append(name)
    return chosen


@dataclass
class _Prepared:
    """One task type's examples before writing: rows in time order, their split, what was dropped."""

    calls: int
    rows: list[dict]
    assignment: list[str]
    split_by: str
    dropped: dict[str, int]

    def kept(self) -> list[tuple[dict, str]]:
        """``(row, split)`` pairs that are written: a training or validation example whose prompt (:func:`prompt_key`)
        is in the test split (a distinctive user prompt under another system prompt) is dropped and counted as
        ``test_overlap``."""
        test_prompts = {r["prompt"] for r, s in zip(self.rows, self.assignment) if s == "test"}
        out = []
        self.dropped["test_overlap"] = 0
        for row, split in zip(self.rows, self.assignment):
            if split != "test" and row["prompt"] in test_prompts:
                self.dropped["test_overlap"] += 1
                continue
            out.append((row, split))
        return out


def _prepare_type(part: Any, settings: FinetuneDataSettings) -> _Prepared:
    import polars as pl

    dropped = {"not_ok": 0, "no_answer": 0, "frontier_wrong": 0, "low_feedback": 0, "low_eval_score": 0,
               "non_text_input": 0, "invalid": 0, "exact_duplicate": 0, "near_duplicate": 0, "test_overlap": 0}
    calls = part.height
    ok = part.filter(pl.col("status") == "ok")
    dropped["not_ok"] = calls - ok.height
    if "frontier_correct" in ok.columns:
        wrong = ok["frontier_correct"].fill_null(True).not_()
        dropped["frontier_wrong"] = int(wrong.sum())
        ok = ok.filter(~wrong)
    for column, floor, reason in (("feedback", settings.min_feedback, "low_feedback"),
                                  ("eval_score", settings.min_eval_score, "low_eval_score")):
        if floor is not None and column in ok.columns:
            low = ok[column].fill_null(float("inf")) < floor
            dropped[reason] = int(low.sum())
            ok = ok.filter(~low)
    ok = ok.sort(["timestamp", "id"], nulls_last=True)
    rows = []
    seen_exact: set[str] = set()
    seen_near: set[str] = set()
    for row in ok.iter_rows(named=True):
        answer = assistant_message(row.get("response_text"), row.get("n_tool_calls"))
        if answer is None:
            dropped["no_answer"] += 1
            continue
        if row.get("n_non_text_parts"):
            dropped["non_text_input"] += 1  # an image or a file the model would be trained to answer unseen
            continue
        messages = conversation(row.get("messages"), row.get("system_prompt")) + [answer]
        if settings.redact:
            messages = redact_messages(messages)
        example = {"messages": messages}
        if check_example(example) is not None:
            dropped["invalid"] += 1
            continue
        exact = hashlib.sha256(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        near = near_key(messages)
        if exact in seen_exact:
            dropped["exact_duplicate"] += 1
            continue
        if near in seen_near:
            dropped["near_duplicate"] += 1
            continue
        seen_exact.add(exact)
        seen_near.add(near)
        tokens = int((row.get("prompt_tokens") or 0) + (row.get("completion_tokens") or 0))
        rows.append({"example": example, "prompt": prompt_key(messages),
                     "group": row.get("template_id") or row.get("prompt_hash"),
                     "time": row.get("timestamp"), "tokens": tokens, "tools": "tool_calls" in answer})
    split_by, assignment = _split(rows, settings.validation_share, settings.test_share)
    return _Prepared(calls, rows, assignment, split_by, dropped)


def _summary(name: str, cluster_id: int | None, verdict: str | None, prepared: _Prepared,
             kept: list[tuple[dict, str]], settings: FinetuneDataSettings, files: dict[str, str]) -> TypeExport:
    counts = dict.fromkeys(SPLITS, 0)
    for _, split in kept:
        counts[split] += 1
    train_tokens = sum(row["tokens"] for row, split in kept if split == "train")
    usd = train_tokens * settings.epochs * settings.usd_per_million_training_tokens / 1e6
    return TypeExport(task_type=name, cluster_id=cluster_id, verdict=verdict, calls=prepared.calls,
                      kept=len(kept), dropped={k: v for k, v in prepared.dropped.items() if v},
                      split_by=prepared.split_by, counts=counts, train_tokens=train_tokens,
                      estimated_training_usd=round(usd, 4), readiness=readiness(counts["train"]), files=files,
                      tool_call_examples=sum(1 for row, _ in kept if row["tools"]))


def _export_type(part: Any, name: str, cluster_id: int | None, verdict: str | None, out: Path,
                 settings: FinetuneDataSettings, folder_name: str) -> TypeExport:
    prepared = _prepare_type(part, settings)
    kept = prepared.kept()
    folder = out / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    handles = {s: (folder / f"{s}.jsonl").open("w", encoding="utf-8") for s in SPLITS}
    try:
        for row, split in kept:
            handles[split].write(json.dumps(row["example"], ensure_ascii=False) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    files = {s: str((folder / f"{s}.jsonl").relative_to(out)) for s in SPLITS}
    return _summary(name, cluster_id, verdict, prepared, kept, settings, files)


def readiness_table(run_dir: str | Path, settings: FinetuneDataSettings | None = None) -> list[TypeExport]:
    """What :func:`export_finetune` would export per task type, counted without writing and without redacting again
    (the run's logs are redacted; for a run made with redaction off, export's counts can be a little lower, as
    requests that differed only in personal data become duplicates). For the report's "ready to fine-tune"
    section."""
    import polars as pl

    settings = replace(settings or FinetuneDataSettings(), redact=False).check()
    run = RunDir(run_dir)
    frame = run.read_table(RunDir.LOGS, skip=("embedding",)).join(
        run.read_table(RunDir.CLUSTERS).select("id", "cluster_id", "task_type"), on="id", how="inner")
    verdicts = _verdicts(run)
    out = []
    for name in _chosen_types(frame, verdicts, settings.task_types):
        part = frame.filter(pl.col("task_type") == name)
        prepared = _prepare_type(part, settings)
        out.append(_summary(name, int(part["cluster_id"][0]) if part.height else None, verdicts.get(name), prepared,
                            prepared.kept(), settings, {}))
    return out


def _split(rows: list[dict], validation_share: float, test_share: float) -> tuple[str, list[str]]:
    """``(how, split per row)``: whole templates, latest first to test then validation, when there are enough of
    them; else by time (rows are in time order)."""
    n = len(rows)
    if n == 0:
        return "none", []
    groups: dict[Any, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(row["group"], []).append(i)
    assignment = ["train"] * n
    if len(groups) >= MIN_GROUPS_FOR_TEMPLATE_SPLIT:
        # latest templates (by their first call) are held out; a template never straddles two splits
        order = sorted(groups, key=lambda g: (min(str(rows[i]["time"]) for i in groups[g]), str(g)), reverse=True)
        held = 0
        for split, share in (("test", test_share), ("validation", validation_share)):
            goal = held + share * n
            for g in list(order):
                if held >= goal:
                    break
                if held + len(groups[g]) > goal + 0.5 * share * n:
                    continue  # a template too big for what is left of this split's share stays in training
                for i in groups[g]:
                    assignment[i] = split
                held += len(groups[g])
                order.remove(g)
        # whole templates must come close to the shares asked for; else (a few huge templates) split by time
        if (assignment.count("test") >= 0.5 * test_share * n and assignment.count("validation")
                >= 0.5 * validation_share * n and assignment.count("train") >= 0.5 * n):
            return "template and time", assignment
        assignment = ["train"] * n
    n_test = int(round(test_share * n))
    n_val = int(round(validation_share * n))
    for i in range(n - n_test, n):
        assignment[i] = "test"
    for i in range(n - n_test - n_val, n - n_test):
        assignment[i] = "validation"
    return "time", assignment
