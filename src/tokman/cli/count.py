"""``tokman count PATH... | -``: exact token counts of files, folders and stdin.

All counting is the library's: ``tokman.files.count_document`` (chat-request JSON/JSONL as
prompts, anything else through ``count_file``: constant memory, all cores on a big file) and
``count_stream`` for stdin. The inputs are counted by one function, `count_inputs`, so a
counter that spreads many small files over worker processes can replace it without touching
the rest of the command.
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Callable, Iterator, Sequence

import click

from tokman.cli._errors import CliError, cli_errors
from tokman.cli._inputs import Input, collect
from tokman.cli._options import cap_workers, model_options, resolve_target
from tokman.cli._output import echo_json, print_table
from tokman.cli._progress import progress_bar
from tokman.files import DocumentCount

__all__ = ["count_command", "count_inputs"]

_EXAMPLES = """
\b
Examples:
  tokman count README.md src/tokman/errors.py --model gpt-4o
  tokman count docs/ --include '*.md' --exclude 'drafts/**' --model gpt-4.1
  tokman count requests.jsonl --model gpt-4o --json   # chat requests counted as prompts
  cat notes.txt | tokman count - --encoding o200k_base
"""


def _stdin_chunks(errors: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")(errors)
    stream = sys.stdin.buffer
    consumed = 0
    while True:
        block = stream.read(1 << 20)
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            at = consumed - len(decoder.getstate()[0]) + exc.start
            raise CliError(
                f"stdin is not valid UTF-8 at byte {at}; pass --errors replace to count it anyway"
            ) from exc
        consumed += len(block)
        if text:
            yield text
        if not block:
            return


def count_inputs(
    inputs: Sequence[Input],
    *,
    model: str | None,
    encoding: str | None,
    workers: int | None,
    errors: str,
    advance: Callable[[int], None],
) -> list[DocumentCount]:
    """Count every input in order (one call per file; a big file uses the worker processes)."""
    from tokman.counting import count_stream
    from tokman.files import count_document

    found: list[DocumentCount] = []
    for item in inputs:
        if item.path is None:
            n = count_stream(
                _stdin_chunks(errors),
                model=model,
                encoding=encoding,
                workers=cap_workers(workers, None),
            )
            found.append(DocumentCount("-", n))
        else:
            found.append(
                count_document(
                    item.path,
                    model=model,
                    encoding=encoding,
                    workers=cap_workers(workers, item.size),
                    errors=errors,
                )
            )
        advance(item.size)
    return found


@click.command("count", epilog=_EXAMPLES)
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@model_options
@click.option("--include", multiple=True, metavar="GLOB", help="Only files matching (folders).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files matching (folders).")
@click.option(
    "--gitignore/--no-gitignore",
    default=True,
    show_default=True,
    help="Respect .gitignore files when walking folders.",
)
@click.option(
    "--errors",
    type=click.Choice(["strict", "replace", "ignore"]),
    default="strict",
    show_default=True,
    help="What to do with invalid UTF-8.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes for big inputs (default: all cores; capped at what the input needs).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def count_command(
    paths: tuple[str, ...],
    model: str | None,
    encoding: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    gitignore: bool,
    errors: str,
    workers: int | None,
    as_json: bool,
) -> None:
    """Count the tokens of files, folders or stdin (-) exactly, offline.

    Plain text is counted as text; a .json/.jsonl file of chat requests (or Batch lines) is
    counted as the prompts the API will bill (with --model). Files of any size are streamed
    in constant memory.
    """
    resolve_target(model, encoding)
    inputs = collect(paths or ("-",), include=include, exclude=exclude, gitignore=gitignore)
    with cli_errors(), progress_bar(inputs.size, "counting") as advance:
        rows = count_inputs(
            inputs.items,
            model=model,
            encoding=encoding,
            workers=workers,
            errors=errors,
            advance=advance,
        )
    total = sum(r.tokens for r in rows)
    if inputs.skipped_binary:
        click.echo(f"skipped {len(inputs.skipped_binary)} binary file(s)", err=True)
    if as_json:
        echo_json(
            {
                "model": model,
                "encoding": encoding,
                "files": [
                    {"path": r.path, "tokens": r.tokens, "kind": r.kind, "requests": r.requests}
                    for r in rows
                ],
                "total": total,
                "skipped_binary": inputs.skipped_binary,
            }
        )
        return
    label = f"model {model}" if model else f"encoding {encoding}"
    table = [
        [r.path, f"{r.tokens:,}"] + ([f"{r.requests:,} requests"] if r.kind == "requests" else [""])
        for r in rows
    ]
    if len(rows) > 1:
        table.append(["total", f"{total:,}", ""])
    has_requests = any(r.kind == "requests" for r in rows)
    print_table(
        ["file", "tokens", "counted as"] if has_requests else ["file", "tokens"],
        table if has_requests else [row[:2] for row in table],
        title=f"Exact token counts for {label}:",
        total=len(rows) > 1,
    )
