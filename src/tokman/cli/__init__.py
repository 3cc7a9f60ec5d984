"""The ``tokman`` command line: the only place click and rich are imported.

Each sub-command lives in its own module and is a thin layer over the public API. The group
turns any exception a command did not expect into one ``Error:`` line (exit 1) naming
``--debug``, which shows the traceback instead; a closed pipe (``| head``) ends quietly.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from tokman import __version__
from tokman.cli._errors import CliError
from tokman.cli.chunk import chunk_command
from tokman.cli.count import count_command
from tokman.cli.estimate import estimate_command
from tokman.cli.gateway import gateway
from tokman.cli.models import models_command
from tokman.cli.price import price_command
from tokman.cli.report import report
from tokman.cli.vocab import vocab_command

__all__ = ["cli", "main"]


class _Group(click.Group):
    """A group that reports unexpected exceptions in one line unless ``--debug``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:
            sys.stderr.close()  # the reader went away (| head): nothing more to say
            raise SystemExit(1) from None
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            raise CliError(
                f"{type(exc).__name__}: {exc} (tokman bug? run with --debug for the traceback)"
            ) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tokman")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
def cli(debug: bool) -> None:
    """Count, fit, price and track the tokens of OpenAI and Azure OpenAI requests.

    Data goes to stdout, messages to stderr. Exit status: 0 ok, 1 a failure or a finding
    asked for (--fail-over), 2 a usage mistake.
    """


for _command in (
    count_command,
    chunk_command,
    estimate_command,
    models_command,
    price_command,
    report,
    vocab_command,
    gateway,
):
    cli.add_command(_command)


def main() -> None:
    """Entry point of the ``tokman`` console script."""
    cli(prog_name="tokman")
