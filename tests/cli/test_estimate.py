"""`tokman estimate`: Batch input files and fine-tuning datasets."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

import tokman
from cli_helpers import batch_file, cell, chat, fine_tune_file
from tokman.cli import cli


def test_batch_estimate_json_counts_prices_and_flags(tmp_path: Path) -> None:
    """Per-request prompt tokens and limits, both price ranges, flagged lines with numbers."""
    path = batch_file(tmp_path)
    result = CliRunner().invoke(cli, ["estimate", str(path), "--json", "--at", "2025-06-01"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    first = data["per_request"][0]
    assert first["prompt_tokens"] == tokman.count_prompt(**chat("hello"))
    assert first["max_completion_tokens"] == 100
    est = tokman.estimate_cost(**chat("hello", max_tokens=100), at="2025-06-01", batch=True)
    assert Decimal(first["batch_high"]) == est.maximum
    assert Decimal(first["batch_low"]) == est.minimum
    kinds = {(p["line"], p["kind"]) for p in data["problems"]}
    assert {(3, "duplicate_custom_id"), (4, "over_context"), (5, "malformed")} <= kinds
    assert (4, "unpriced") in kinds  # gpt-4 has no Batch price: said, not invented
    assert data["flagged_lines"] == [3, 4, 5]
    assert Decimal(data["cost_usd"]["standard"]["high"]) > Decimal(
        data["cost_usd"]["batch"]["high"]
    )


def test_batch_table_and_fail_over_gate(tmp_path: Path) -> None:
    """The summary table names each flagged line; --fail-over N exits 1 above N flags."""
    path = batch_file(tmp_path)
    result = CliRunner().invoke(cli, ["estimate", str(path)])
    assert result.exit_code == 0, result.output
    assert cell(result.stdout, "flagged lines") == "3"
    assert "custom_id 'a' is already used on line 1" in result.stdout
    gate = CliRunner().invoke(cli, ["estimate", str(path), "--fail-over", "2"])
    assert gate.exit_code == 1
    assert gate.stderr.endswith("Error: 3 flagged lines, over --fail-over 2\n")
    assert CliRunner().invoke(cli, ["estimate", str(path), "--fail-over", "3"]).exit_code == 0


def test_fine_tune_checks_distribution_and_billed_tokens(tmp_path: Path) -> None:
    """--fine-tune reports format problems, min/median/p95/max and billed tokens; no price."""
    path = fine_tune_file(tmp_path)
    args = ["estimate", str(path), "--fine-tune", "-m", "gpt-4o-mini", "--epochs", "2", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    counts = sorted(tokman.count_prompt(model="gpt-4o-mini", **x) for x in lines)
    assert data["tokens_per_example"] == {
        "min": counts[0],
        "median": counts[1],
        "p95": counts[-1],
        "max": counts[-1],
    }
    assert data["billed_tokens"] == 2 * sum(counts)
    assert data["cost_usd"] is None
    assert "no fine-tuning training prices" in data["notes"][0]
    assert {(p["line"], p["kind"]) for p in data["problems"]} == {
        (4, "unknown_key"),
        (4, "no_assistant"),
    }
    table = CliRunner().invoke(cli, args[:-1])
    assert cell(table.stdout, "training cost") == "n/a"
    assert "no fine-tuning training prices" in table.stderr


def test_fine_tune_usage_errors(tmp_path: Path) -> None:
    """--fine-tune without --model, an unknown model or --epochs 0 are usage errors."""
    path = fine_tune_file(tmp_path)
    for extra, message in (
        ([], "--fine-tune needs --model"),
        (["-m", "gpt-9"], "Unknown model 'gpt-9'"),
        (["-m", "gpt-4o", "--epochs", "0"], "--epochs"),
    ):
        result = CliRunner().invoke(cli, ["estimate", str(path), "--fine-tune", *extra])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
