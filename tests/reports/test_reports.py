"""Reports over every store, their renderings, and the ``tokman report`` command."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from tokman import reports
from tokman.cli.report import report as report_command
from tokman.errors import InvalidRequestError
from tokman.ledger import Ledger, UsageRecord, open_ledger

T0 = datetime(2025, 2, 1, 9, tzinfo=timezone.utc)


def _fill(ledger: Ledger) -> None:
    ledger.record_many(
        UsageRecord(
            id=f"r{i}",
            time=T0 + timedelta(days=i // 3),
            model=("gpt-4o", "gpt-4o-mini", "o3")[i % 3],
            deployment="eu" if i % 2 else None,
            prompt_tokens=100,
            completion_tokens=10 * i,
            cost=Decimal("0.01") * (i % 3 + 1),
            tags={"team": "a" if i < 4 else "b"},
        )
        for i in range(9)
    )


def test_usage_report_by_day_model_deployment_and_tag(ledger: Ledger) -> None:
    """Reports break usage down by day, model, deployment and tag within [since, until)."""
    _fill(ledger)
    by_day = reports.usage_report(ledger, by="day")
    assert [(r["day"], r["requests"], r["cost_usd"]) for r in by_day.records()] == [
        ("2025-02-01", 3, Decimal("0.06")),
        ("2025-02-02", 3, Decimal("0.06")),
        ("2025-02-03", 3, Decimal("0.06")),
    ]
    assert by_day.total_cost == Decimal("0.18")
    by_model = reports.usage_report(ledger, by="model", since=T0 + timedelta(days=1))
    assert [(r["model"], r["requests"]) for r in by_model.records()] == [
        ("gpt-4o", 2),
        ("gpt-4o-mini", 2),
        ("o3", 2),
    ]
    by_dep = reports.usage_report(ledger, by="deployment", until=T0 + timedelta(days=1))
    assert [(r["deployment"], r["requests"]) for r in by_dep.records()] == [("eu", 1), (None, 2)]
    by_tag = reports.usage_report(ledger, by="tag:team")
    assert [(r["tag:team"], r["total_tokens"]) for r in by_tag.records()] == [
        ("a", 460),
        ("b", 800),
    ]
    with pytest.raises(InvalidRequestError, match="by="):
        reports.usage_report(ledger, by="week")


def test_csv_json_and_table_renderings(ledger: Ledger) -> None:
    """CSV, JSON and the rich table all carry the same numbers, costs exact."""
    _fill(ledger)
    report = reports.usage_report(ledger, by="model")
    rows = list(csv.DictReader(io.StringIO(reports.to_csv(report))))
    assert [(r["model"], r["cost_usd"]) for r in rows] == [
        ("gpt-4o", "0.03"),
        ("gpt-4o-mini", "0.06"),
        ("o3", "0.09"),
    ]
    data = json.loads(reports.to_json(report))
    assert data["total_cost_usd"] == "0.18"
    assert data["rows"][0] == {
        "model": "gpt-4o",
        "requests": 3,
        "prompt_tokens": 300,
        "cached_tokens": 0,
        "completion_tokens": 90,
        "reasoning_tokens": 0,
        "total_tokens": 390,
        "cost_usd": "0.03",
        "unpriced": 0,
    }
    console = Console(file=io.StringIO(), width=200)
    console.print(reports.to_table(report))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "gpt-4o-mini" in text and "$0.180000" in text and "total" in text


def test_cost_over_time_charts(ledger: Ledger, tmp_path: Path) -> None:
    """Cost per day per model feeds the terminal bar chart and the PNG."""
    _fill(ledger)
    series = reports.cost_over_time(ledger, "day")
    assert series.periods == ["2025-02-01", "2025-02-02", "2025-02-03"]
    assert series.models == ["gpt-4o", "gpt-4o-mini", "o3"]
    assert series.costs["2025-02-01"]["o3"] == Decimal("0.03")
    chart = reports.bar_chart(series, width=12).splitlines()
    assert chart[0] == "2025-02-01 ██▓▓▓▓▒▒▒▒▒▒ $0.060000"
    assert chart[-1] == "legend: █ gpt-4o  ▓ gpt-4o-mini  ▒ o3"
    png = reports.save_png(series, tmp_path / "cost.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    empty = reports.cost_over_time(ledger, "month", since=T0 + timedelta(days=30))
    assert reports.bar_chart(empty) == "(no usage in this range)"


def test_report_command(tmp_path: Path) -> None:
    """tokman report prints a table, CSV, JSON or chart and can write a PNG."""
    url = f"sqlite:///{tmp_path}/ledger.db"
    with open_ledger(url) as ledger:
        _fill(ledger)
    runner = CliRunner()
    out = runner.invoke(report_command, ["--ledger", url, "--by", "model", "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[1] == "gpt-4o,3,300,0,90,0,390,0.03,0"
    out = runner.invoke(
        report_command,
        ["--ledger", url, "--format", "json", "--since", "2025-02-02", "--until", "2025-02-03"],
    )
    assert json.loads(out.output)["total_cost_usd"] == "0.06"
    png = tmp_path / "c.png"
    out = runner.invoke(report_command, ["--ledger", url, "--format", "chart", "--png", str(png)])
    assert out.exit_code == 0 and "legend:" in out.output and png.exists()
    out = runner.invoke(report_command, ["--ledger", url])
    assert out.exit_code == 0 and "2025-02-03" in out.output
    out = runner.invoke(report_command, ["--ledger", url, "--by", "week"])
    assert out.exit_code == 2 and "--by 'week' is not a breakdown" in out.output


def test_cost_by_follows_any_breakdown(ledger: Ledger, tmp_path: Path) -> None:
    """cost_by charts per period per model for time breakdowns and one bar per group else."""
    _fill(ledger)
    assert reports.cost_by(ledger, "day").models == ["gpt-4o", "gpt-4o-mini", "o3"]
    by_model = reports.cost_by(ledger, "model")
    assert by_model.periods == ["gpt-4o", "gpt-4o-mini", "o3"]
    assert by_model.costs["o3"] == {"cost": Decimal("0.09")}
    with pytest.raises(InvalidRequestError, match="by='week'"):
        reports.cost_by(ledger, "week")
    with pytest.raises(InvalidRequestError, match="does not exist; create it first"):
        reports.save_png(by_model, tmp_path / "missing" / "c.png")


def test_table_rows_match_the_rich_table(ledger: Ledger) -> None:
    """table_rows gives the same cells the rich table shows, with a total row last."""
    _fill(ledger)
    headers, rows = reports.table_rows(reports.usage_report(ledger, "model"))
    assert headers[:3] == ["model", "requests", "prompt"]
    assert rows[-1][:3] == ["total", "9", "900"]
    assert rows[-1][-2] == "$0.180000"
