"""The command line's conventions, and one regression test per defect found in issue 14."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import tokman
from cli_helpers import batch_file, fine_tune_file
from tokman.cli import _output, cli

COMMANDS = ["count", "chunk", "estimate", "models", "price", "report", "vocab"]


def _one_line_error(result: object, code: int) -> str:
    assert result.exit_code == code, result.output  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert stderr.startswith("Error: ") and stderr.count("\n") == 1, stderr
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    return stderr


def test_every_command_has_help_with_examples_and_there_is_a_version() -> None:
    """--help on every command shows examples; --version prints the version."""
    for name in COMMANDS:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Examples:" in result.stdout, name
    assert (
        CliRunner().invoke(cli, ["--version"]).stdout == f"tokman, version {tokman.__version__}\n"
    )


def test_missing_file_is_one_line() -> None:
    """Defect: a missing file was a FileNotFoundError traceback."""
    result = CliRunner().invoke(cli, ["count", "no/such.txt", "-m", "gpt-4o"])
    assert (
        _one_line_error(result, 1) == "Error: no/such.txt: no such file or folder; check the path\n"
    )


def test_non_utf8_stdin_is_one_line_naming_the_flag() -> None:
    """Defect: non-UTF-8 stdin was a UnicodeEncodeError; the fix is a CLI flag, not errors=."""
    result = CliRunner().invoke(cli, ["count", "-", "-m", "gpt-4o"], input=b"ok \xff")
    assert _one_line_error(result, 1) == (
        "Error: stdin is not valid UTF-8 at byte 3; pass --errors replace to count it anyway\n"
    )
    fixed = CliRunner().invoke(
        cli, ["count", "-", "-m", "gpt-4o", "--errors", "replace", "--json"], input=b"ok \xff"
    )
    assert json.loads(fixed.stdout)["total"] == tokman.count("ok \ufffd", model="gpt-4o")


def test_non_utf8_file_suggests_the_flag(tmp_path: Path) -> None:
    """A file that is not UTF-8 names the --errors flag, not the Python argument."""
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"abc\xff")
    message = _one_line_error(CliRunner().invoke(cli, ["count", str(bad), "-m", "gpt-4o"]), 1)
    assert "pass --errors replace" in message and "errors='replace'" not in message


def test_non_utf8_models_file_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Defect: a non-UTF-8 $TOKMAN_MODELS_FILE was a traceback."""
    models_file = tmp_path / "models.json"
    models_file.write_bytes(b"\xff\xfe")
    monkeypatch.setenv("TOKMAN_MODELS_FILE", str(models_file))
    result = CliRunner().invoke(cli, ["count", "-", "-m", "gpt-4o"], input="hi")
    assert "the models file is not UTF-8 text" in _one_line_error(result, 2)


def test_png_into_missing_folder_is_one_line(tmp_path: Path) -> None:
    """Defect: report --png into a missing folder was a traceback (now exit 2, before work)."""
    url = f"sqlite:///{tmp_path}/u.db"
    tokman.open_ledger(url).close()
    result = CliRunner().invoke(cli, ["report", "--ledger", url, "--png", "/no/such/dir/c.png"])
    assert "does not exist; create it first" in _one_line_error(result, 2)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@localhost:abc/db", "port 'abc'"),
        ("postgres://u@127.0.0.1:1/db", "Could not open the ledger at postgres://u@127.0.0.1:1/db"),
    ],
)
def test_ledger_url_mistakes_are_one_line(url: str, expected: str) -> None:
    """Defects: a non-numeric port and postgres:// URLs gave tracebacks."""
    assert expected in _one_line_error(CliRunner().invoke(cli, ["report", "--ledger", url]), 1)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["count", "-", "-m", "gpt-4o", "-e", "o200k_base"], "pass either --model or --encoding"),
        (["count", "-", "-e", "o999k"], "--encoding 'o999k' is not a known encoding"),
        (["count", "-", "-m", "gpt4o"], "--model: Unknown model 'gpt4o'. Did you mean 'gpt-4o'"),
        (["report", "--by", "week"], "--by 'week' is not a breakdown"),
        (["chunk", "-", "--max-tokens", "5", "--overlap", "5", "-m", "gpt-4o"], "--overlap 5"),
    ],
)
def test_usage_mistakes_exit_2_and_name_flags(args: list[str], expected: str) -> None:
    """Defect: usage mistakes exited 1 and suggested Python arguments (model=, encoding=)."""
    message = _one_line_error(CliRunner().invoke(cli, args, input="x"), 2)
    assert expected in message
    assert not re.search(r"\b(model|encoding|errors)=", message), message


def test_unexpected_errors_are_one_line_unless_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug surfaces as one line naming --debug; --debug shows the real exception."""
    import tokman.models

    def broken(**_: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(tokman.models, "list", broken)
    result = CliRunner().invoke(cli, ["models", "list"])
    assert "RuntimeError: boom (tokman bug? run with --debug" in _one_line_error(result, 1)
    debug = CliRunner().invoke(cli, ["--debug", "models", "list"])
    assert isinstance(debug.exception, RuntimeError)


def test_rich_tables_fold_instead_of_cutting(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a narrow terminal the rich table wraps long values; it never prints an ellipsis."""
    monkeypatch.setattr(_output, "is_tty", lambda: True)
    monkeypatch.setenv("COLUMNS", "60")
    result = CliRunner().invoke(cli, ["models", "list", "--family", "gpt-4.1"])
    assert result.exit_code == 0 and "…" not in result.stdout
    assert "32,768" in result.stdout.replace(" ", "")


def _run(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``tokman`` script (this checkout's package first on the path)."""
    script = Path(sys.executable).with_name("tokman")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tokman.cli"]
    src = str(Path(tokman.__file__).parents[1])
    environ = {**os.environ, "PYTHONPATH": src, "COLUMNS": "80", **env}
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=environ, cwd=cwd, timeout=120
    )


def _piped(*args: str) -> str:
    """``tokman ARGS | cat`` at 80 columns: stdout is a pipe, as in scripts and CI."""
    src = str(Path(tokman.__file__).parents[1])
    line = " ".join([sys.executable, "-m", "tokman.cli", *map(repr, args)]) + " | cat"
    out = subprocess.run(
        line,
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": src, "COLUMNS": "80"},
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out.stdout


def test_tables_piped_at_80_columns_keep_every_number(tmp_path: Path) -> None:
    """Defect: piped tables showed `1,0…` and cut names; every number must be whole."""
    url = f"sqlite:///{tmp_path}/u.db"
    with tokman.open_ledger(url) as ledger:
        ledger.record(
            tokman.UsageRecord(
                id="a",
                model="gpt-4o-mini-2024-07-18",
                prompt_tokens=123_456_789,
                completion_tokens=9_876_543,
            )
        )
    long_name = tmp_path / ("a-rather-long-file-name-" * 3 + ".txt")
    long_name.write_text("hello world " * 5000)
    outputs = {
        "count": _piped("count", str(long_name), "README.md", "-m", "gpt-4o"),
        "models": _piped("models", "list"),
        "report": _piped("report", "--ledger", url, "--by", "model"),
        "estimate": _piped("estimate", str(batch_file(tmp_path))),
        "price": _piped("price", "-m", "gpt-4o", "--prompt-tokens", "123456789"),
    }
    for name, out in outputs.items():
        assert out and "…" not in out, name
    assert str(long_name) in outputs["count"]
    assert "10,001" in outputs["count"]
    assert "123,456,789" in outputs["report"] and "9,876,543" in outputs["report"]
    assert "1,047,576" in outputs["models"]
    assert "$308.6419725" in outputs["price"]


def test_end_to_end_on_a_folder_a_batch_file_and_a_fine_tuning_file(tmp_path: Path) -> None:
    """The installed executable: exit codes, JSON on stdout, no progress bar when piped."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("hello world")
    folder = _run("count", str(tmp_path / "docs"), "-m", "gpt-4o", "--json")
    assert folder.returncode == 0 and json.loads(folder.stdout)["total"] == 2
    assert folder.stderr == ""  # no progress bar: stderr is not a terminal
    batch = _run("estimate", str(batch_file(tmp_path)), "--json", "--fail-over", "0")
    assert batch.returncode == 1 and json.loads(batch.stdout)["flagged_lines"] == [3, 4, 5]
    tune = _run("estimate", str(fine_tune_file(tmp_path)), "--fine-tune", "-m", "gpt-4o-mini")
    assert tune.returncode == 0 and "billed tokens (3 epochs)" in tune.stdout
    assert _run("count", "-m", "gpt-4o", "-e", "o200k_base").returncode == 2
    assert _run("vocab").returncode == 1  # p50k_base/r50k_base are not installed here


def test_no_color_is_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR turns off colour even in the rich (terminal) layout."""
    monkeypatch.setattr(_output, "is_tty", lambda: True)
    monkeypatch.setenv("NO_COLOR", "1")
    result = CliRunner().invoke(cli, ["models", "list", "--family", "gpt-4.1"])
    assert "\x1b[" not in result.stdout
