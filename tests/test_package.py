"""Packaging facts: a light import, the console script, the docs' promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sentence_transformers", "polars", "transformers", "sklearn", "hdbscan", "onnxruntime", "openai",
         "matplotlib", "numpy")


def test_import_is_light_and_offline() -> None:
    code = (
        "import sys, socket\n"
        "def deny(*a, **k): raise RuntimeError('network used at import')\n"
        "socket.socket.connect = deny\n"
        "import slmprofile, slmprofile.ingest, slmprofile.cli, slmprofile.embed, slmprofile.pipeline\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_lazy_public_api_resolves() -> None:
    import slmprofile

    for name in slmprofile.__all__:
        assert getattr(slmprofile, name) is not None, name


def test_console_script_lists_formats() -> None:
    out = subprocess.run([sys.executable, "-m", "slmprofile", "formats"], capture_output=True, text=True, check=True)
    for name in ("openai_chat", "openai_batch_input", "langfuse", "helicone", "litellm", "langsmith", "table"):
        assert f"{name}:" in out.stdout


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest -q" in readme and "python -m pytest -q" in ci
    assert "torch==2.13.0" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_readme_fits_and_every_local_link_in_it_and_the_docs_resolves() -> None:
    import re

    readme = ROOT / "README.md"
    assert len(readme.read_text(encoding="utf-8").splitlines()) <= 200
    pages = [readme, *sorted((ROOT / "docs").glob("*.md"))]
    assert len(pages) >= 5
    links = 0
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("#"):
                continue
            links += 1
            assert (page.parent / target.split("#")[0]).exists(), f"{page.relative_to(ROOT)} links to {target}"
    assert links >= 10
    assert (ROOT / "LICENSE").is_file() and "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_cli_ingest_reports_and_writes_parquet(tmp_path: Path, fixtures: Path) -> None:
    out = tmp_path / "logs.parquet"
    proc = subprocess.run([sys.executable, "-m", "slmprofile", "ingest", str(fixtures / "openai_chat.jsonl"),
                           str(fixtures / "helicone_export.csv"), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "invalid_json: 1" in proc.stdout and "missing_field: 1" in proc.stdout
    assert "openai_chat.jsonl:7" in proc.stdout
    import polars as pl

    frame = pl.read_parquet(out)
    assert frame.height == 9
    # PII in the fixture is redacted in what is written
    assert not frame["prompt_text"].str.contains("dana.kim@example.com").any()
    assert frame["prompt_text"].str.contains("<EMAIL>").any()


def test_cli_errors_are_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "odd.jsonl"
    bad.write_text(json.dumps({"foo": 1}) + "\n")
    proc = subprocess.run([sys.executable, "-m", "slmprofile", "ingest", str(bad), "--strict", "--out",
                           str(tmp_path / "x.parquet")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "error:" in proc.stderr and "odd.jsonl" in proc.stderr and "Traceback" not in proc.stderr


def test_the_wheel_carries_the_report_templates_and_renders_from_them(tmp_path: Path) -> None:
    """Templates are package data: a report written by the installed wheel (not this source tree) works."""
    import zipfile

    import pytest

    pytest.importorskip("setuptools", reason="building the wheel without isolation needs setuptools in the venv")

    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path / "dist")], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("slmprofile-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = sorted((ROOT / "slmprofile" / "report" / "templates").iterdir())
    assert templates and {f"slmprofile/report/templates/{t.name}" for t in templates} <= names
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text("{}", encoding="utf-8")
    code = ("import slmprofile, sys; from slmprofile.report import write_report; "
            "print(slmprofile.__file__); print(write_report(sys.argv[1]))")
    proc = subprocess.run([sys.executable, "-c", code, str(run_dir)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path / "site")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[0].startswith(str(tmp_path / "site"))  # the wheel's copy, not the source tree
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Task types were not run" in html and "<style>" in html and html.rstrip().endswith("</html>")
