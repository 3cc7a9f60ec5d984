"""The ``tokman`` command line: the only place click and rich are imported.

Each sub-command lives in its own module; this module only assembles the group so that
``tokman --help`` stays fast and a broken optional command cannot break the others.
"""

from __future__ import annotations

import click

from tokman import __version__
from tokman.cli.count import count_command
from tokman.cli.vocab import vocab_command

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tokman")
def cli() -> None:
    """Count, fit, price and track the tokens of OpenAI and Azure OpenAI requests."""


cli.add_command(count_command)
cli.add_command(vocab_command)


def _add_optional_commands() -> None:
    from importlib import import_module

    for module, name in (("tokman.cli.report", "report"), ("tokman.cli.gateway", "gateway")):
        try:
            command = getattr(import_module(module), name)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        cli.add_command(command)


_add_optional_commands()


def main() -> None:
    """Entry point of the ``tokman`` console script."""
    cli(prog_name="tokman")
