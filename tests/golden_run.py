"""A run's fingerprint: what a restructure must not change (issue 21's golden test).

``fingerprint(out)`` reads a run directory and keeps the results a user acts on: each call's task type, each task
type's verdict and interval per candidate, the savings per task type and option, and the router's threshold and
decisions on every logged prompt. ``compare(now, golden)`` lists the differences. The golden file is written by
``SLMPROFILE_UPDATE_GOLDEN=1 pytest tests/test_pipeline.py -k golden`` from a run of the code as it was before a
change, and committed; the test then checks that the code after the change finds the same.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl

REL_TOL = 1e-4  # float results: same up to rounding in the last digits (thread counts, BLAS)
MIN_ROUTER_AGREEMENT = 0.99  # a prompt whose p_slm sits on the threshold may flip under the same tolerance


def _num(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def fingerprint(out: Path) -> dict[str, Any]:
    from slmprofile.runtime import Router

    clusters = pl.read_parquet(out / "clusters.parquet").sort("id")
    suit = pl.read_parquet(out / "suitability.parquet").sort("task_type", "candidate")
    savings = pl.read_parquet(out / "savings.parquet").sort("task_type", "candidate", "option")
    logs = pl.read_parquet(out / "logs.parquet").sort("id")
    router = Router.load(out / "router")
    routed = router.route(logs["prompt_text"].to_list())
    return {
        "task_type_of_call": dict(zip(clusters["id"], clusters["task_type"], strict=True)),
        "family_of_call": dict(zip(clusters["id"], clusters["family"], strict=True)),
        "verdicts": {f"{r['task_type']} | {r['candidate']}": {"verdict": r["verdict"], "rate": _num(r["rate"]),
                                                              "ci_lo": _num(r["ci_lo"]), "ci_hi": _num(r["ci_hi"])}
                     for r in suit.iter_rows(named=True)},
        "savings": {f"{r['task_type']} | {r['candidate']} | {r['option']}":
                    {"savings_per_month": _num(r["savings_per_month"]), "savings_lo": _num(r["savings_lo"]),
                     "savings_hi": _num(r["savings_hi"])} for r in savings.iter_rows(named=True)},
        "router": {"threshold": float(router.threshold),
                   "to_slm": dict(zip(logs["id"], (bool(x) for x in routed.to_slm), strict=True))},
    }


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-9)


def compare(now: dict[str, Any], golden: dict[str, Any]) -> list[str]:
    """Differences between two fingerprints, one line each (empty: the same results)."""
    diffs: list[str] = []
    for key in ("task_type_of_call", "family_of_call"):
        changed = [i for i in golden[key] if now[key].get(i) != golden[key][i]]
        if changed or set(now[key]) != set(golden[key]):
            diffs.append(f"{key}: {len(changed)} of {len(golden[key])} calls differ, e.g. {changed[:3]}")
    for key in ("verdicts", "savings"):
        if set(now[key]) != set(golden[key]):
            diffs.append(f"{key}: rows {sorted(set(now[key]) ^ set(golden[key]))[:3]} differ")
        for row in set(now[key]) & set(golden[key]):
            for field, want in golden[key][row].items():
                got = now[key][row][field]
                if (field == "verdict" and got != want) or (field != "verdict" and not _close(got, want)):
                    diffs.append(f"{key}[{row}].{field}: {got!r} != {want!r}")
    if not _close(now["router"]["threshold"], golden["router"]["threshold"]):
        diffs.append(f"router threshold: {now['router']['threshold']} != {golden['router']['threshold']}")
    want = golden["router"]["to_slm"]
    same = sum(now["router"]["to_slm"].get(i) == d for i, d in want.items()) / max(len(want), 1)
    if same < MIN_ROUTER_AGREEMENT:
        diffs.append(f"router decisions: {same:.1%} agree with the golden run (want >= {MIN_ROUTER_AGREEMENT:.0%})")
    return diffs
