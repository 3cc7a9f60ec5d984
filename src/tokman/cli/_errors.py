"""Turn every failure into one ``Error: ...`` line on stderr and the right exit status.

Exit 2 is a usage mistake (a flag's value: an unknown model, encoding or ``--by``, two flags
that exclude each other); exit 1 is a failure while working (a file that cannot be read, a
ledger that is down). tokman's messages are written for Python callers, so a suggested
argument (``errors='replace'``, ``model=``) is rewritten here as the CLI flag that does it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

import click

from tokman.errors import InvalidRequestError, TokmanError

__all__ = ["USAGE", "CliError", "cli_errors", "cli_message"]

USAGE = 2

#: Python-argument advice -> the CLI flag that does the same (applied in order).
_FLAG_ADVICE: tuple[tuple[str, str], ...] = (
    (r" Register it: .*$", " Add it to the JSON or TOML file named by $TOKMAN_MODELS_FILE."),
    (r"pass either model= or encoding=, not both", "pass either --model or --encoding, not both"),
    (r"pass errors='replace' to count it anyway", "pass --errors replace to count it anyway"),
    (r"\bmodel='([^']*)'", r"--model \1"),
    (r"\bencoding='([^']*)'", r"--encoding \1"),
    (r"\bmodel=(?=[\s,;)]|$)", "--model"),
    (r"\bencoding=(?=[\s,;)]|$)", "--encoding"),
    (r" \(mode='ro'\)", ""),
)


class CliError(click.ClickException):
    """A one-line error with its exit status; click prints it without a traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.code = exit_code

    @property  # click reads a class attribute; ours varies per error
    def exit_code(self) -> int:  # type: ignore[override]
        return self.code

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True, file=file)


def cli_message(exc: TokmanError, flags: Mapping[str, str] | None = None) -> str:
    """``exc``'s message in CLI terms: the field named as its flag, advice as flags."""
    message = str(exc)
    if isinstance(exc, InvalidRequestError) and flags and exc.field in flags:
        message = f"{flags[exc.field]} {exc.value!r} is invalid: {exc.expected}"
    elif isinstance(exc, InvalidRequestError) and exc.field in ("path", "file"):
        message = f"{exc.value}: {exc.expected}"
    for pattern, replacement in _FLAG_ADVICE:
        message = re.sub(pattern, replacement, message)
    return message


@contextmanager
def cli_errors(flags: Mapping[str, str] | None = None, *, usage: bool = False) -> Iterator[None]:
    """Report a ``TokmanError`` (or an ``OSError``) as one line; exit 2 when ``usage``.

    ``flags`` maps a library argument name to its flag (``{"by": "--by"}``); an
    ``InvalidRequestError`` about a mapped argument is always a usage error.
    """
    try:
        yield
    except TokmanError as exc:
        flagged = (
            isinstance(exc, InvalidRequestError) and bool(flags) and exc.field in (flags or {})
        )
        raise CliError(cli_message(exc, flags), USAGE if usage or flagged else 1) from exc
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise CliError(f"{where}{exc.strerror or exc}") from exc
