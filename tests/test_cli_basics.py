"""The command line's own surface: --version, choices listed in --help and refused with exit code 2."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from slmprofile.cli import app

runner = CliRunner()


def test_version_prints_the_installed_version_and_exits() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"slmprofile {version('slmprofile')}"


CHOICES = [
    (["cluster", "logs.parquet", "emb.parquet"], "--reducer", ["umap", "pca", "none"]),
    (["cluster", "logs.parquet", "emb.parquet"], "--noise", ["assign", "keep"]),
    (["embed", "logs.parquet"], "--embed-backend", ["torch", "onnx", "onnx-int8", "auto"]),
    (["run", "logs.csv"], "--engine", ["local", "ray"]),
    (["run", "logs.csv"], "--embed-backend", ["torch", "onnx", "onnx-int8", "auto"]),
]


@pytest.mark.parametrize(("command", "option", "choices"), CHOICES, ids=[f"{c[0][0]} {c[1]}" for c in CHOICES])
def test_fixed_choices_are_listed_in_help_and_a_bad_value_exits_2(command, option, choices, tmp_path) -> None:
    help_text = runner.invoke(app, [command[0], "--help"], env={"COLUMNS": "300"}).output
    assert "|".join(choices) in help_text.replace(" ", "")
    result = runner.invoke(app, [command[0], *[str(tmp_path / a) for a in command[1:]], option, "no-such-choice"])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "no-such-choice" in result.output


def test_verbose_is_accepted_after_the_subcommand_too() -> None:
    import subprocess
    import sys

    from slmprofile.cli import _hoist_verbose

    assert _hoist_verbose(["run", "logs", "-v", "--out", "o"]) == ["-v", "run", "logs", "--out", "o"]
    assert _hoist_verbose(["-v", "formats"]) == ["-v", "formats"]
    assert _hoist_verbose(["run", "--", "-v"]) == ["run", "--", "-v"]  # after "--" it is a value, not the flag
    proc = subprocess.run([sys.executable, "-m", "slmprofile", "formats", "-v"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "openai_chat:" in proc.stdout and "No such option" not in proc.stderr


@pytest.mark.parametrize(("argv", "names"), [
    (["run", "--help"], ["--candidate", "--base-url", "--max-usd", "--price", "--target", "--api-model", "--gpu"]),
    (["suitability", "--help"], ["--candidate", "--base-url", "--max-usd", "--price", "--target"]),
    (["cluster", "--help"], ["--naming-model", "--base-url", "--max-usd"]),
    (["savings", "--help"], ["--api-model", "--gpu"]),
    (["router", "train", "--help"], ["--target", "--target-by"]),
])
def test_one_vocabulary_for_the_same_ideas(argv, names) -> None:
    text = runner.invoke(app, argv, env={"COLUMNS": "300"}).output
    for name in names:
        assert f" {name} " in text or f" {name}," in text, (argv, name)


def test_target_is_a_number_everywhere_and_run_takes_the_savings_options(tmp_path) -> None:
    for argv in (["run", str(tmp_path / "logs.csv")], ["suitability", str(tmp_path)],
                 ["router", "train", str(tmp_path)]):
        result = runner.invoke(app, [*argv, "--target", "quality"], env={"COLUMNS": "300"})
        assert result.exit_code == 2 and "Invalid value for '--target'" in result.output, (argv, result.output)
        assert "Traceback" not in result.output
    result = runner.invoke(app, ["run", str(tmp_path / "logs.csv"), "--out", str(tmp_path / "out"),
                                 "--api-model", "gpt-4o-mini="])
    assert result.exit_code == 2, result.output
    assert "--api-model must be MODEL or MODEL=IN,OUT" in result.output and "Traceback" not in result.output


BAD = [
    ["run", "logs.csv", "--target", "quality"],
    ["run", "logs.csv", "--engine", "spark"],
    ["run", "logs.csv", "--no-such-option"],
    ["run"],
    ["ingest", "logs.csv", "--stream", "--strict", "--map"],
    ["embed", "logs.parquet", "--batch-size", "many"],
    ["cluster", "logs.parquet", "emb.parquet", "--reducer", "tsne"],
    ["cluster", "logs.parquet", "emb.parquet", "--min-cluster-size", "abc"],
    ["suitability", "run", "--target", "high"],
    ["savings", "run", "--utilisation", "half"],
    ["router", "train", "run", "--target-by", "cost"],
    ["router", "bench", "dir", "--threads", "x"],
    ["report", "missing-run-dir"],
    ["--no-such-flag"],
]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a) for a in BAD])
def test_a_bad_command_line_ends_in_one_error_line_and_exit_code_2(argv, tmp_path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "slmprofile", *argv], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr and not proc.stdout.strip()
