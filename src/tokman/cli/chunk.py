"""``tokman chunk FILE --max-tokens N``: the file as JSONL chunks, by ``tokman.TextChunker``.

One JSON object per line (``index``, ``start``, ``end``, ``tokens``, ``text``) so the output
streams into any pipeline; offsets are characters, and ``text == file[start:end]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tokman.cli._errors import CliError, cli_errors
from tokman.cli._options import model_options, resolve_target

__all__ = ["chunk_command"]

_EXAMPLES = """
\b
Examples:
  tokman chunk book.md --max-tokens 512 --model gpt-4o --structure markdown
  tokman chunk app.py --max-tokens 800 --overlap 64 --encoding o200k_base > chunks.jsonl
"""


@click.command("chunk", epilog=_EXAMPLES)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--max-tokens", type=click.IntRange(min=1), required=True, help="Tokens per chunk.")
@click.option(
    "--overlap",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Most tokens two consecutive chunks share.",
)
@click.option(
    "--structure",
    type=click.Choice(["text", "markdown", "code"]),
    default="text",
    show_default=True,
    help="Boundaries to prefer.",
)
@model_options
def chunk_command(
    file: str,
    max_tokens: int,
    overlap: int,
    structure: str,
    model: str | None,
    encoding: str | None,
) -> None:
    """Split FILE (or - for stdin) into chunks of at most --max-tokens tokens, as JSONL."""
    from tokman.fitting import TextChunker

    resolve_target(model, encoding)
    flags = {"max_tokens": "--max-tokens", "overlap": "--overlap", "structure": "--structure"}
    with cli_errors(flags):
        chunker = TextChunker(
            max_tokens, model=model, encoding=encoding, overlap=overlap, structure=structure
        )
    with cli_errors():
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            where = "stdin" if file == "-" else file
            raise CliError(f"{where}: not valid UTF-8 at byte {exc.start}") from exc
        for index, piece in enumerate(chunker.iter_chunks(text)):
            click.echo(
                json.dumps(
                    {
                        "index": index,
                        "start": piece.start,
                        "end": piece.end,
                        "tokens": piece.tokens,
                        "text": piece.text,
                    },
                    ensure_ascii=False,
                )
            )
