"""Shadow runs: ask candidate small models a stratified, budgeted sample of each task type's logged prompts and
measure their agreement with the logged frontier answers, stopping each task type once its verdict is decided.

* **Sampling** (:func:`stratified_order`): within each task type the calls are put in an order whose every prefix
  is (close to) proportionally stratified by prompt template and prompt-length tercile, so that however many a
  budget allows, the sample covers the type's templates and its short and long prompts.
* **Sequential rounds** (:class:`ShadowRun`): each round sends the next ``batch_size`` calls of every undecided
  task type to each candidate (through :class:`slmprofile.llm.LLMRunner`: concurrency, retries, spend cap, cache,
  redaction), scores them with the archetype's agreement measure (:mod:`slmprofile.agreement`) and updates the
  Wilson interval. A task type stops when its verdict is decided (at a Bonferroni-adjusted level, so that looking
  after every round does not inflate the error), when ``max_per_type`` calls were asked, or when the spend cap
  refused one of its requests (its worst case no longer fits the remaining budget; types with shorter prompts go
  on while theirs fit); otherwise the summary says how many more samples would decide it.
* **Spend** (``spend_``): per candidate, what its runner sent, replayed from the cache, refused over budget and
  spent over all rounds, and what the cap had left. With a cache the cap continues the budget of earlier runs
  (see :class:`slmprofile.llm.SpendCap`): re-run with the same cap to resume within it, or a larger one to go on.

Results feed :func:`slmprofile.suitability.assess_suitability` (``shadow=``) as the third kind of evidence.

>>> from slmprofile.llm import LLMRunner, SpendCap                                   # doctest: +SKIP
>>> runner = LLMRunner("llama-3.1-8b", base_url="http://localhost:8000/v1", cache="out/llm_cache.sqlite",
...                    spend_cap=SpendCap(max_tokens=2_000_000))                        # doctest: +SKIP
>>> shadow = ShadowRun([runner]).fit(calls, task_types)                                  # doctest: +SKIP
>>> shadow.results_, shadow.summary_                                                    # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .params import Interval, check_params
from .suitability import DEFAULT_CONFIDENCE, DEFAULT_TARGET, decide, samples_to_decide, wilson_interval

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from .agreement import Measure
    from .llm import LLMRunner

log = logging.getLogger(__name__)

RESULT_COLUMNS = ("id", "cluster_id", "model", "round", "status", "candidate_text", "score", "agree", "confidence",
                  "measure", "cost_usd")


def stratified_order(calls: pl.DataFrame, *, by: str = "cluster_id", strata: Sequence[str] = ("template_id",),
                     length_column: str | None = "prompt_tokens", length_bins: int = 3, seed: int = 0) -> pl.DataFrame:
    """``calls`` with ``shadow_rank`` (0, 1, ... within each ``by`` group) such that every prefix of a group is close
    to proportionally stratified by ``strata`` columns and ``length_bins`` quantile bins of ``length_column``.

    Each stratum's members get keys ``(i + u) / size`` (``i`` their random position in the stratum, ``u`` one
    uniform offset per stratum): sorting by key interleaves the strata in proportion to their sizes.
    """
    import numpy as np
    import polars as pl

    if calls.is_empty():
        return calls.with_columns(pl.lit(0, pl.Int64).alias("shadow_rank"))
    rng = np.random.default_rng(seed)
    cols = [c for c in strata if c in calls.columns]
    frame = calls.with_row_index("_row").with_columns(pl.Series("_u", rng.random(calls.height)))
    if length_column and length_column in calls.columns and length_bins > 1:
        frame = frame.with_columns(
            (pl.col(length_column).cast(pl.Float64).rank("ordinal").over(by) * length_bins
             / (pl.len().over(by) + 1)).floor().cast(pl.Int64).fill_null(0).alias("_len_bin"))
        cols.append("_len_bin")
    group = [by] + cols
    strata_rows = frame.select(group).unique(maintain_order=True)
    offsets = strata_rows.with_columns(pl.Series("_off", rng.random(strata_rows.height)))
    frame = frame.join(offsets, on=group, how="left", nulls_equal=True)
    frame = frame.with_columns(
        ((pl.col("_u").rank("ordinal").over(group) - 1 + pl.col("_off")) / pl.len().over(group)).alias("_key"))
    frame = frame.with_columns((pl.col("_key").rank("ordinal").over(by) - 1).cast(pl.Int64).alias("shadow_rank"))
    return frame.sort("_row").drop("_row", "_u", "_off", "_key", "_len_bin", strict=False)


def stratified_sample(calls: pl.DataFrame, *, fraction: float, by: str = "cluster_id", seed: int = 0,
                      **kwargs: Any) -> pl.DataFrame:
    """The first ``round(fraction * size)`` calls of each group in :func:`stratified_order` (at least one)."""
    import polars as pl

    if not 0 < fraction <= 1:
        raise ValueError(f"The 'fraction' parameter must be in (0, 1]; got {fraction!r} instead.")
    ordered = stratified_order(calls, by=by, seed=seed, **kwargs)
    need = (pl.len().over(by) * fraction).round().clip(lower_bound=1)
    return ordered.filter(pl.col("shadow_rank") < need).drop("shadow_rank")


def request_messages(row: Mapping[str, Any]) -> list[dict[str, str]]:
    """The chat messages to replay for a logged call: its logged request messages (role and text; tool results and
    empty messages dropped), else its system prompt and prompt text."""
    out: list[dict[str, str]] = []
    for m in row.get("messages") or []:
        role, content = m.get("role"), m.get("content")
        if role in ("system", "user", "assistant", "developer") and content:
            out.append({"role": "system" if role == "developer" else role, "content": str(content)})
    while out and out[-1]["role"] == "assistant":
        out.pop()
    if not any(m["role"] == "user" for m in out):
        out = ([{"role": "system", "content": row["system_prompt"]}] if row.get("system_prompt") else []) + (
            [{"role": "user", "content": row["prompt_text"]}] if row.get("prompt_text") else [])
    return out


class ShadowRun:
    """Sequential shadow evaluation of candidate models, per task type.

    Args:
        runners: one :class:`slmprofile.llm.LLMRunner` per candidate model (share a :class:`SpendCap` between them
            to cap the whole run).
        target: agreement a task type needs for the SLM (as in :mod:`slmprofile.suitability`).
        confidence: level of the reported Wilson intervals; stopping uses ``1 - (1 - confidence) / looks`` with
            ``looks = ceil(max_per_type / batch_size)`` (Bonferroni), so early stops stay valid.
        batch_size: calls per task type per round (typ. 10-50).
        max_per_type: calls per task type at most (the budget per type; 73 all-agreeing calls are needed before
            a 0.95 target can be cleared at all).
        min_per_type: calls asked before a task type may stop.
        measures: ``{archetype: Measure}`` overriding :data:`slmprofile.agreement.ARCHETYPE_MEASURES`; the key
            ``"*"`` applies to every archetype (e.g. an :class:`~slmprofile.agreement.LLMJudge`).
        embedder: for the ``embedding`` measure (None loads the bundled model when first needed).
        include_unassigned: also shadow calls outside any task type (``cluster_id`` -1).
        seed: for the stratified order.

    After :meth:`fit`: ``results_`` (one row per call asked, per model: ``id, cluster_id, model, round, status,
    candidate_text, score, agree, confidence, measure, cost_usd``) and ``summary_`` (per task type and model:
    ``n, k, rate, ci_lo, ci_hi, verdict, stopped`` (``decided``, ``max_per_type``, ``exhausted``, ``budget``,
    ``failed``), ``more_samples``) and ``spend_`` (one row per model: :data:`SPEND_COLUMNS` - requests, cached,
    sent attempts, answered, failed, refused ``over_budget``, attempts that ``waited`` for room, ``spent_usd`` /
    ``spent_tokens`` by this fit, ``carried_usd`` / ``carried_tokens`` spent against the cap before it, and
    ``left_usd`` / ``left_tokens`` after it; the judge's runner, if any, is not included).
    """

    def __init__(self, runners: Sequence[LLMRunner] | LLMRunner, *, target: float = DEFAULT_TARGET,
                 confidence: float = DEFAULT_CONFIDENCE, batch_size: int = 20, max_per_type: int = 200,
                 min_per_type: int = 20, measures: Mapping[str, Measure] | None = None, embedder: Any = None,
                 include_unassigned: bool = False, seed: int = 0) -> None:
        self.runners = runners
        self.target = target
        self.confidence = confidence
        self.batch_size = batch_size
        self.max_per_type = max_per_type
        self.min_per_type = min_per_type
        self.measures = measures
        self.embedder = embedder
        self.include_unassigned = include_unassigned
        self.seed = seed

    _parameter_constraints = {
        "target": [Interval(float, 0, 1, closed="neither")],
        "confidence": [Interval(float, 0, 1, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
        "max_per_type": [Interval(int, 1, None)],
        "min_per_type": [Interval(int, 1, None)],
    }

    def _check(self) -> list[LLMRunner]:
        check_params(self)
        runners = [self.runners] if hasattr(self.runners, "arun") else list(self.runners)  # type: ignore[arg-type]
        if not runners:
            raise ValueError("ShadowRun needs at least one runner (candidate model)")
        names = [r.model for r in runners]
        if len(set(names)) != len(names):
            raise ValueError(f"candidate models must differ; got {names}")
        return runners

    def _measure_for(self, archetype: str | None, json_share: float | None) -> Measure:
        from .agreement import get_measure, measure_for

        custom = dict(self.measures or {})
        if archetype in custom:
            return custom[archetype]  # type: ignore[index]
        if "*" in custom:
            return custom["*"]
        name = measure_for(archetype, json_output_share=json_share)
        cache = self.__dict__.setdefault("_measure_cache", {})
        if name not in cache:
            cache[name] = get_measure(name, embedder=self.embedder) if name == "embedding" else get_measure(name)
        return cache[name]

    def fit(self, calls: pl.DataFrame, task_types: pl.DataFrame | None = None) -> ShadowRun:
        """Run the shadow evaluation on ``calls`` (logs joined with ``cluster_id``; needs ``id``, ``response_text``
        and ``messages`` or ``prompt_text``) with per-type ``task_types`` (``archetype``, ``json_output_share``)."""
        import polars as pl

        runners = self._check()
        for col in ("id", "cluster_id", "response_text"):
            if col not in calls.columns:
                raise ValueError(f"calls need a {col!r} column for a shadow run")
        usable = calls.filter(pl.col("response_text").is_not_null() & (pl.col("response_text").str.len_chars() > 0))
        if "status" in usable.columns:
            usable = usable.filter(pl.col("status") == "ok")
        if not self.include_unassigned:
            usable = usable.filter(pl.col("cluster_id") != -1)
        if "prompt_hash" in usable.columns:  # a prompt repeated 100 times is asked once
            usable = usable.unique(subset=["cluster_id", "prompt_hash"], keep="first", maintain_order=True)
        ordered = stratified_order(usable, seed=self.seed).sort(["cluster_id", "shadow_rank"])
        info = {}
        if task_types is not None:
            for row in task_types.iter_rows(named=True):
                info[row["cluster_id"]] = (row.get("archetype"), row.get("json_output_share"))
        groups = {cid: part for (cid,), part in ordered.group_by("cluster_id", maintain_order=True)}
        looks = max(math.ceil(self.max_per_type / self.batch_size), 1)
        stop_confidence = 1 - (1 - self.confidence) / looks
        results: list[dict[str, Any]] = []
        summary: list[dict[str, Any]] = []
        spend: list[dict[str, Any]] = []
        for runner in runners:
            state = {cid: {"n": 0, "k": 0, "pos": 0, "stopped": None} for cid in groups}
            totals = _spend_row(runner.model)
            rnd = 0
            while True:
                batch = []
                for cid, part in groups.items():
                    st = state[cid]
                    if st["stopped"]:
                        continue
                    take = min(self.batch_size, self.max_per_type - st["n"], part.height - st["pos"])
                    if take <= 0:
                        st["stopped"] = "max_per_type" if st["n"] >= self.max_per_type else "exhausted"
                        continue
                    batch.append((cid, part.slice(st["pos"], take)))
                    st["pos"] += take
                if not batch:
                    break
                rnd += 1
                got = self._round(runner, batch, info, rnd)
                _add_stats(totals, getattr(runner, "stats_", None), first=rnd == 1)
                results.extend(got)
                for cid, _ in batch:
                    st = state[cid]
                    mine = [r for r in got if r["cluster_id"] == cid]
                    answered = [r for r in mine if r["agree"] is not None]
                    st["n"] += len(answered)
                    st["k"] += sum(bool(r["agree"]) for r in answered)
                    if any(r["status"] == "over_budget" for r in mine):
                        # the cap refused a request of this type: its worst case no longer fits the remaining
                        # budget (re-run with a larger cap to go on); types whose requests still fit go on
                        st["stopped"] = "budget"
                    elif mine and not answered:
                        st["stopped"] = "failed"
                    elif st["n"] >= self.min_per_type:
                        lo, hi = wilson_interval(st["k"], st["n"], stop_confidence)
                        if decide(lo, hi, self.target) != "undecided":
                            st["stopped"] = "decided"
            spend.append(totals)
            for cid, st in state.items():
                n, k = st["n"], st["k"]
                lo, hi = wilson_interval(k, n, self.confidence)
                verdict = decide(lo, hi, self.target) if n else "undecided"
                rate = k / n if n else None
                needed = samples_to_decide(rate, self.target, self.confidence) if (
                    rate is not None and verdict == "undecided") else None
                summary.append({"cluster_id": cid, "model": runner.model, "n": n, "k": k, "rate": rate,
                                "ci_lo": lo if n else None, "ci_hi": hi if n else None, "verdict": verdict,
                                "stopped": st["stopped"] or "exhausted",
                                "more_samples": None if needed is None else max(needed - n, 0)})
        self.results_ = _results_frame(results)
        self.summary_ = pl.DataFrame(summary, schema={
            "cluster_id": pl.Int64, "model": pl.Utf8, "n": pl.Int64, "k": pl.Int64, "rate": pl.Float64,
            "ci_lo": pl.Float64, "ci_hi": pl.Float64, "verdict": pl.Utf8, "stopped": pl.Utf8,
            "more_samples": pl.Int64})
        self.spend_ = pl.DataFrame(spend, schema=_spend_schema())
        return self

    def _round(self, runner: LLMRunner, batch: list[tuple[int, pl.DataFrame]],
               info: Mapping[int, tuple[str | None, float | None]], rnd: int) -> list[dict[str, Any]]:
        from .agreement import LLMJudge
        from .llm import LLMRequest

        rows = [(cid, row) for cid, part in batch for row in part.iter_rows(named=True)]
        requests = [LLMRequest(messages=tuple(request_messages(row)), key=str(row["id"])) for _, row in rows]
        answers = runner.run(requests)
        out: list[dict[str, Any]] = []
        by_type: dict[int, list[int]] = {}
        for i, (cid, _) in enumerate(rows):
            by_type.setdefault(cid, []).append(i)
        scores: dict[int, tuple[float, bool, str]] = {}
        for cid, idx in by_type.items():
            archetype, json_share = info.get(cid, (None, None))
            measure = self._measure_for(archetype, json_share)
            ok = [i for i in idx if answers[i].ok]
            if not ok:
                continue
            if isinstance(measure, LLMJudge):
                measure.prompts = [rows[i][1].get("prompt_text") or "" for i in ok]
            cand = [answers[i].content for i in ok]
            ref = [rows[i][1]["response_text"] for i in ok]
            sc = measure.score(cand, ref)
            for i, s in zip(ok, sc):
                scores[i] = (float(s), bool(s >= measure.threshold - 1e-12), measure.name)
        for i, ((cid, row), ans) in enumerate(zip(rows, answers)):
            s = scores.get(i)
            out.append({"id": str(row["id"]), "cluster_id": int(cid), "model": runner.model, "round": rnd,
                        "status": ans.status, "candidate_text": ans.content, "score": s[0] if s else None,
                        "agree": s[1] if s else None, "confidence": ans.confidence,
                        "measure": s[2] if s else None, "cost_usd": ans.cost_usd})
        return out


SPEND_COLUMNS = ("model", "requests", "cached", "sent", "answered", "failed", "over_budget", "waited", "spent_usd",
                 "spent_tokens", "carried_usd", "carried_tokens", "left_usd", "left_tokens")
_COUNTED = ("requests", "cached", "sent", "answered", "failed", "over_budget", "waited", "spent_usd", "spent_tokens")


def _spend_schema() -> dict[str, Any]:
    import polars as pl

    floats = ("spent_usd", "carried_usd", "left_usd")
    return {c: pl.Utf8 if c == "model" else pl.Float64 if c in floats else pl.Int64 for c in SPEND_COLUMNS}


def _spend_row(model: str) -> dict[str, Any]:
    row: dict[str, Any] = {c: 0 for c in SPEND_COLUMNS}
    row.update(model=model, spent_usd=0.0, carried_usd=0.0, left_usd=None, left_tokens=None)
    return row


def _add_stats(row: dict[str, Any], stats: Any, *, first: bool) -> None:
    """Add one round's :class:`slmprofile.llm.RunStats` to a model's spend row (carried: as of its first round;
    left: as of its last)."""
    if stats is None:
        return
    for name in _COUNTED:
        row[name] += getattr(stats, name, 0)
    if first:
        row["carried_usd"], row["carried_tokens"] = stats.carried_usd, stats.carried_tokens
    row["left_usd"], row["left_tokens"] = stats.left_usd, stats.left_tokens


def _results_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    import polars as pl

    schema = {"id": pl.Utf8, "cluster_id": pl.Int64, "model": pl.Utf8, "round": pl.Int64, "status": pl.Utf8,
              "candidate_text": pl.Utf8, "score": pl.Float64, "agree": pl.Boolean, "confidence": pl.Float64,
              "measure": pl.Utf8, "cost_usd": pl.Float64}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def run_shadow(calls: pl.DataFrame, task_types: pl.DataFrame | None, runners: Sequence[LLMRunner] | LLMRunner,
               **settings: Any) -> ShadowRun:
    """Fit a :class:`ShadowRun` (``settings`` are its keyword arguments) and return it."""
    return ShadowRun(runners, **settings).fit(calls, task_types)
