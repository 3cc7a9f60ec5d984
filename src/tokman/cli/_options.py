"""Options several commands share, spelled once so that every command names them alike."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from tokman.cli._errors import USAGE, CliError

__all__ = ["cap_workers", "model_options", "resolve_target"]

_F = TypeVar("_F", bound=Callable[..., Any])
_PIECE_BYTES = 1 << 20  # count_file hands ~1M characters to a worker at a time


def model_options(func: _F) -> _F:
    """``--model`` / ``--encoding``: which tokenizer counts (exactly one)."""
    func = click.option("-e", "--encoding", help="Encoding instead of a model, e.g. o200k_base.")(
        func
    )
    return click.option("-m", "--model", help="Model or Azure deployment name, e.g. gpt-4o.")(func)


def resolve_target(model: str | None, encoding: str | None) -> str:
    """The encoding name for the flags, or a usage error (exit 2) naming the flag to change."""
    from tokman.counting.text import resolve_encoding_name
    from tokman.encodings import list_encodings
    from tokman.errors import TokmanError

    if model is None and encoding is None:
        raise CliError("pass --model (e.g. --model gpt-4o) or --encoding (e.g. o200k_base)", USAGE)
    if model is not None and encoding is not None:
        raise CliError("pass either --model or --encoding, not both", USAGE)
    if encoding is not None and encoding not in list_encodings():
        raise CliError(
            f"--encoding {encoding!r} is not a known encoding; use one of "
            + ", ".join(list_encodings()),
            USAGE,
        )
    try:
        return resolve_encoding_name(model, encoding)
    except TokmanError as exc:
        from tokman.cli._errors import cli_message

        raise CliError(f"--model: {cli_message(exc)}", USAGE) from exc


def cap_workers(requested: int | None, size_bytes: int | None) -> int:
    """Worker processes worth starting: at most the cores, and one per ~1 MiB piece of input.

    More processes than pieces only add start-up time (``--workers 1000`` on a small file
    used to start hundreds); ``None`` (unknown size, as for stdin) caps at the cores only.
    """
    cores = os.cpu_count() or 1
    workers = cores if requested is None else min(requested, cores)
    if size_bytes is not None:
        workers = min(workers, max(1, -(-size_bytes // _PIECE_BYTES)))
    return max(1, workers)
