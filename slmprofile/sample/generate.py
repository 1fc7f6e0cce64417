"""Generate the sample: :func:`generate_sample` writes one month (or two, with ``drift=True``) of logs, the truth
table, the offline eval, the README and the drift truth."""

from __future__ import annotations

import copy
import csv
import gzip
import hashlib
import io
import json
import math
import os
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..sample_content import Ctx
from .calls import Call, alnum, pick, quotas, sample_time, time_call, uuid
from .mix import (BASE_MIX, DRIFT_DIR, DRIFT_TRUTH, EVAL_FILE, EVAL_SLM, FT_MODEL, HELICONE_COLUMNS, LOG_FILES,
                  TASK_FAMILIES, Mix, SampleSummary, drifted)
from .readme import change_notes, render_readme, shares
from .records import helicone_row, langfuse_extras, langfuse_record, litellm_record, openai_record

_FILE_ORDER = ("batch", "copilot", "support", "internal")
_BATCH_USERS = {"ap-invoice-batch": "svc-ap-invoices", "review-insights": "svc-review-insights",
                "nps-tagging": "svc-nps-tagging", "help-center-tagging": "svc-nps-tagging"}


def generate_sample(out_dir: str | os.PathLike, *, n_calls: int = 3600, seed: int = 7, days: int = 30,
                    start: datetime = datetime(2026, 10, 1, tzinfo=timezone.utc), drift: bool = False) -> SampleSummary:
    """Write the sample logs, ``truth.csv`` and ``README.md`` under ``out_dir`` and say what was written.

    ``drift=True`` also writes a second month (the next ``days`` days, same layout) under ``out_dir/month2/``: the
    task mix shifts, invoice extraction gets harder for the small model, résumé screening appears and prompt storage
    is on all month; ``month2/drift_truth.json`` holds what changed. Month 1 is the same with or without it.
    """
    if n_calls < 50:
        raise ValueError("n_calls must be at least 50")
    if days < 3:
        raise ValueError("days must be at least 3")
    start = start.replace(tzinfo=timezone.utc) if start.tzinfo is None else start.astimezone(timezone.utc)
    out = Path(out_dir)
    summary, ids = _generate_month(out, BASE_MIX, n_calls=n_calls, seed=seed, days=days, start=start, stream=seed)
    if not drift:
        return summary
    later = drifted(BASE_MIX)
    start2 = start + timedelta(days=days)
    month2, _ = _generate_month(out / DRIFT_DIR, later, n_calls=n_calls, seed=seed, days=days, start=start2,
                                stream=f"{seed}-{DRIFT_DIR}", taken=ids, previous=(BASE_MIX, summary, start))
    truth = _drift_truth(BASE_MIX, later, summary, month2, start, start2, days)
    text = json.dumps(truth, indent=2, ensure_ascii=False) + "\n"
    _write(out / DRIFT_DIR / DRIFT_TRUTH, text)
    month2 = replace(month2, files=dict(sorted({**month2.files, DRIFT_TRUTH: text.count("\n")}.items())))
    return replace(summary, drift=month2)


def _drift_truth(before: Mix, after: Mix, month1: SampleSummary, month2: SampleSummary, start1: datetime,
                 start2: datetime, days: int) -> dict[str, Any]:
    """What changed from month 1 to month 2: the content of ``month2/drift_truth.json``."""
    return {
        "window": {"start": start2.isoformat(), "days": days},
        "previous": {"start": start1.isoformat(), "days": days},
        "new_tasks": [t for t in after.weights if t not in before.weights],
        "difficulty_changed": {t: {"before": list(before.difficulty[t]), "after": list(after.difficulty[t])}
                               for t in before.difficulty if after.difficulty[t] != before.difficulty[t]},
        "new_task_difficulty": {t: list(p) for t, p in after.difficulty.items() if t not in before.difficulty},
        "weights_before": dict(before.weights),
        "weights_after": dict(after.weights),
        "share_before": shares(month1.task_counts),
        "share_after": shares(month2.task_counts),
    }


def _generate_month(out: Path, mix: Mix, *, n_calls: int, seed: int, days: int, start: datetime, stream: int | str,
                    taken: set[str] | None = None,
                    previous: tuple[Mix, SampleSummary, datetime] | None = None) -> tuple[SampleSummary, set[str]]:
    """Write one month under ``out``; return its summary and every id it used.

    ``stream`` seeds the random draws (``seed`` itself only names keys, workspaces and sessions, which stay the same
    from month to month); ``taken``: ids another month used, never reused here; ``previous``: the month before
    (its mix, summary and start), for the "what changed" section of the README.
    """
    rng = random.Random(stream)
    (out / "logs").mkdir(parents=True, exist_ok=True)

    n_fail = round(n_calls * 0.03)
    n_reask = round(n_calls * 0.03)
    n_base = n_calls - n_fail - n_reask
    end_of_window = start + timedelta(days=days)

    employees = [f"u_{1001 + i}" for i in range(180)]
    rng.shuffle(employees)
    analysts = employees[:45]
    agents = [f"agt_{101 + i:03d}" for i in range(26)]
    zipf = lambda n: [1 / (i + 1) ** 0.8 for i in range(n)]  # noqa: E731
    user_pools = {"copilot": (analysts, zipf(45)), "internal": (employees, zipf(180)), "support": (agents, zipf(26))}

    # ---- base calls
    tasks: list[str] = []
    for t, q in quotas(n_base, mix.weights).items():
        tasks += [t] * q
    rng.shuffle(tasks)
    day_cache: dict[tuple[str, str], list[float]] = {}
    migration_day = int(days * 0.6)
    calls: list[Call] = []

    def new_call(task: str, service: str, when: datetime) -> Call:
        if task == "ticket_triage":  # the support app moved triage to gpt-4.1 mid-month (after a canary)
            later = mix.continued or (when - start).days >= migration_day
            model = "gpt-4.1" if later or rng.random() < 0.08 else "gpt-4o"
        else:
            model = pick(rng, mix.models[(task, service)])
        draft = mix.builders[task](rng, Ctx(when=when, service=service))
        if service == "batch":
            user = _BATCH_USERS.get(draft.feature) or rng.choices(employees[:60], weights=zipf(60))[0]
        else:
            pool, w = user_pools[service]
            user = rng.choices(pool, weights=w)[0]
        c = Call(seq=len(calls), task=task, service=service, model=model, when=when, draft=draft, user=user)
        time_call(rng, c)
        calls.append(c)
        return c

    for task in tasks:
        service = pick(rng, mix.services[task])
        new_call(task, service, sample_time(rng, task, service, start, days, day_cache))

    # ---- a fine-tuned self-hosted model, shadow-tested on review sentiment one afternoon
    reviews = [c for c in calls if c.task == "review_sentiment"]
    n_ft = min(len(reviews), max(2, round(n_calls / 360)))
    shadow_day = start + timedelta(days=int(days * 0.7))
    while shadow_day.weekday() >= 5:
        shadow_day += timedelta(days=1)
    for c in rng.sample(reviews, n_ft):
        c.model = FT_MODEL
        c.when = shadow_day.replace(hour=13) + timedelta(seconds=rng.randrange(3 * 3600), milliseconds=rng.randrange(1000))
        c.user = "u_1007"
        time_call(rng, c)

    # ---- users asking the same FAQ / small-talk question again (new id, identical prompt)
    askable = [c for c in calls if c.task in ("faq_answer", "chit_chat")]
    for _ in range(n_reask):
        orig = rng.choice(askable)
        delta = timedelta(seconds=rng.randint(60, 1800)) if rng.random() < 0.4 else timedelta(seconds=rng.randint(3600, 5 * 86400))
        when = orig.when + delta
        if when >= end_of_window:
            when = max(start, orig.when - delta)
        c = Call(seq=len(calls), task=orig.task, service=orig.service, model=orig.model, when=when,
                 draft=copy.deepcopy(orig.draft),
                 user=orig.user if rng.random() < 0.8 else rng.choices(*user_pools[orig.service])[0])
        time_call(rng, c)
        if c.service == "internal" and when > orig.when and rng.random() < 0.5:
            c.cache_hit = True
            c.ttft_ms = c.latency_ms = rng.randint(4, 25)
        calls.append(c)

    # ---- failed attempts (429 / 500) followed by a successful retry a few seconds later
    eligible = [c for c in calls if not c.cache_hit]
    keyed = sorted(eligible, key=lambda c: -(rng.random() ** (1 / (3.0 if c.service == "batch" else 1.0))))
    for target in sorted(keyed[:n_fail], key=lambda c: c.seq):
        status = 429 if rng.random() < 0.7 else 500
        f = Call(seq=len(calls), task=target.task, service=target.service, model=target.model, when=target.when,
                 draft=target.draft, user=target.user, error=status)
        time_call(rng, f)
        f.latency_ms = rng.randint(90, 400) if status == 429 else rng.randint(1500, 20000)
        f.when = target.when - timedelta(milliseconds=f.latency_ms + rng.randint(1500, 8000))
        f.extra["used_frac"] = rng.random()
        f.extra["wait"] = f"{rng.randint(200, 9000) / 1000:.3f}"
        f.extra["retry_of"] = target.seq
        calls.append(f)

    # ---- two extra batch calls whose log lines get cut off (not real calls: no truth rows)
    for task in ("invoice_extraction", "review_sentiment"):
        c = new_call(task, "batch", sample_time(rng, task, "batch", start, days, day_cache))
        c.truth = False

    # ---- ids and per-format fields
    used: set[str] = set(taken or ())

    def unique(make) -> str:  # type: ignore[no-untyped-def]
        while True:
            v = make()
            if v not in used:
                used.add(v)
                return v

    traces: dict[int, str] = {}
    for c in calls:
        if c.service == "batch":
            c.id = unique(lambda: f"req_{rng.getrandbits(128):032x}") if c.error else unique(lambda: "chatcmpl-" + alnum(rng, 29))
        elif c.service == "copilot":
            c.id = unique(lambda: uuid(rng))
            root = c.extra.get("retry_of", c.seq)
            traces.setdefault(root, f"{rng.getrandbits(128):032x}")
            c.trace_id = traces[root]
            c.extra["obs_name"] = ("sql-writer" if c.draft.prompt_name else
                                   "OpenAI-generation" if c.model.startswith("gpt") else "anthropic-generation")
            release = f"copilot@1.8.{(3 if mix.continued else 2) + ((c.when - start).days >= days // 2)}"
            c.extra["metadata"] = {"app": "insights-copilot", "release": release,
                                   "workspace_id": "ws_" + hashlib.sha256(f"{seed}:{c.user}".encode()).hexdigest()[:10]}
            block = c.when.replace(hour=c.when.hour // 2 * 2, minute=0, second=0, microsecond=0)
            c.extra["session"] = "sess_" + hashlib.sha256(f"{seed}|{c.user}|{block.isoformat()}".encode()).hexdigest()[:16]
        elif c.service == "support":
            c.id = unique(lambda: uuid(rng))
            c.resp_id = "chatcmpl-" + alnum(rng, 29)
            version = "2.3.4" if not mix.continued and (c.when - start).days < max(1, days // 5) else "2.4.0"
            props = {"Helicone-Property-Environment": "production", "Helicone-Property-App-Version": version}
            if version == "2.4.0" and c.draft.feature in ("ticket-triage", "reply-assist"):
                props["Helicone-Property-Feature"] = c.draft.feature
            if c.draft.feature == "ticket-triage":
                props["Helicone-Property-Queue"] = rng.choice(("emea", "na", "apac"))
            c.extra["properties"] = props
        else:
            c.id = unique(lambda: "chatcmpl-" + (uuid(rng) if c.model.startswith("claude") else alnum(rng, 29)))  # noqa: B023 - called at once
            alias, team, tags = mix.litellm_keys[c.draft.feature]
            c.extra["key"] = (alias, team, tags)
            c.extra["api_key"] = hashlib.sha256(f"sk-nw-{alias}-{seed}".encode()).hexdigest()
            c.extra["team_id"] = hashlib.sha256(f"team-{team}-{seed}".encode()).hexdigest()[:8] + "-" + team
            c.extra["model_id"] = hashlib.sha256(f"deployment-{c.model}".encode()).hexdigest()
            c.extra["end_user"] = ("U0" + hashlib.sha256(f"{seed}:{c.user}".encode()).hexdigest()[:9].upper()
                                   if c.draft.feature in ("nori", "peoplebot") else "")
            canon = json.dumps({"model": c.model, "messages": c.draft.messages, "temperature": c.draft.temperature},
                               sort_keys=True, ensure_ascii=False)
            c.extra["cache_key"] = hashlib.sha256(canon.encode()).hexdigest()

    # ---- LiteLLM prompt storage was only switched on a little into the month
    internal = sorted((c for c in calls if c.service == "internal"), key=lambda c: (c.when, c.seq))
    for c in internal[: math.ceil(len(internal) * mix.hidden_share)]:
        c.hidden = True

    # ---- identical prompts: point every later call at the earliest one
    first_by_prompt: dict[str, str] = {}
    for c in sorted((c for c in calls if c.truth and not c.hidden), key=lambda c: (c.when, c.seq)):
        key = json.dumps([c.draft.messages, c.draft.tools], sort_keys=True, ensure_ascii=False)
        if key in first_by_prompt:
            c.duplicate_of = first_by_prompt[key]
        else:
            first_by_prompt[key] = c.id

    # ---- lines written twice by the exporters
    real = [c for c in calls if c.truth]
    doubled = {c.seq for c in rng.sample(real, round(n_calls * 0.02))}

    # ---- write the four logs
    files: dict[str, int] = {}
    order: dict[str, list[Call]] = {}
    for service in _FILE_ORDER:
        rows = sorted((c for c in calls if c.service == service), key=lambda c: (c.when, c.seq))
        order[service] = rows
        lines: list[str] = []
        pending: list[tuple[int, str]] = []  # (write after this many more lines, text)
        extra_obs: dict[int, list[tuple[str, str]]] = {}
        if service == "copilot":
            extra_obs = langfuse_extras(rng, [c for c in rows if not c.error and c.truth])
        serial: list[Any] = []
        for c in rows:
            if service == "batch":
                text = json.dumps(openai_record(c), ensure_ascii=False)
            elif service == "copilot":
                text = json.dumps(langfuse_record(c), ensure_ascii=False, separators=(",", ":"))
            elif service == "support":
                text = _csv_line(helicone_row(c))
            else:
                text = json.dumps(litellm_record(c), ensure_ascii=False, separators=(",", ":"))
            if not c.truth:
                cut = int(len(text) * rng.uniform(0.35, 0.7))
                text = text[:cut]
            serial.append((c, text))
        truncated = [t for c, t in serial if not c.truth]
        serial = [(c, t) for c, t in serial if c.truth]
        for c, text in serial:
            around = extra_obs.get(c.seq, [])
            lines += [t for kind, t in around if kind == "PRE"]
            lines.append(text)
            lines += [t for kind, t in around if kind == "POST"]
            still = []
            for k, t in pending:
                if k <= 0:
                    lines.append(t)
                else:
                    still.append((k - 1, t))
            pending = still
            if c.seq in doubled:
                pending.append((rng.randint(0, 2), text))
        lines += [t for _, t in pending]
        if truncated:
            n = len(lines)
            for j, t in enumerate(truncated):
                lines.insert((j + 1) * n // (len(truncated) + 1) + j, t)
        rel = LOG_FILES[service]
        if service == "support":
            _write(out / rel, _csv_line(list(HELICONE_COLUMNS)) + "".join(lines))
        else:
            _write(out / rel, "".join(t + "\n" for t in lines))
        files[rel] = len(lines)

    # ---- truth.csv, in file order then line order
    truth_rows = [["id", "file", "task_type", "family", "template", "has_pii", "pii_kinds", "duplicate_of"]]
    task_counts: dict[str, int] = {}
    for service in _FILE_ORDER:
        for c in order[service]:
            if not c.truth:
                continue
            task = "unknown_no_messages" if c.hidden else c.task
            task_counts[task] = task_counts.get(task, 0) + 1
            kinds = [] if c.hidden else c.draft.pii_kinds()
            truth_rows.append([c.id, LOG_FILES[service], task, TASK_FAMILIES[task], "" if c.hidden else c.draft.template,
                               "true" if kinds else "false", ";".join(kinds), c.duplicate_of])
    _write(out / "truth.csv", "".join(_csv_line(r) for r in truth_rows))
    files["truth.csv"] = len(truth_rows) - 1
    eval_rates = _write_evals(out, [c for s in _FILE_ORDER for c in order[s]], difficulty=mix.difficulty,
                              stream=stream, start=start, days=days)
    files[EVAL_FILE] = sum(n for n, _, _ in eval_rates.values())
    task_counts = dict(sorted(task_counts.items()))

    readme = render_readme(n_calls=n_calls, seed=seed, days=days, start=start, files=files, task_counts=task_counts,
                           calls=[c for c in calls if c.truth], n_fail=n_fail, n_doubled=len(doubled), n_ft=n_ft,
                           eval_rates=eval_rates, mix=mix,
                           changes=None if previous is None else change_notes(*previous, mix, task_counts, start))
    _write(out / "README.md", readme)
    files["README.md"] = readme.count("\n")
    return SampleSummary(out_dir=str(out), n_calls=len(truth_rows) - 1, seed=seed, files=dict(sorted(files.items())),
                         task_counts=task_counts), used


def _write_evals(out: Path, calls: list[Call], *, difficulty: dict[str, tuple[float, float]], stream: int | str,
                 start: datetime, days: int) -> dict[str, tuple[int, float, float]]:
    """Write the offline eval: every answered call replayed through a candidate SLM, both answers graded.

    A call's chance of SLM success is its task's rate in ``difficulty`` (month 1: :data:`SLM_DIFFICULTY`) shifted on
    the logit scale by how long its prompt is relative to the task's typical prompt (longer is harder), so a router
    has something to learn within a task. Drawn from its own random stream: the logs do not change when this does.
    Returns ``task -> (graded calls, realized SLM success rate, realized frontier success rate)``.
    """
    rng = random.Random(f"{stream}-offline-eval")
    graded = [c for c in calls if c.truth and not c.hidden and not c.error and c.draft.response is not None]
    lengths: dict[str, list[float]] = {}
    for c in graded:
        lengths.setdefault(c.task, []).append(math.log(c.prompt_tokens))
    stats: dict[str, tuple[float, float]] = {}
    for t, v in lengths.items():
        mean = sum(v) / len(v)  # once per task: recomputing it per element made this quadratic in the calls
        stats[t] = (mean, (sum((x - mean) ** 2 for x in v) / max(1, len(v) - 1)) ** 0.5 or 1.0)
    rows = [["id", "slm_model", "slm_correct", "frontier_correct", "graded_at"]]
    tally: dict[str, list[int]] = {}
    graded_at = (start + timedelta(days=days, hours=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for c in graded:
        p_slm, p_frontier = difficulty[c.task]
        mean, sd = stats[c.task]
        z = (math.log(c.prompt_tokens) - mean) / sd
        logit = math.log(p_slm / (1 - p_slm)) - 0.9 * z
        slm_ok = rng.random() < 1 / (1 + math.exp(-logit))
        frontier_ok = rng.random() < p_frontier
        rows.append([c.id, EVAL_SLM, "true" if slm_ok else "false", "true" if frontier_ok else "false", graded_at])
        t = tally.setdefault(c.task, [0, 0, 0])
        t[0] += 1
        t[1] += slm_ok
        t[2] += frontier_ok
    _write(out / EVAL_FILE, "".join(_csv_line(r) for r in rows))
    return {t: (n, a / n, b / n) for t, (n, a, b) in sorted(tally.items())}


def _csv_line(row: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerow(row)
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    """Write ``text``; a ``.gz`` path is gzipped with a zero timestamp, so equal text gives equal content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
        return
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
