"""`tokman chunk`, `models`, `price`, `report` and `vocab`."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import tokman
from cli_helpers import cell
from tokman.cli import cli
from tokman.ledger import UsageRecord, open_ledger


def test_chunk_writes_lossless_jsonl(tmp_path: Path) -> None:
    """Chunks are JSONL with offsets and exact counts, never over --max-tokens, lossless."""
    text = "# Title\n\nFirst paragraph here.\n\n## Part\n\nSecond paragraph, a bit longer.\n"
    path = tmp_path / "doc.md"
    path.write_text(text)
    args = ["chunk", str(path), "--max-tokens", "8", "--overlap", "0", "--structure", "markdown"]
    result = CliRunner().invoke(cli, [*args, "-m", "gpt-4o"])
    assert result.exit_code == 0, result.output
    chunks = [json.loads(line) for line in result.stdout.splitlines()]
    assert "".join(c["text"] for c in chunks) == text
    assert all(c["tokens"] == tokman.count(c["text"], model="gpt-4o") <= 8 for c in chunks)
    assert all(text[c["start"] : c["end"]] == c["text"] for c in chunks)
    bad = CliRunner().invoke(
        cli, ["chunk", str(path), "--max-tokens", "4", "--overlap", "9", "-m", "gpt-4o"]
    )
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: --overlap 9 is invalid")


def test_models_list_and_show() -> None:
    """models list filters the registry; show prints one model; a bad filter exits 2."""
    result = CliRunner().invoke(cli, ["models", "list", "--family", "gpt-4.1", "--json"])
    assert [m["name"] for m in json.loads(result.stdout)] == [
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
    ]
    shown = CliRunner().invoke(cli, ["models", "show", "gpt-4o-2024-08-06", "--json"])
    info = tokman.models.get("gpt-4o-2024-08-06")
    assert json.loads(shown.stdout)["context_window"] == info.context_window == 128_000
    table = CliRunner().invoke(cli, ["models", "list", "--family", "gpt-4.1"])
    assert "gpt-4.1       1,047,576      32,768" in table.stdout
    bad = CliRunner().invoke(cli, ["models", "list", "--family", "gpt-9"])
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: --family 'gpt-9' is invalid")
    unknown = CliRunner().invoke(cli, ["models", "show", "gpt4o"])
    assert unknown.exit_code == 2
    assert "Did you mean 'gpt-4o'" in unknown.stderr and "model=" not in unknown.stderr


def test_price_from_flags_and_from_stdin() -> None:
    """price bills counts given as flags or a usage JSON on stdin exactly like tokman.cost."""
    usage = {
        "prompt_tokens": 2000,
        "completion_tokens": 500,
        "prompt_tokens_details": {"cached_tokens": 1024},
    }
    expected = tokman.cost(usage, model="gpt-4o-mini", at="2025-06-01")
    args = ["price", "-m", "gpt-4o-mini", "--at", "2025-06-01", "--json"]
    flags = CliRunner().invoke(
        cli,
        [*args, "--prompt-tokens", "2000", "--cached-tokens", "1024", "--completion-tokens", "500"],
    )
    assert Decimal(json.loads(flags.stdout)["cost_usd"]["total"]) == expected.total
    piped = CliRunner().invoke(cli, args, input=json.dumps({**usage, "model": "gpt-4o-mini"}))
    assert json.loads(piped.stdout)["cost_usd"]["cached_input"] == str(expected.cached_input)
    table = CliRunner().invoke(cli, [*args[:-1], "--prompt-tokens", "2000"])
    assert cell(table.stdout, "total") == "$0.0003"
    assert CliRunner().invoke(cli, ["price", "-m", "gpt-4o"], input="nope").exit_code == 2


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/usage.db"
    t = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)
    with open_ledger(url) as ledger:
        ledger.record_many(
            UsageRecord(
                id=f"r{i}",
                time=t.replace(day=1 + i),
                model=("gpt-4o", "o3")[i % 2],
                prompt_tokens=1_000_000,
                completion_tokens=10,
                cost=Decimal("1234.5"),
            )
            for i in range(4)
        )
    return url


def test_report_formats_honour_by_since_until(ledger_url: str, tmp_path: Path) -> None:
    """Every format, the chart and --plot included, uses --by, --since and --until."""
    window = ["--since", "2025-03-02", "--until", "2025-03-04"]
    base = ["report", "--ledger", ledger_url, "--by", "model", *window]
    csv = CliRunner().invoke(cli, [*base, "--format", "csv"]).stdout.splitlines()
    assert [row.split(",")[:2] for row in csv[1:]] == [["gpt-4o", "1"], ["o3", "1"]]
    data = json.loads(CliRunner().invoke(cli, [*base, "--format", "json"]).stdout)
    assert data["total_cost_usd"] == "2469.0" and data["by"] == "model"
    chart = CliRunner().invoke(cli, [*base, "--format", "chart"]).stdout.splitlines()
    assert [line.split()[0] for line in chart[:-1]] == ["gpt-4o", "o3"]
    table = CliRunner().invoke(cli, base).stdout
    assert "1,000,000" in table and "$1,234.500000" in table and "…" not in table
    png = tmp_path / "cost.png"
    plotted = CliRunner().invoke(cli, [*base, "--plot", str(png)])
    assert plotted.exit_code == 0 and png.read_bytes()[:4] == b"\x89PNG"


def test_report_usage_mistakes_exit_2(ledger_url: str, tmp_path: Path) -> None:
    """An unknown --by, or --plot into a missing folder, exit 2 with one line."""
    for extra, message in (
        (["--by", "week"], "Error: --by 'week' is not a breakdown"),
        (["--plot", str(tmp_path / "no" / "c.png")], "Error: --plot"),
    ):
        result = CliRunner().invoke(cli, ["report", "--ledger", ledger_url, *extra])
        assert result.exit_code == 2
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_vocab_status_verify_and_missing_exit_1() -> None:
    """vocab shows verified sources; any MISSING encoding (p50k here) makes it exit 1."""
    ok = CliRunner().invoke(cli, ["vocab", "status", "o200k_base"])
    assert ok.exit_code == 0
    assert f"o200k_base: ok (sha256 verified) {tokman.get_encoding('o200k_base').source}" in (
        ok.stdout
    )
    assert CliRunner().invoke(cli, ["vocab", "verify", "cl100k_base"]).exit_code == 0
    missing = CliRunner().invoke(cli, ["vocab"])
    assert missing.exit_code == 1
    assert "p50k_base: MISSING" in missing.stdout
    assert "tokman vocab install FILE --to DIR" in missing.stderr
    assert CliRunner().invoke(cli, ["vocab", "status", "p99k"]).exit_code == 2


def test_vocab_install_checks_the_hash(tmp_path: Path) -> None:
    """install copies an official file (gz or plain) by its hash and refuses any other."""
    source = Path(str(tokman.get_encoding("cl100k_base").source))
    target = tmp_path / "vocab"
    target.mkdir()
    result = CliRunner().invoke(cli, ["vocab", "install", str(source), "--to", str(target)])
    assert result.exit_code == 0, result.output
    installed = target / "cl100k_base.tiktoken"
    assert result.stdout == f"installed cl100k_base: {installed}\n"
    assert installed.read_bytes() == gzip.decompress(source.read_bytes())
    fake = tmp_path / "fake.tiktoken"
    fake.write_text("not a vocabulary")
    bad = CliRunner().invoke(cli, ["vocab", "install", str(fake), "--to", str(target)])
    assert bad.exit_code == 1 and "is not the hash of any official vocabulary" in bad.stderr
    nowhere = CliRunner().invoke(cli, ["vocab", "install", str(source)])
    assert nowhere.exit_code == 2 and "pass --to DIR" in nowhere.stderr
