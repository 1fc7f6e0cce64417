"""``slmprofile serve-report``: from a gateway's log, how often the small model agreed with the frontier model per
task type, with intervals, and when to switch a type from shadow to route.

The rule (the usual one for shadow deployments): switch a task type to ``route`` once the lower end of the
agreement interval, on the requests the router would send to the small model, reaches the target (95 % by
default); keep it on the frontier model once the upper end is below it; keep shadowing in between, and say how many
more shadowed calls at the current rate would settle it. Agreement uses the suitability module's measures
(:mod:`slmprofile.agreement`), chosen per task type from the requests and answers unless one is named.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .app import wants_json
from .calllog import CALLS_FILE, SHADOW_FILE, read_log, task_type_of

UNTAGGED = "(untagged)"
RECOMMENDATIONS = {"slm": "route", "frontier": "keep on frontier", "undecided": "keep shadowing"}


def answer_text(record: dict | None) -> str | None:
    """The first choice's text of a logged completion (tool calls as their JSON arguments)."""
    if not isinstance(record, dict):
        return None
    choices = record.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message") or {}
    if isinstance(message.get("content"), str) and message["content"]:
        return message["content"]
    calls = message.get("tool_calls") or []
    return "\n".join(str((c.get("function") or {}).get("arguments", "")) for c in calls) or None


def choose_measure(requests: list[dict], references: list[str]) -> str:
    """The agreement measure for one task type: ``json_fields`` when most requests ask for JSON, ``label`` for
    answers of a few words, ``final_number`` when most answers end in a number, else ``embedding``."""
    from ..agreement import final_number

    if not references:
        return "exact"
    if sum(wants_json(r) for r in requests) >= 0.5 * len(requests):
        return "json_fields"
    if statistics.median(len(r.split()) for r in references) <= 4:
        return "label"
    if sum(final_number(r) is not None for r in references) >= 0.8 * len(references):
        return "final_number"
    return "embedding"


def calls_needed(rate: float, n: int, target: float, confidence: float) -> int | None:
    """How many more shadowed calls at agreement ``rate`` bring the interval's lower end to ``target`` (None when
    the rate is not above the target, or more than a million would be needed)."""
    from ..suitability import wilson_interval

    if rate <= target:
        return None
    lo, step = n, 1
    while wilson_interval(rate * (lo + step), lo + step, confidence)[0] < target:
        step *= 2
        if lo + step > 1_000_000:
            return None
    hi = lo + step
    while hi - lo > 1:  # smallest n in (lo, hi] that reaches the target
        mid = (lo + hi) // 2
        if wilson_interval(rate * mid, mid, confidence)[0] >= target:
            hi = mid
        else:
            lo = mid
    return hi - n


@dataclass
class TypeAgreement:
    """Shadow agreement of one task type."""

    task_type: str
    calls: int
    shadowed: int
    measure: str
    agree_rate: float | None
    interval: tuple[float, float] | None
    routed: int  # shadowed calls the router would send to the small model
    routed_agree_rate: float | None
    routed_interval: tuple[float, float] | None
    recommendation: str
    more_calls_needed: int | None


@dataclass
class GatewaySummary:
    """What a gateway log says."""

    log_dir: str
    calls: int
    unreadable_lines: int
    served_by: dict[str, int]
    escalations: dict[str, int]
    errors: int
    latency_ms_p50: float | None
    latency_ms_p99: float | None
    shadow_calls: int
    shadow_failures: int
    target: float
    confidence: float
    task_types: list[TypeAgreement] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _shadow_pairs(calls: list[dict], shadows: list[dict]
                  ) -> tuple[dict[str, list[tuple[dict, str | None, str | None]]], dict[str, int]]:
    """Per task type: (call, the small model's answer, the frontier's answer) for each shadowed call, and the calls
    per task type."""
    by_id = {c.get("id"): c for c in calls}
    groups: dict[str, list[tuple[dict, str | None, str | None]]] = {}
    for call in calls:
        groups.setdefault(task_type_of(call) or UNTAGGED, [])
    for shadow in shadows:
        call = by_id.get(shadow.get("id"))
        if call is None:  # the call's own line was lost (a kill between the two writes): nothing to compare
            continue
        reference = answer_text(call.get("response"))
        if reference is None:
            continue
        groups[task_type_of(call) or UNTAGGED].append((call, answer_text(shadow.get("response")), reference))
    counts = {name: sum(1 for c in calls if (task_type_of(c) or UNTAGGED) == name) for name in groups}
    return groups, counts


def _agreement(pairs: list[tuple[dict, str | None, str | None]], measure: str, embedder: Any) -> tuple[str, list]:
    """The measure used (chosen from the requests and answers with ``auto``) and 0/1 agreement per pair."""
    from ..agreement import get_measure

    requests = [c.get("request") or {} for c, _, _ in pairs]
    chosen = choose_measure(requests, [r for _, _, r in pairs]) if measure == "auto" else measure
    kwargs = {"embedder": embedder} if chosen == "embedding" and embedder is not None else {}
    agree = (get_measure(chosen, **kwargs).agree([c for _, c, _ in pairs], [r for _, _, r in pairs]).tolist()
             if pairs else [])
    return chosen, agree


def gateway_outcomes(log_dir: str | Path, *, measure: str = "auto", embedder: Any = None) -> Any:
    """The gateway's log as an outcome table for retraining (``id, slm_correct, slm_model, outcome_source``): a
    shadowed call is right when the small model agreed with the frontier's answer (the measure per task type, as
    in :func:`summarise`); a call routed to the small model and escalated because it failed (timeout, error,
    invalid JSON, empty answer) is wrong. Join it with ``--outcomes`` when ingesting the gateway's ``calls.jsonl``
    (``slmprofile run LOGDIR/calls.jsonl --outcomes FILE``), then ``router train OLD --from ROUTER --add NEW_RUN``."""
    import polars as pl

    from ..errors import SlmprofileError

    log_dir = Path(log_dir)
    if not (log_dir / CALLS_FILE).is_file():
        raise SlmprofileError(f"{log_dir}: no {CALLS_FILE} (the directory passed to 'slmprofile serve --log-dir')")
    calls, _ = read_log(log_dir / CALLS_FILE)
    shadows, _ = read_log(log_dir / SHADOW_FILE)
    shadow_model = {s.get("id"): ((s.get("response") or {}).get("model") if isinstance(s.get("response"), dict)
                                  else None) for s in shadows}
    rows: list[dict[str, Any]] = []
    for pairs in _shadow_pairs(calls, shadows)[0].values():
        _, agree = _agreement(pairs, measure, embedder)
        rows += [{"id": c.get("id"), "slm_correct": bool(a), "slm_model": shadow_model.get(c.get("id")),
                  "outcome_source": "shadow"} for (c, _, _), a in zip(pairs, agree)]
    for call in calls:
        routing = call.get("routing") or {}
        if routing.get("decision") == "slm" and routing.get("escalated"):
            rows.append({"id": call.get("id"), "slm_correct": False, "slm_model": None,
                         "outcome_source": f"escalation: {routing.get('escalation_reason')}"})
    schema = {"id": pl.Utf8, "slm_correct": pl.Boolean, "slm_model": pl.Utf8, "outcome_source": pl.Utf8}
    return pl.DataFrame(rows, schema=schema).unique(subset="id", keep="first", maintain_order=True)


def summarise(log_dir: str | Path, *, measure: str = "auto", target: float = 0.95, confidence: float = 0.95,
              embedder: Any = None) -> GatewaySummary:
    """Read ``calls.jsonl`` and ``shadow.jsonl`` in ``log_dir`` and measure shadow agreement per task type."""
    from ..errors import SlmprofileError
    from ..suitability import decide, wilson_interval

    log_dir = Path(log_dir)
    if not (log_dir / CALLS_FILE).is_file():
        raise SlmprofileError(f"{log_dir}: no {CALLS_FILE} (the directory passed to 'slmprofile serve --log-dir')")
    if not 0.5 <= target < 1:
        raise ValueError(f"The 'target' parameter must be in [0.5, 1); got {target!r} instead.")
    calls, bad_calls = read_log(log_dir / CALLS_FILE)
    shadows, bad_shadows = read_log(log_dir / SHADOW_FILE)
    served: dict[str, int] = {}
    escalations: dict[str, int] = {}
    for call in calls:
        routing = call.get("routing") or {}
        served[str(routing.get("served_by"))] = served.get(str(routing.get("served_by")), 0) + 1
        if routing.get("escalated"):
            reason = str(routing.get("escalation_reason"))
            escalations[reason] = escalations.get(reason, 0) + 1
    latencies = [float(c["latency_ms"]) for c in calls if isinstance(c.get("latency_ms"), (int, float))]
    groups, counts = _shadow_pairs(calls, shadows)
    rows = []
    for name, pairs in sorted(groups.items(), key=lambda kv: -counts[kv[0]]):
        chosen, agree = _agreement(pairs, measure, embedder)
        routed = [a for (call, _, _), a in zip(pairs, agree) if (call.get("routing") or {}).get("decision") == "slm"]
        rate = sum(agree) / len(agree) if agree else None
        routed_rate = sum(routed) / len(routed) if routed else None
        interval = wilson_interval(sum(agree), len(agree), confidence) if agree else None
        routed_interval = wilson_interval(sum(routed), len(routed), confidence) if routed else None
        verdict = decide(*routed_interval, target) if routed_interval else "undecided"
        rows.append(TypeAgreement(
            task_type=name, calls=counts[name], shadowed=len(pairs), measure=chosen, agree_rate=rate,
            interval=interval, routed=len(routed), routed_agree_rate=routed_rate, routed_interval=routed_interval,
            recommendation=RECOMMENDATIONS[verdict],
            more_calls_needed=(calls_needed(routed_rate, len(routed), target, confidence)
                               if verdict == "undecided" and routed_rate is not None else None)))
    return GatewaySummary(
        log_dir=str(log_dir), calls=len(calls), unreadable_lines=bad_calls + bad_shadows, served_by=served,
        escalations=escalations, errors=sum(1 for c in calls if c.get("error")),
        latency_ms_p50=_quantile(latencies, 0.5), latency_ms_p99=_quantile(latencies, 0.99),
        shadow_calls=len(shadows), shadow_failures=sum(1 for s in shadows if s.get("error")), target=target,
        confidence=confidence, task_types=rows)
