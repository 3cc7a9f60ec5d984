"""``tokman report``: usage and cost from a ledger, as a table, CSV, JSON or chart."""

from __future__ import annotations

from datetime import datetime

import click

from tokman.cli._errors import cli_errors

__all__ = ["report"]

_DATES = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]


@click.command("report")
@click.option("--ledger", "url", help="Ledger URL (default: $TOKMAN_LEDGER_URL or the local file).")
@click.option(
    "--by",
    default="day",
    show_default=True,
    help="day, hour, month, model, deployment, operation, status or tag:<name>.",
)
@click.option("--since", type=click.DateTime(_DATES), help="Start (inclusive, UTC).")
@click.option("--until", type=click.DateTime(_DATES), help="End (exclusive, UTC).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "chart"]),
    default="table",
    show_default=True,
)
@click.option("--png", type=click.Path(dir_okay=False), help="Also draw cost over time to a PNG.")
def report(
    url: str | None,
    by: str,
    since: datetime | None,
    until: datetime | None,
    fmt: str,
    png: str | None,
) -> None:
    """Usage and cost per day, model, deployment or tag over a time range."""
    from tokman import reports
    from tokman.ledger import open_ledger

    period = by if by in ("hour", "day", "month") else "day"
    # read-only: a report never creates, migrates or writes a ledger (a typo'd path is an error)
    with cli_errors(), open_ledger(url, mode="ro") as ledger:
        if fmt == "chart":
            click.echo(
                reports.bar_chart(reports.cost_over_time(ledger, period, since=since, until=until))
            )
        else:
            result = reports.usage_report(ledger, by, since=since, until=until)
            if fmt == "csv":
                click.echo(reports.to_csv(result), nl=False)
            elif fmt == "json":
                click.echo(reports.to_json(result))
            else:
                from rich.console import Console

                Console().print(reports.to_table(result))
        if png:
            series = reports.cost_over_time(ledger, period, since=since, until=until)
            click.echo(f"wrote {reports.save_png(series, png)}", err=True)
