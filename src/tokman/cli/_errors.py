"""Turn tokman errors into clean CLI failures (message, exit status 1), never tracebacks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from tokman.errors import TokmanError

__all__ = ["cli_errors"]


@contextmanager
def cli_errors() -> Iterator[None]:
    """Report a ``TokmanError`` as ``Error: <message>`` on stderr with exit status 1."""
    try:
        yield
    except TokmanError as exc:
        raise click.ClickException(str(exc)) from exc
