"""``tokman vocab [status|install FILE|verify]``: where each vocabulary is, verified, and how
to install one offline. Any encoding that is MISSING makes the command exit 1, so a setup
script can check its machine with ``tokman vocab``.
"""

from __future__ import annotations

import hashlib

import click

from tokman.cli._errors import USAGE, CliError, cli_errors
from tokman.cli._output import echo_json

__all__ = ["vocab_command"]


def _known(encodings: tuple[str, ...]) -> list[str]:
    from tokman.encodings import list_encodings

    known = list_encodings()
    for name in encodings:
        if name not in known:
            raise CliError(
                f"{name!r} is not a known encoding; use one of {', '.join(known)}", USAGE
            )
    return list(encodings) or known


def _status(encodings: tuple[str, ...], as_json: bool, *, show_fix: bool) -> None:
    from tokman.encodings import load_vocabulary
    from tokman.errors import VocabularyError

    rows = []
    for name in _known(encodings):
        try:
            contents, path = load_vocabulary(name)
        except VocabularyError as exc:
            rows.append(
                {
                    "encoding": name,
                    "status": "MISSING",
                    "path": None,
                    "sha256": None,
                    "fix": str(exc),
                }
            )
            continue
        rows.append(
            {
                "encoding": name,
                "status": "ok",
                "path": str(path),
                "sha256": hashlib.sha256(contents).hexdigest(),
                "fix": None,
            }
        )
    if as_json:
        echo_json(rows)
    else:
        for row in rows:
            if row["status"] == "ok":
                click.echo(f"{row['encoding']}: ok (sha256 verified) {row['path']}")
                if show_fix:
                    click.echo(f"  sha256 {row['sha256']}")
            else:
                click.echo(f"{row['encoding']}: MISSING")
                click.echo(f"{row['fix']}\n", err=True)
    missing = [str(r["encoding"]) for r in rows if r["status"] != "ok"]
    if missing:
        click.echo(
            f"Error: {len(missing)} encoding(s) missing: {', '.join(missing)}; install each "
            "offline with: tokman vocab install FILE --to DIR (and export TOKMAN_VOCAB_DIR=DIR)",
            err=True,
        )
        raise SystemExit(1)


@click.group("vocab", invoke_without_command=True)
@click.pass_context
def vocab_command(ctx: click.Context) -> None:
    """Where each encoding's vocabulary is found, its sha256, how to install one offline.

    Exits 1 when any encoding is MISSING.

    \b
    Examples:
      tokman vocab                      # = tokman vocab status
      tokman vocab status o200k_base --json
      tokman vocab install ~/Downloads/p50k_base.tiktoken --to ~/.tokman/vocab
      tokman vocab verify
    """
    if ctx.invoked_subcommand is None:
        _status((), False, show_fix=False)


@vocab_command.command("status")
@click.argument("encodings", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_command(encodings: tuple[str, ...], as_json: bool) -> None:
    """The verified source and sha256 of each ENCODING (default: all known)."""
    _status(encodings, as_json, show_fix=True)


@vocab_command.command("verify")
@click.argument("encodings", nargs=-1)
def verify_command(encodings: tuple[str, ...]) -> None:
    """Re-read every ENCODING's file and check its sha256 (exit 1 on any failure)."""
    _status(encodings, False, show_fix=False)


@vocab_command.command("install")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--to",
    "directory",
    type=click.Path(file_okay=False),
    help="Directory to install into (default: $TOKMAN_VOCAB_DIR).",
)
def install_command(file: str, directory: str | None) -> None:
    """Install an official vocabulary FILE (downloaded elsewhere) after checking its sha256."""
    from tokman.config import Settings
    from tokman.encodings import install_vocabulary

    if directory is None and Settings.from_env().vocab_dir is not None:
        directory = str(Settings.from_env().vocab_dir)
    if directory is None:
        raise CliError("pass --to DIR (or set TOKMAN_VOCAB_DIR) to say where to install", USAGE)
    with cli_errors({"directory": "--to"}):
        names, dest = install_vocabulary(file, directory)
    click.echo(f"installed {', '.join(names)}: {dest}")
    click.echo(f"tokman finds it when TOKMAN_VOCAB_DIR={dest.parent} is set", err=True)
