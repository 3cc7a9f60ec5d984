"""``tokman report``: usage and cost from a ledger, as a table, CSV, JSON or chart.

Every format reads the same ``--by``, ``--since`` and ``--until`` (``tokman.reports``:
``usage_report`` for rows, ``cost_by`` for charts), and the flags are checked before the
ledger is opened, so a typo is a usage error (exit 2) even when the ledger is down.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from tokman.cli._errors import USAGE, CliError, cli_errors
from tokman.cli._output import echo_json, is_tty, print_table

__all__ = ["report"]

_DATES = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]
_EXAMPLES = """
\b
Examples:
  tokman report --ledger sqlite:///usage.db --by model --since 2025-06-01
  tokman report --by tag:tenant --format csv > tenants.csv
  tokman report --by day --format chart --plot cost.png
"""


@click.command("report", epilog=_EXAMPLES)
@click.option("--ledger", "url", help="Ledger URL (default: $TOKMAN_LEDGER_URL or the local file).")
@click.option(
    "--by",
    default="day",
    show_default=True,
    help="hour, day, month, model, deployment, operation, status or tag:<name>.",
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
@click.option(
    "--plot",
    "--png",
    "plot",
    type=click.Path(dir_okay=False),
    help="Also draw the chart (cost per --by) into this PNG file.",
)
def report(
    url: str | None,
    by: str,
    since: datetime | None,
    until: datetime | None,
    fmt: str,
    plot: str | None,
) -> None:
    """Usage and cost per day, model, deployment or tag over a time range."""
    import json

    from tokman import reports
    from tokman.ledger import open_ledger

    if by not in reports.BY and not (by.startswith("tag:") and len(by) > 4):
        raise CliError(
            f"--by {by!r} is not a breakdown; use one of {', '.join(reports.BY)} or tag:<name>",
            USAGE,
        )
    if plot is not None and not Path(plot).parent.is_dir():
        raise CliError(
            f"--plot {plot}: the folder {Path(plot).parent} does not exist; create it first", USAGE
        )
    # read-only: a report never creates, migrates or writes a ledger (a typo'd path is an error)
    with cli_errors({"by": "--by", "path": "--plot"}), open_ledger(url, mode="ro") as ledger:
        if fmt == "chart":
            click.echo(reports.bar_chart(reports.cost_by(ledger, by, since=since, until=until)))
        else:
            result = reports.usage_report(ledger, by, since=since, until=until)
            if fmt == "csv":
                click.echo(reports.to_csv(result), nl=False)
            elif fmt == "json":
                echo_json(json.loads(reports.to_json(result)))
            elif is_tty():
                from rich.console import Console

                Console().print(reports.to_table(result))
            else:
                headers, rows = reports.table_rows(result)
                print_table(headers, rows, title=f"Usage by {result.by}", total=bool(result.rows))
        if plot:
            series = reports.cost_by(ledger, by, since=since, until=until)
            click.echo(f"wrote {reports.save_png(series, plot)}", err=True)
