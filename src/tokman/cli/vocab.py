"""``tokman vocab``: where each vocabulary comes from, verified; the fix when it is missing."""

from __future__ import annotations

import click

from tokman.cli._errors import cli_errors

__all__ = ["vocab_command"]


@click.command("vocab")
@click.argument("encodings", nargs=-1)
def vocab_command(encodings: tuple[str, ...]) -> None:
    """Show the verified source of each ENCODING (default: all known)."""
    from tokman.encodings import list_encodings, load_vocabulary
    from tokman.errors import VocabularyError

    failed = False
    for name in encodings or tuple(list_encodings()):
        with cli_errors():
            try:
                _, path = load_vocabulary(name)
            except VocabularyError as exc:
                failed = True
                click.echo(f"{name}: MISSING\n{exc}\n", err=True)
                continue
        click.echo(f"{name}: ok (sha256 verified) {path}")
    if failed and encodings:
        raise SystemExit(1)
