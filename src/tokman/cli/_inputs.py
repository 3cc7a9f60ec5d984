"""What ``tokman count PATH...`` reads: files as named, folders walked, ``-`` for stdin.

A folder is walked recursively the way git sees it: ``.gitignore`` files (in the folder, below
it, and above it up to the repository root) are respected unless ``--no-gitignore``, ``.git``
is never entered, ``--include``/``--exclude`` globs use the same syntax, matched against the
path below the folder, and binary files (a NUL byte in the first 8 KiB) are skipped and
counted as skipped. A file named on the command line is always read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from tokman.cli._errors import CliError

__all__ = ["Input", "Inputs", "collect"]


@dataclass(frozen=True)
class Input:
    """One thing to count: a file (``path``) or stdin (``path is None``), and its size."""

    name: str
    path: Path | None
    size: int = 0


@dataclass
class Inputs:
    """The inputs in command-line order, and the files a folder walk skipped as binary."""

    items: list[Input] = field(default_factory=list)
    skipped_binary: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(i.size for i in self.items)


def _is_binary(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return b"\0" in handle.read(8192)
    except OSError:
        return False  # counting it reports the error properly


def _gitignore(directory: Path) -> pathspec.GitIgnoreSpec | None:
    ignore = directory / ".gitignore"
    if not ignore.is_file():
        return None
    try:
        lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ancestors(root: Path) -> list[tuple[Path, pathspec.GitIgnoreSpec]]:
    """The .gitignore files above ``root`` up to its repository's top (none outside a repo)."""
    found: list[tuple[Path, pathspec.GitIgnoreSpec]] = []
    for parent in root.resolve().parents:
        spec = _gitignore(parent)
        if spec is not None:
            found.append((parent, spec))
        if (parent / ".git").exists():
            return found
    return []


def _ignored(
    path: Path, specs: Sequence[tuple[Path, pathspec.GitIgnoreSpec]], is_dir: bool
) -> bool:
    resolved = path.resolve()
    for base, spec in specs:
        try:
            rel = resolved.relative_to(base).as_posix()
        except ValueError:
            continue
        if spec.match_file(rel + "/" if is_dir else rel):
            return True
    return False


def _walk(
    root: Path,
    include: pathspec.GitIgnoreSpec | None,
    exclude: pathspec.GitIgnoreSpec | None,
    gitignore: bool,
) -> Iterator[Path]:
    specs = _ancestors(root) if gitignore else []
    for here, dirs, files in os.walk(root):
        current = Path(here)
        if gitignore:
            spec = _gitignore(current)
            if spec is not None:
                specs = [*specs, (current.resolve(), spec)]
        dirs[:] = sorted(
            d
            for d in dirs
            if d != ".git" and not (gitignore and _ignored(current / d, specs, True))
        )
        for name in sorted(files):
            path = current / name
            rel = path.relative_to(root).as_posix()
            if include is not None and not include.match_file(rel):
                continue
            if exclude is not None and exclude.match_file(rel):
                continue
            if gitignore and _ignored(path, specs, False):
                continue
            yield path


def collect(
    paths: Sequence[str],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    gitignore: bool = True,
) -> Inputs:
    """The inputs named by ``paths`` (``-`` is stdin), folders expanded.

    Raises:
        CliError: a path does not exist (exit 1), naming it.
    """
    inc = pathspec.GitIgnoreSpec.from_lines(include) if include else None
    exc = pathspec.GitIgnoreSpec.from_lines(exclude) if exclude else None
    found = Inputs()
    for name in paths:
        if name == "-":
            found.items.append(Input("-", None))
            continue
        path = Path(name)
        if path.is_dir():
            for file in _walk(path, inc, exc, gitignore):
                if _is_binary(file):
                    found.skipped_binary.append(str(file))
                else:
                    found.items.append(Input(str(file), file, file.stat().st_size))
        elif path.exists():
            found.items.append(Input(name, path, path.stat().st_size))
        else:
            raise CliError(f"{name}: no such file or folder; check the path")
    return found
