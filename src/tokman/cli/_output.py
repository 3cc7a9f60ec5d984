"""Tables for people, plain columns for pipes, JSON for machines: never a cut digit.

rich shortens a cell to ``1,0…`` when a table is wider than the terminal; a number with a
dropped digit is worse than no number. On a terminal every column folds (a long value wraps
to the next line); anywhere else (a pipe, a file, CI logs) the table is printed as plain
aligned columns at whatever width the values need.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

__all__ = ["echo_json", "is_tty", "print_table"]


def is_tty() -> bool:
    """Whether stdout is a terminal (tests patch this to see the rich layout)."""
    return sys.stdout.isatty()


def echo_json(payload: Any) -> None:
    """``payload`` as indented JSON on stdout (Decimals as exact strings)."""
    click.echo(json.dumps(payload, indent=2, default=str))


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    total: bool = False,
    left: int = 1,
) -> None:
    """Print ``rows`` under ``headers``; the first ``left`` columns are text, the rest numbers.

    ``total``: the last row is a total, set apart by a rule.
    """
    if is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for i, header in enumerate(headers):
            table.add_column(header, justify="left" if i < left else "right", overflow="fold")
        for i, row in enumerate(rows):
            if total and i == len(rows) - 1:
                table.add_section()
            table.add_row(*row)
        Console().print(table)
        return
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i < left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    if title:
        click.echo(title)
    click.echo(line(headers))
    for i, row in enumerate(rows):
        if total and i == len(rows) - 1:
            click.echo("  ".join("-" * w for w in widths))
        click.echo(line(row))
