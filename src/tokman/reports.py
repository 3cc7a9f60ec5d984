"""Usage and cost reports over a ledger: tables, CSV, JSON and charts of cost over time.

The numbers come from `Ledger.summary` (one GROUP BY in the database); this module only shapes
and renders them. Reports only read, so open their ledger with ``open_ledger(url, mode="ro")``
(as ``tokman report`` does): a mistyped path is then "no ledger at PATH" instead of a new empty
ledger, and a read-only file or directory can still be reported. rich and matplotlib are imported
by the functions that draw, never at import.

>>> from decimal import Decimal
>>> from datetime import datetime, timezone
>>> from tokman.ledger import UsageRecord, open_ledger
>>> ledger = open_ledger("memory://")
>>> t = datetime(2025, 1, 1, tzinfo=timezone.utc)
>>> _ = ledger.record_many([
...     UsageRecord(id="a", time=t, model="gpt-4o", prompt_tokens=10, cost=Decimal("0.02")),
...     UsageRecord(id="b", time=t, model="gpt-4o-mini", prompt_tokens=5, cost=Decimal("0.01"))])
>>> print(to_csv(usage_report(ledger, by="model")), end="")
model,requests,prompt_tokens,cached_tokens,completion_tokens,reasoning_tokens,total_tokens,cost_usd,unpriced
gpt-4o,1,10,0,0,0,10,0.02,0
gpt-4o-mini,1,5,0,0,0,5,0.01,0
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokman.errors import InvalidRequestError, MissingDependencyError

if TYPE_CHECKING:  # pragma: no cover
    from rich.table import Table

    from tokman.ledger import Ledger, SummaryRow

__all__ = [
    "BY",
    "CostSeries",
    "Report",
    "bar_chart",
    "cost_by",
    "cost_over_time",
    "save_png",
    "table_rows",
    "to_csv",
    "to_json",
    "to_table",
    "usage_report",
]

#: What a report can be broken down by (plus ``tag:<name>``).
BY = ("hour", "day", "month", "model", "deployment", "operation", "status")
_COLUMNS = (
    "requests",
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "total_tokens",
    "cost_usd",
    "unpriced",
)


@dataclass(frozen=True)
class Report:
    """Usage and cost per group over a time range."""

    by: str
    since: datetime | None
    until: datetime | None
    rows: Sequence[SummaryRow]

    def records(self) -> list[dict[str, Any]]:
        """One dict per group, keyed like the CSV columns (cost as a Decimal)."""
        return [
            {
                self.by: row.group[self.by],
                "requests": row.requests,
                "prompt_tokens": row.prompt_tokens,
                "cached_tokens": row.cached_tokens,
                "completion_tokens": row.completion_tokens,
                "reasoning_tokens": row.reasoning_tokens,
                "total_tokens": row.total_tokens,
                "cost_usd": row.cost,
                "unpriced": row.unpriced,
            }
            for row in self.rows
        ]

    @property
    def total_cost(self) -> Decimal:
        """The summed cost of every priced record in the report."""
        return sum((row.cost for row in self.rows), Decimal(0))


def _check_by(by: str) -> str:
    if by in BY or (by.startswith("tag:") and len(by) > 4):
        return by
    raise InvalidRequestError("by", by, f"one of {', '.join(BY)} or 'tag:<name>'")


def usage_report(
    ledger: Ledger,
    by: str = "day",
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    model: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Report:
    """Usage and cost per ``by`` (day, model, deployment, ``tag:<name>``...) in ``[since, until)``.

    Raises:
        InvalidRequestError: ``by`` is not a known breakdown.
    """
    by = _check_by(by)
    rows = ledger.summary([by], since=since, until=until, model=model, tags=tags)
    return Report(by, since, until, rows)


def to_csv(report: Report) -> str:
    """The report as CSV text with a header row (costs as exact decimal strings)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([report.by, *_COLUMNS])
    for rec in report.records():
        writer.writerow(
            ["" if rec[report.by] is None else rec[report.by]] + [rec[c] for c in _COLUMNS]
        )
    return out.getvalue()


def to_json(report: Report) -> str:
    """The report as JSON (costs as strings, so no precision is lost to floats)."""
    payload = {
        "by": report.by,
        "since": None if report.since is None else report.since.isoformat(),
        "until": None if report.until is None else report.until.isoformat(),
        "total_cost_usd": str(report.total_cost),
        "rows": [{**rec, "cost_usd": str(rec["cost_usd"])} for rec in report.records()],
    }
    return json.dumps(payload, indent=2)


def table_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """The report's headers and formatted rows (a total row last), for any table layout.

    Shared by `to_table` and the CLI's plain layout, so a table and its piped form show the
    same digits.
    """
    headers = [report.by] + [c.removesuffix("_tokens").replace("_usd", " (USD)") for c in _COLUMNS]
    rows = [
        ["(none)" if rec[report.by] is None else str(rec[report.by])]
        + [f"{rec[c]:,}" if c != "cost_usd" else f"${rec[c]:,.6f}" for c in _COLUMNS]
        for rec in report.records()
    ]
    if report.rows:
        totals = [sum(int(rec[c]) for rec in report.records()) for c in _COLUMNS[:-2]]
        unpriced = sum(int(rec["unpriced"]) for rec in report.records())
        rows.append(
            ["total", *(f"{v:,}" for v in totals), f"${report.total_cost:,.6f}", f"{unpriced:,}"]
        )
    return headers, rows


def to_table(report: Report) -> Table:
    """The report as a rich `Table` (print it with ``rich.console.Console().print``).

    Cells fold onto a second line when the terminal is narrow: a value is never cut to ``…``.
    """
    from rich.table import Table

    headers, rows = table_rows(report)
    table = Table(title=f"Usage by {report.by}")
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right", overflow="fold")
    for i, row in enumerate(rows):
        if report.rows and i == len(rows) - 1:
            table.add_section()
        table.add_row(*row)
    return table


@dataclass(frozen=True)
class CostSeries:
    """Cost per period per model: ``costs[period][model]``, periods in time order."""

    period: str
    periods: Sequence[str]
    models: Sequence[str]
    costs: Mapping[str, Mapping[str, Decimal]]

    def total(self, period: str) -> Decimal:
        """The cost of every model in ``period``."""
        return sum(self.costs.get(period, {}).values(), Decimal(0))


def cost_over_time(
    ledger: Ledger,
    period: str = "day",
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> CostSeries:
    """Cost per ``period`` (hour, day or month) per model: the data behind the charts."""
    if period not in ("hour", "day", "month"):
        raise InvalidRequestError("period", period, "hour, day or month")
    costs: dict[str, dict[str, Decimal]] = {}
    models: set[str] = set()
    for row in ledger.summary([period, "model"], since=since, until=until):
        label, model = str(row.group[period]), str(row.group["model"])
        costs.setdefault(label, {})[model] = row.cost
        models.add(model)
    return CostSeries(period, sorted(costs), sorted(models), costs)


def cost_by(
    ledger: Ledger,
    by: str = "day",
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> CostSeries:
    """The chart data for any breakdown: per period per model for hour/day/month, else one bar
    per group (model, deployment, ``tag:<name>``...) so a chart honours ``by`` like a table.

    Raises:
        InvalidRequestError: ``by`` is not a known breakdown.
    """
    by = _check_by(by)
    if by in ("hour", "day", "month"):
        return cost_over_time(ledger, by, since=since, until=until)
    report = usage_report(ledger, by, since=since, until=until)
    labels = ["(none)" if row.group[by] is None else str(row.group[by]) for row in report.rows]
    costs = {label: {"cost": row.cost} for label, row in zip(labels, report.rows, strict=True)}
    return CostSeries(by, labels, ["cost"] if labels else [], costs)


_GLYPHS = "█▓▒░#=*+%@"


def bar_chart(series: CostSeries, *, width: int = 50) -> str:
    """A terminal stacked bar chart of cost over time, one glyph per model.

    >>> from decimal import Decimal as D
    >>> s = CostSeries("day", ["2025-01-01", "2025-01-02"], ["a", "b"],
    ...                {"2025-01-01": {"a": D(2), "b": D(2)}, "2025-01-02": {"a": D(1)}})
    >>> print(bar_chart(s, width=8))
    2025-01-01 ████▓▓▓▓ $4.000000
    2025-01-02 ██       $1.000000
    legend: █ a  ▓ b
    """
    peak = max((series.total(p) for p in series.periods), default=Decimal(0))
    lines = []
    for p in series.periods:
        bar = ""
        for i, model in enumerate(series.models):
            cost = series.costs[p].get(model, Decimal(0))
            cells = 0 if peak == 0 else round(cost / peak * width)
            bar += _GLYPHS[i % len(_GLYPHS)] * int(cells)
        lines.append(f"{p} {bar[:width].ljust(width)} ${series.total(p):,.6f}")
    if not lines:
        return "(no usage in this range)"
    legend = "  ".join(f"{_GLYPHS[i % len(_GLYPHS)]} {m}" for i, m in enumerate(series.models))
    return "\n".join([*lines, f"legend: {legend}"])


def save_png(series: CostSeries, path: str | Path) -> Path:
    """Draw cost over time by model (stacked bars) into a PNG file via matplotlib.

    Raises:
        MissingDependencyError: matplotlib is not installed (``tokman[charts]``).
        InvalidRequestError: the folder of ``path`` does not exist, or the file cannot be
            written (checked before anything is drawn).
    """
    out = Path(path)
    if not out.parent.is_dir():
        raise InvalidRequestError(
            "path", str(path), f"the folder {out.parent} does not exist; create it first"
        )
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only; never needs a display
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError("matplotlib", extra="charts", feature="PNG charts") from exc
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(series.periods) + 3), 4.5))
    bottoms = [0.0] * len(series.periods)
    for model in series.models:
        values = [float(series.costs[p].get(model, Decimal(0))) for p in series.periods]
        ax.bar(series.periods, values, bottom=bottoms, label=model)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.set_ylabel("cost (USD)")
    ax.set_title(f"Cost per {series.period}" + (" by model" if series.models != ["cost"] else ""))
    if series.models:
        ax.legend()
    fig.autofmt_xdate()
    try:
        fig.savefig(out, format="png")
    except OSError as exc:
        raise InvalidRequestError(
            "path", str(path), f"could not be written: {exc.strerror or exc}"
        ) from exc
    finally:
        plt.close(fig)
    return out
