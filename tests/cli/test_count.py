"""`tokman count`: the README's first command."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import tokman
from tokman.cli import cli


def test_count_files_prints_exact_counts_and_total(tmp_path: Path) -> None:
    """Counts two files for a model and prints both and the total."""
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("hello world")
    b.write_text("The quick brown fox jumps over the lazy dog.")
    result = CliRunner().invoke(cli, ["count", str(a), str(b), "--model", "gpt-4o", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [f["tokens"] for f in data["files"]] == [2, 10]
    assert data["total"] == 12


def test_count_table_output_and_stdin() -> None:
    """Reads stdin with '-' and renders a table."""
    result = CliRunner().invoke(cli, ["count", "-", "-e", "cl100k_base"], input="hello world")
    assert result.exit_code == 0, result.output
    assert "Exact token counts for encoding cl100k_base:" in result.output
    assert " 2 " in result.output


def test_unknown_model_is_a_clean_error() -> None:
    """A TokmanError becomes 'Error: ...' and exit status 1, not a traceback."""
    result = CliRunner().invoke(cli, ["count", "-", "--model", "gpt4o"], input="x")
    assert result.exit_code == 1
    assert result.output.startswith("Error: Unknown model")
    assert "'gpt4o'. Did you mean 'gpt-4o'" in result.output
    assert "Traceback" not in result.output


def test_model_or_encoding_is_required() -> None:
    """Without --model or --encoding the usage error says what to pass."""
    result = CliRunner().invoke(cli, ["count", "-"], input="x")
    assert result.exit_code == 2
    assert "pass --model" in result.output


def test_vocab_lists_verified_sources() -> None:
    """`tokman vocab o200k_base` shows where the verified file came from."""
    result = CliRunner().invoke(cli, ["vocab", "o200k_base"])
    assert result.exit_code == 0
    assert "o200k_base: ok (sha256 verified)" in result.output
    assert str(tokman.get_encoding("o200k_base").source) in result.output
