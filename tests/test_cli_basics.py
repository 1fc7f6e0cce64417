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


def test_result_tables_fit_80_columns_with_long_names_wrapped_not_cut(monkeypatch, capsys) -> None:
    import polars as pl

    from slmprofile.cli.tables import print_suitability

    long = "multiple-choice exam questions · clinical knowledge and anatomy"
    table = pl.DataFrame({
        "task_type": [long, "ticket triage"], "calls": [12_345, 67], "cost_per_month": [1234.5, None],
        "rate": [0.91, None], "ci_lo": [0.88, None], "ci_hi": [0.93, None], "verdict": ["frontier", "undecided"],
        "more_samples": [None, 120], "slm_share": [0.1, 0.5], "slm_share_lo": [0.05, 0.2], "slm_share_hi": [0.2, 0.8],
    })
    for columns, wide in ((80, False), (160, True)):
        monkeypatch.setenv("COLUMNS", str(columns))
        print_suitability(table)
        out = capsys.readouterr().out
        rows = [line for line in out.splitlines() if line.strip() and not line.startswith("verdicts:")]
        assert rows and max(len(line) for line in rows) <= columns, out
        assert "0.91 [0.88, 0.93]" in out and "12,345" in out and "frontier" in out  # numbers are never cut
        assert ("SLM share" in out) is wide
        # the long name is all there, wrapped over lines where the terminal is narrow
        assert "".join(out.replace("│", " ").split()).count("".join(long.split())) == 1 or columns == 80
        assert all(word in out for word in long.split())


def _commands():
    import typer.main

    def walk(command, path):
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                yield from walk(sub, [*path, name])
        else:
            yield path, command

    return list(walk(typer.main.get_command(app), []))


COMMANDS = _commands()


def _choice_options(command) -> list[tuple[str, tuple]]:
    """(first flag, choices) of each option annotated with a ``Literal`` of fixed values."""
    import typing

    hints = typing.get_type_hints(command.callback, include_extras=True)
    out = []
    for param in command.params:
        if param.param_type_name != "option" or param.name not in hints:
            continue
        base = typing.get_args(hints[param.name])[0] if typing.get_origin(hints[param.name]) is typing.Annotated \
            else hints[param.name]
        if typing.get_origin(base) is typing.Union:  # Optional[Literal[...]]
            base = next(a for a in typing.get_args(base) if a is not type(None))
        if typing.get_origin(base) is typing.Literal:
            out.append((param.opts[0], typing.get_args(base)))
    return out


def test_every_command_shows_an_example_and_lists_its_fixed_choices_in_help() -> None:
    assert len(COMMANDS) >= 17
    for path, command in COMMANDS:
        assert "Example: slmprofile " in (command.help or ""), " ".join(path)
        text = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "300"}).output
        assert "Example: slmprofile " in text, " ".join(path)
        for flag, choices in _choice_options(command):
            assert "|".join(map(str, choices)) in text.replace(" ", ""), (path, flag)


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_answers_a_bad_option_or_value_with_one_line_and_exit_2(path, tmp_path, monkeypatch,
                                                                             capsys) -> None:
    import sys

    from slmprofile.cli import main

    command = dict((" ".join(p), c) for p, c in COMMANDS)[" ".join(path)]
    existing = tmp_path / "in.parquet"
    existing.write_bytes(b"")
    positional = [str(existing) for p in command.params if p.param_type_name == "argument"]
    bad = [["--no-such-option"]] + [[flag, "no-such-choice"] for flag, _ in _choice_options(command)]
    for extra in bad:
        monkeypatch.setattr(sys, "argv", ["slmprofile", *path, *positional, *extra])
        with pytest.raises(SystemExit) as exit_:
            main()
        err = capsys.readouterr().err
        assert exit_.value.code == 2, (path, extra, err)
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, (path, extra, err)
        assert extra[0] in lines[0] or extra[-1] in lines[0], (path, extra, err)
