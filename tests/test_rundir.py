"""The run directory contract: every file named once, read with a message that says who writes it."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from slmprofile.rundir import RunDir

PACKAGE = Path(__file__).resolve().parents[1] / "slmprofile"


def test_paths_and_reading(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.logs == tmp_path / "logs.parquet" and run.bench == tmp_path / "router" / "bench.json"
    assert run.plot("task_map") == tmp_path / "plots" / "task_map.png" and run / "x" == tmp_path / "x"
    with pytest.raises(FileNotFoundError, match=r"clusters\.parquet not found: .*slmprofile cluster"):
        run.read_table(RunDir.CLUSTERS)
    pl.DataFrame({"id": ["a"], "prompt_text": ["hi"], "big": [1]}).write_parquet(run.logs)
    assert run.read_table(RunDir.LOGS, skip=["big"]).columns == ["id", "prompt_text"]
    top = [getattr(RunDir, n) for n in dir(RunDir) if n.isupper() and isinstance(getattr(RunDir, n), str)
           and not n.startswith("ROUTER_") and n not in ("LLM_CACHE", "NAMING_CACHE", "SHADOW_SUMMARY",
                                                        "SHADOW_SUMMARY_CSV")]
    assert set(top) <= set(RunDir.RUN_FILES)  # --overwrite knows every file a run writes


def test_no_other_module_spells_a_run_file_name() -> None:
    names = {v for k, v in vars(RunDir).items() if k.isupper() and isinstance(v, str) and "." in v}
    spelled = re.compile(r"[\"'](" + "|".join(re.escape(n) for n in names) + r")[\"']")
    offenders = [f"{p.relative_to(PACKAGE)}:{i}" for p in PACKAGE.rglob("*.py") if p.name != "rundir.py"
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if spelled.search(line) and "Path(" not in line and "doctest" not in line
                 and not line.lstrip().startswith(("#", ">>>", "..."))]
    assert not offenders, offenders
