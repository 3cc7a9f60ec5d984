"""``tokman count FILE... --model M``: exact token counts of files (or stdin)."""

from __future__ import annotations

import json
import sys

import click

from tokman.cli._errors import cli_errors

__all__ = ["count_command"]


@click.command("count")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-m", "--model", help="Model or Azure deployment name, e.g. gpt-4o.")
@click.option("-e", "--encoding", help="Encoding name instead of a model, e.g. o200k_base.")
@click.option(
    "--workers", type=int, default=None, help="Processes for big files (default: all cores)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def count_command(
    files: tuple[str, ...],
    model: str | None,
    encoding: str | None,
    workers: int | None,
    as_json: bool,
) -> None:
    """Count the tokens of FILES exactly, offline (use - for stdin).

    Files of any size are streamed in constant memory.
    """
    from tokman.counting import count, count_file

    if model is None and encoding is None:
        raise click.UsageError("pass --model (e.g. --model gpt-4o) or --encoding (e.g. o200k_base)")
    if not files:
        files = ("-",)
    rows: list[tuple[str, int]] = []
    with cli_errors():
        for name in files:
            if name == "-":
                tokens = count(sys.stdin.read(), model=model, encoding=encoding)
            else:
                tokens = count_file(name, model=model, encoding=encoding, workers=workers)
            rows.append((name, tokens))
    total = sum(tokens for _, tokens in rows)
    label = f"model {model}" if model else f"encoding {encoding}"
    if as_json:
        click.echo(
            json.dumps(
                {
                    "model": model,
                    "encoding": encoding,
                    "files": [{"path": p, "tokens": t} for p, t in rows],
                    "total": total,
                }
            )
        )
        return
    from rich.console import Console
    from rich.table import Table

    click.echo(f"Exact token counts for {label}:")
    table = Table()
    table.add_column("file")
    table.add_column("tokens", justify="right")
    for name, tokens in rows:
        table.add_row(name, f"{tokens:,}")
    if len(rows) > 1:
        table.add_row("total", f"{total:,}", style="bold")
    Console().print(table)
