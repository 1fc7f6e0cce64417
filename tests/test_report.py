"""The HTML report, the task-type browser and notebook rendering, on a run directory built by the real pipeline."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from slmprofile.errors import SlmprofileError
from slmprofile.report import (HOW_TO_RUN, fmt_int, fmt_money, fmt_pct, headline, load_run, read_bench,
                               read_savings, read_suitability, write_report)

_BUILT: dict[str, Path] = {}


def build_sample_run(root: Path, embedder) -> Path:
    """Run the pipeline once per test session on a small generated sample (fast PCA clusterer); shared with
    test_browser.py. Treat the directory as read-only: copy it before changing files."""
    if "run" not in _BUILT:
        from slmprofile.cluster import TaskTypeClusterer
        from slmprofile.pipeline import run
        from slmprofile.sample import generate_sample

        generate_sample(root / "sample", n_calls=160, seed=5)
        run([root / "sample" / "logs"], root / "run", embedder=embedder,
            clusterer=TaskTypeClusterer(reducer="pca", n_bootstrap=0), suitability=False, savings=False,
            router=False)  # the later stages' sections are tested with files written by the tests
        _BUILT["run"] = root / "run"
    return _BUILT["run"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    return build_sample_run(tmp_path_factory.mktemp("report_run"), embedder)


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(run_dir, dst)
    return dst


def _urls(page: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", page, flags=re.I)


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_report_of_a_fresh_run_is_self_contained_and_says_what_was_not_run(run_dir: Path, tmp_path: Path) -> None:
    info = json.loads((run_dir / "run.json").read_text())
    types = pl.read_parquet(run_dir / "task_types.parquet")
    logs = pl.read_parquet(run_dir / "logs.parquet")
    path = write_report(_copy(run_dir, tmp_path))
    assert path == tmp_path / "run" / "report.html"
    page = path.read_text(encoding="utf-8")
    # self-contained: no scripts, no stylesheets or images from elsewhere, only in-page anchors and data: images
    assert "<script" not in page.lower() and "<link" not in page.lower() and "@import" not in page
    assert all(u.startswith(("#", "data:image/png;base64,")) for u in _urls(page)), _urls(page)
    images = _images(page)
    assert len(images) == 4 and all(i[:8] == b"\x89PNG\r\n\x1a\n" and len(i) > 5000 for i in images)
    assert "No verdicts yet, so no task types to fine-tune for" in page
    # the headline falls back to volume and cost facts
    cost = types["cost_per_month"].fill_null(0).sum()
    text = headline(load_run(path.parent)).text
    assert text.startswith(f"{fmt_int(logs.height)} calls, {info['task_types']['task_types']} task types, "
                           f"{fmt_money(cost)}/month") and "suitability not yet assessed" in text
    assert html.escape(text, quote=False) in page
    # every task type is in the table; the later stages say how to run them
    assert all(html.escape(name, quote=False) in page for name in types["task_type"])
    for how in (HOW_TO_RUN["suitability"], HOW_TO_RUN["savings"]):
        assert html.escape(how) in page
    assert "Router not trained" in page and "No benchmark" in page
    # data quality: each skip reason with its count, unpriced models, redaction counts
    for reason, count in info["ingest"]["skipped"].items():
        assert re.search(rf"<code>{reason}</code></td><td class=\"num\">{fmt_int(count)}<", page), reason
    for model in info["ingest"]["unpriced_models"]:
        assert f"<code>{model}</code>" in page
    for kind, count in info["redactions"].items():
        if count:
            assert f"{kind} {fmt_int(count)}" in page


def test_report_escapes_everything_and_redacts_examples_again(run_dir: Path, tmp_path: Path) -> None:
    run = _copy(run_dir, tmp_path)
    types = pl.read_parquet(run / "task_types.parquet")
    first = types["cluster_id"][0]
    hostile = "<script>alert('x')</script> & <b>bold</b>"
    leaked = "Please refund jane.doe@example.com, card 4111 1111 1111 1111"
    types = types.with_columns(
        pl.when(pl.col("cluster_id") == first).then(pl.lit(hostile)).otherwise(pl.col("task_type")).alias("task_type"),
        pl.when(pl.col("cluster_id") == first).then(pl.lit([leaked])).otherwise(pl.col("examples")).alias("examples"))
    types.write_parquet(run / "task_types.parquet")
    page = write_report(run, tmp_path / "out" / "r.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "jane.doe@example.com" not in page and "4111 1111 1111 1111" not in page
    assert "&lt;EMAIL&gt;" in page and "&lt;CARD&gt;" in page


def _table(columns: tuple[str, ...], values: dict[str, list], n: int) -> pl.DataFrame:
    """A table in the columns of a run-directory contract: ``values`` where given, nulls elsewhere."""
    return pl.DataFrame({c: values.get(c, [None] * n) for c in columns})


def _later_stages(run: Path) -> dict[str, float]:
    """Write plausible suitability / savings / router / bench files into ``run`` (in the columns of their contracts,
    with two savings options) and return the headline figures computed independently of the report code."""
    from slmprofile.schema import SAVINGS_COLUMNS, SAVINGS_OPTION_COLUMNS, SUITABILITY_COLUMNS

    types = pl.read_parquet(run / "task_types.parquet").filter(pl.col("cluster_id") >= 0)
    n = types.height
    verdicts = [("slm", "frontier", "undecided")[i % 3] for i in range(n)]
    rate = [0.98 if v == "slm" else 0.6 if v == "frontier" else 0.93 for v in verdicts]
    share = [0.8 + 0.01 * (i % 10) for i in range(n)]
    _table(SUITABILITY_COLUMNS, {
        "cluster_id": types["cluster_id"].to_list(), "task_type": types["task_type"].to_list(), "verdict": verdicts,
        "rate": rate, "ci_lo": [r - 0.02 for r in rate], "ci_hi": [min(r + 0.02, 1) for r in rate], "n": [40] * n,
        "evidence": ["outcomes"] * n, "target": [0.95] * n, "slm_share": share}, n).write_parquet(
        run / "suitability.parquet")
    cost = [(c or 0.0) + 1.0 for c in types["cost_per_month"].to_list()]
    rows: dict[str, list] = {c: [] for c in ("cluster_id", "task_type", "option", "cost_now_per_month",
                                             "savings_per_month", "savings_lo", "savings_hi")}
    for option, (mid, lo, hi, fixed) in {"api:gpt-4o-mini": (0.8, 0.6, 0.9, 0.0), "self-host:L4": (0.5, 0.2, 0.7, 2.0)
                                         }.items():
        for cid, name, c in zip(types["cluster_id"], types["task_type"], cost):
            for key, value in (("cluster_id", cid), ("task_type", name), ("option", option),
                               ("cost_now_per_month", c), ("savings_per_month", mid * c - fixed),
                               ("savings_lo", lo * c - fixed), ("savings_hi", hi * c - fixed)):
                rows[key].append(value)
    _table(SAVINGS_COLUMNS, rows, 2 * n).write_parquet(run / "savings.parquet")
    move = [i for i, v in enumerate(verdicts) if v == "slm"]
    totals = {"api:gpt-4o-mini": [sum(f * cost[i] for i in move) for f in (0.8, 0.6, 0.9)],
              "self-host:L4": [sum(f * cost[i] - 2 for i in move) for f in (0.5, 0.2, 0.7)]}
    _table(SAVINGS_OPTION_COLUMNS, {"option": list(totals), "savings_per_month": [t[0] for t in totals.values()],
                                    "savings_lo": [t[1] for t in totals.values()],
                                    "savings_hi": [t[2] for t in totals.values()],
                                    "assumptions": ['{"model": "gpt-4o-mini"}', '{"gpu": "L4", "usd_per_hour": 0.8}']},
           2).write_csv(run / "savings_options.csv")
    (run / "router").mkdir()
    (run / "router" / "router.json").write_text(json.dumps({
        "labels": ["slm", "frontier"], "threshold": 0.37,
        "metrics": {"router": {"apgr": 0.6631, "cpt50": 0.29, "cpt80": 0.61}}}))
    (run / "router" / "bench.json").write_text(json.dumps({"rows": [
        {"provider": "CPUExecutionProvider", "precision": p, "batch_size": b, "p50_ms": 1.25 * b, "p99_ms": 3.5 * b}
        for p in ("fp32", "int8") for b in (1, 8)]}))
    calls = types["calls"].to_list()
    total_calls = pl.read_parquet(run / "logs.parquet").height
    return {"k": len(move), "pct": sum(calls[i] * share[i] for i in move) / total_calls,
            "savings": totals["api:gpt-4o-mini"][0], "low": totals["api:gpt-4o-mini"][1],
            "high": totals["api:gpt-4o-mini"][2]}


def test_report_renders_suitability_savings_and_router_when_present(run_dir: Path, tmp_path: Path) -> None:
    run = _copy(run_dir, tmp_path)
    before = len(_images(write_report(run).read_text(encoding="utf-8")))
    want = _later_stages(run)
    data = load_run(run)
    head = headline(data)
    assert head.assessed and not data.notes
    assert head.text == (f"{fmt_pct(want['pct'])} of calls across {want['k']} task types could move to an SLM, saving "
                         f"{fmt_money(want['savings'])}/month ({fmt_money(want['low'])} to {fmt_money(want['high'])}).")
    page = write_report(run).read_text(encoding="utf-8")
    assert html.escape(head.text, quote=False) in page
    assert 'class="badge b-slm"' in page and 'class="badge b-frontier"' in page and 'class="badge b-undecided"' in page
    assert "98.0% [96.0%, 100.0%] n=40" in page  # rate with its interval
    assert len(_images(page)) == before + 1  # savings by task type
    assert "metrics.router.apgr" in page and "0.6631" in page and "metrics.router.cpt80" in page
    assert "CPUExecutionProvider" in page and "p99_ms" in page
    assert "Router not trained" not in page and "No benchmark" not in page and "Savings not run" not in page
    assert "api:gpt-4o-mini" in page  # the chosen option per task type (the larger saving)
    # ready to fine-tune: one row per slm / undecided type, with what `export finetune` would write for it
    assert 'id="finetune"' in page and "slmprofile export finetune run --out DIR" in page
    wanted = {name for name, v in zip(pl.read_parquet(run / "suitability.parquet")["task_type"],
                                      pl.read_parquet(run / "suitability.parquet")["verdict"])
              if v in ("slm", "undecided")}
    assert [t["task_type"] for t in data.finetune] == sorted(wanted)
    assert all(sum(t["counts"].values()) == t["kept"] and t["kept"] <= t["calls"] for t in data.finetune)
    assert sum(t["kept"] for t in data.finetune) > 0
    assert all(u.startswith(("#", "data:image/png;base64,")) for u in _urls(page))


def test_readers_hold_files_to_their_contract_and_name_broken_ones(tmp_path: Path) -> None:
    from slmprofile.schema import SAVINGS_COLUMNS, SAVINGS_OPTION_COLUMNS, SUITABILITY_COLUMNS

    assert read_suitability(tmp_path) is None and read_savings(tmp_path) is None and read_bench(tmp_path) is None
    _table(SUITABILITY_COLUMNS, {"cluster_id": [0, 1, 2], "task_type": ["a", "b", "c"],
                                 "verdict": ["slm", "frontier", "undecided"]}, 3).write_parquet(
        tmp_path / "suitability.parquet")
    suit = read_suitability(tmp_path)
    assert suit["verdict_class"].to_list() == ["slm", "frontier", "undecided"] and suit["rate"].null_count() == 3
    pl.DataFrame({"cluster_id": [0], "task_type": ["a"], "decision": ["SLM"]}).write_parquet(
        tmp_path / "suitability.parquet")  # another tool's spelling: named, not guessed
    with pytest.raises(SlmprofileError, match=r"suitability\.parquet: missing column\(s\) family, archetype, "
                                              r".*\(\+\d+ more\).*`slmprofile suitability DIR`"):
        read_suitability(tmp_path)
    _table(SAVINGS_COLUMNS, {"cluster_id": [0, 0, 1, 1], "task_type": ["a", "a", "b", "b"],
                             "option": ["api", "gpu", "api", "gpu"], "savings_per_month": [5.0, 7.0, 1.0, 4.0]},
           4).write_parquet(tmp_path / "savings.parquet")
    with pytest.raises(SlmprofileError, match=r"savings_options\.csv: missing beside"):
        read_savings(tmp_path)
    _table(SAVINGS_OPTION_COLUMNS, {"option": ["api", "gpu"], "savings_per_month": [6.0, 11.0],
                                    "savings_lo": [4.5, 1.0], "savings_hi": [7.0, 20.0],
                                    "assumptions": ['{"model": "m"}', '{"gpu": "L4", "usd_per_hour": 0.8}']},
           2).write_csv(tmp_path / "savings_options.csv")
    best = read_savings(tmp_path)  # the option saving most in total, for every task type
    assert best.option == "gpu" and best.table["savings_per_month"].to_list() == [7.0, 4.0]
    assert best.total == {"savings_per_month": 11.0, "savings_lo": 1.0, "savings_hi": 20.0}
    assert ("savings option gpu: usd_per_hour", "0.8") in best.assumptions and len(best.options) == 2
    (tmp_path / "router").mkdir()
    (tmp_path / "router" / "bench.json").write_text(json.dumps({"rows": [{"p50_ms": 1.1, "detail": {"threads": 2}}]}))
    assert read_bench(tmp_path) == [{"p50_ms": 1.1, "detail.threads": 2}]
    (tmp_path / "router" / "bench.json").write_text(json.dumps({"cpu-b1": {"p50_ms": 1.1}}))
    with pytest.raises(SlmprofileError, match=r"bench\.json: expected a JSON object with a list under \"rows\""):
        read_bench(tmp_path)
    with pytest.raises(SlmprofileError, match="run.json: missing"):
        load_run(tmp_path)
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(SlmprofileError, match=r"run\.json: not valid JSON"):
        load_run(tmp_path)
    with pytest.raises(SlmprofileError, match="not a directory"):
        load_run(tmp_path / "nope")


def test_report_cli(run_dir: Path, tmp_path: Path) -> None:
    run = _copy(run_dir, tmp_path)
    out = tmp_path / "shared" / "report.html"
    proc = subprocess.run([sys.executable, "-m", "slmprofile", "report", str(run), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "suitability not yet assessed" in proc.stdout and out.is_file()
    bad = subprocess.run([sys.executable, "-m", "slmprofile", "report", str(tmp_path / "missing")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr


def test_task_type_browser_live_and_static(run_dir: Path) -> None:
    from slmprofile.widgets import task_type_browser

    types = pl.read_parquet(run_dir / "task_types.parquet")
    top = types.filter(pl.col("cluster_id") >= 0).sort("calls", descending=True).row(0, named=True)
    other = types.filter(pl.col("cluster_id") >= 0).sort("calls").row(0, named=True)
    browser = task_type_browser(run_dir)
    bundle = browser._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    static = bundle["text/html"]
    assert html.escape(top["task_type"], quote=False) in static and "<script" not in static
    panel = browser.widget.children[1]
    assert html.escape(top["task_type"], quote=False) in panel.value
    browser.select(other["cluster_id"])
    assert html.escape(other["task_type"], quote=False) in panel.value
    with pytest.raises(KeyError, match="no task type with cluster_id"):
        browser.select(10_000)
    with pytest.raises(TypeError, match="expected task types"):
        task_type_browser(42)


_NOTEBOOK_CELLS = [
    ("markdown", "# tiny"),
    ("code", "# Parameters\nRUN_DIR = None\nGREETING = 'hello'"),
    ("code", "from slmprofile.widgets import task_type_browser\nprint(GREETING * 2)\ntask_type_browser(RUN_DIR)"),
]


def _notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(s) if kind == "markdown" else nbformat.v4.new_code_cell(s)
                for kind, s in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_render_notebooks_injects_parameters_and_shows_the_static_widget(run_dir: Path, tmp_path: Path) -> None:
    from slmprofile.notebooks import find_notebooks, parse_params, render_notebooks

    nb = _notebook(tmp_path / "tiny.ipynb", _NOTEBOOK_CELLS)
    params = parse_params([f"RUN_DIR={str(run_dir)!r}", "GREETING=ab"])
    assert params == {"RUN_DIR": str(run_dir), "GREETING": "ab"}
    [out] = render_notebooks(tmp_path / "html", [nb], params)
    page = out.read_text(encoding="utf-8")
    assert out.name == "tiny.html" and "abab" in page and "hellohello" not in page
    top = pl.read_parquet(run_dir / "task_types.parquet").sort("calls", descending=True)["task_type"][0]
    assert "Task-type browser (static view" in page and html.escape(top, quote=False) in page
    assert "widget-view+json" not in page  # no widget JavaScript needed to see it
    # a failing cell names the notebook and the cell, and the partial HTML is kept
    broken = _notebook(tmp_path / "broken.ipynb", [("code", "x = 1"), ("code", "raise ValueError('nope')")])
    with pytest.raises(SlmprofileError, match=r"broken.ipynb: cell 1 failed: ValueError: nope"):
        render_notebooks(tmp_path / "html", [broken])
    assert (tmp_path / "html" / "broken.html").is_file()
    with pytest.raises(SlmprofileError, match="no parameters cell"):
        render_notebooks(tmp_path / "html", [broken], {"X": 1}, execute=False)
    with pytest.raises(SlmprofileError, match="notebook 'nope' not found .*02_task_types"):
        find_notebooks(["nope"])
    with pytest.raises(SlmprofileError, match="no notebooks found"):
        find_notebooks(root=tmp_path)
    with pytest.raises(SlmprofileError, match="expected NAME=VALUE"):
        parse_params(["1x=2"])
