"""Tokenizer encodings, resolved offline and verified.

``get_encoding("o200k_base")`` finds the official vocabulary file through the source chain in
``_sources`` (never the network), checks its sha256, and returns an :class:`Encoding` that counts
at the speed of the fastest verified-identical backend. tiktoken is the reference: its
``Encoding`` is built from the same verified bytes on first use of ``encode``/``decode``; counting
uses ``bpe-openai``'s Rust BPE for ``o200k_base``/``cl100k_base``/``o200k_harmony`` (1.2-2.6x
faster here), and a differential test suite proves both give identical counts. Set
``TOKMAN_TOKENIZER=tiktoken`` to count with tiktoken alone. Corpus-scale batches
(:meth:`Encoding.count_batch`) can use a third engine, gigatoken (``tokman[fast]``,
``_gigatoken``), routed so that its counts are tiktoken's too.
"""

from __future__ import annotations

import base64
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tokman._args import not_utf8
from tokman.config import Settings
from tokman.encodings._catalog import VOCABULARIES, EncodingSpec
from tokman.encodings._fast import fast_counter
from tokman.encodings._models import encoding_name_for_model
from tokman.encodings._sources import VOCAB_DIR_ENV, default_sources, unset_settings
from tokman.encodings._verify import read_verified
from tokman.errors import (
    ConfigurationError,
    InvalidRequestError,
    VocabularyIntegrityError,
    VocabularyNotFoundError,
)

if TYPE_CHECKING:
    import tiktoken

    from tokman.encodings._gigatoken import CorpusCounter

__all__ = [
    "Encoding",
    "configure",
    "encoding_name_for_model",
    "get_encoding",
    "install_vocabulary",
    "list_encodings",
    "load_vocabulary",
    "loading_state",
]

TOKENIZER_ENV = "TOKMAN_TOKENIZER"
#: Characters a process batch-counts before ``Encoding.count_batch`` builds the corpus backend
#: by itself (~0.5 s to build, so only worth it for corpora).
CORPUS_CHARS = 16 << 20

_lock = threading.Lock()
_encodings: dict[str, Encoding] = {}
_vocab_dir: Path | None = None


def configure(*, vocab_dir: str | os.PathLike[str] | None) -> None:
    """Set the directory searched first for vocabulary files (``None`` to unset).

    Takes precedence over ``$TOKMAN_VOCAB_DIR``, ``$TIKTOKEN_CACHE_DIR`` and packaged copies.
    Already-loaded encodings are dropped so the next use resolves again.
    """
    global _vocab_dir
    new = Path(vocab_dir) if vocab_dir is not None else None
    with _lock:
        if new != _vocab_dir:
            _vocab_dir = new
            _encodings.clear()


def loading_state() -> tuple[Path | None, Settings]:
    """What decides how this process finds and loads an encoding: the directory set by
    :func:`configure` and the settings from the environment. A worker process forked while
    they were different would load (and count) differently, so a kept pool is keyed by it."""
    return _vocab_dir, Settings.from_env()


def list_encodings() -> list[str]:
    """Names of the encodings tokman knows how to verify and load."""
    return sorted(VOCABULARIES)


def _fix_command(spec: EncodingSpec) -> str:
    if spec.file.stem in ("o200k_base", "cl100k_base"):
        return (
            "pip install --force-reinstall bpe-openai  (it ships verified official copies), or "
            f"put the official {spec.file.stem}.tiktoken in ${VOCAB_DIR_ENV}"
        )
    return (
        f"on a connected machine download {spec.file.url} and copy it to "
        f"${VOCAB_DIR_ENV}/{spec.file.stem}.tiktoken"
    )


def load_vocabulary(name: str) -> tuple[bytes, Path]:
    """Return the verified bytes of ``name``'s vocabulary file and where they came from.

    Raises:
        VocabularyNotFoundError: no verified copy anywhere in the chain.
        VocabularyIntegrityError: a file in a directory the user named has the wrong sha256.
    """
    spec = _spec(name)
    searched: list[str] = []
    for source in default_sources(_vocab_dir):
        searched.append(source.describe(spec.file))
        for path in source.candidates(spec.file):
            if not path.is_file():
                continue
            try:
                contents, actual = read_verified(path, spec.file.sha256)
            except OSError as exc:
                searched.append(f"{path}: unreadable ({exc.__class__.__name__}: {exc})")
                continue
            if contents is not None:
                return contents, path
            if source.explicit:
                raise VocabularyIntegrityError(name, str(path), spec.file.sha256, actual)
            warnings.warn(
                f"tokman: ignoring {path}: sha256 {actual} is not the official "
                f"{spec.file.stem} hash {spec.file.sha256}",
                RuntimeWarning,
                stacklevel=2,
            )
            searched.append(f"{path}: rejected, sha256 mismatch ({actual})")
    searched.extend(unset_settings(_vocab_dir))
    raise VocabularyNotFoundError(name, searched, _fix_command(spec))


def install_vocabulary(
    file: str | os.PathLike[str], directory: str | os.PathLike[str]
) -> tuple[list[str], Path]:
    """Copy an official vocabulary file into ``directory`` once its sha256 proves which it is.

    The way to install a vocabulary offline: download the file on a connected machine, carry
    it over, install it into ``$TOKMAN_VOCAB_DIR``. The file (plain or gzip'd) is identified by
    its hash alone, so a wrong or damaged file is refused instead of giving wrong counts; it is
    written as ``<stem>.tiktoken`` through a temporary name and renamed, so a crash never
    leaves half a file. Returns the encodings that use it and the installed path.

    Raises:
        InvalidRequestError: ``file`` cannot be read, or its sha256 is no official vocabulary's;
            ``directory`` does not exist or cannot be written (field ``directory``).
    """
    from tokman._args import file_path

    source = file_path(file, field="file", what="vocabulary file")
    target = file_path(directory, field="directory", what="vocabulary directory")
    if not target.is_dir():
        raise InvalidRequestError(
            "directory", str(directory), "does not exist; create it (mkdir -p) first"
        )
    try:
        _, actual = read_verified(source, "")
    except OSError as exc:
        raise InvalidRequestError(
            "file", str(file), f"could not be read: {exc.strerror or exc}"
        ) from exc
    except EOFError as exc:
        raise InvalidRequestError("file", str(file), "is a truncated gzip file") from exc
    names = sorted(n for n, spec in VOCABULARIES.items() if spec.file.sha256 == actual)
    if not names:
        raise InvalidRequestError(
            "file",
            str(file),
            f"sha256 {actual} is not the hash of any official vocabulary "
            f"({', '.join(list_encodings())}); download it again from the official URL",
        )
    raw = source.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        import gzip

        raw = gzip.decompress(raw)
    dest = target / f"{VOCABULARIES[names[0]].file.stem}.tiktoken"
    partial = dest.with_name(dest.name + f".{os.getpid()}.partial")
    try:
        partial.write_bytes(raw)
        os.replace(partial, dest)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidRequestError(
            "directory", str(directory), f"could not be written: {exc.strerror or exc}"
        ) from exc
    with _lock:
        _encodings.clear()  # the next use resolves again and may find the new file
    return names, dest


def _spec(name: str) -> EncodingSpec:
    found = VOCABULARIES.get(name) if isinstance(name, str) else None
    if found is None:
        raise ConfigurationError(
            f"encoding={name!r} is not a known encoding; use one of {', '.join(list_encodings())}"
        )
    return found


def _parse_ranks(contents: bytes) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for line in contents.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _fast_counter(name: str) -> Callable[[str], int] | None:
    if Settings.from_env().tokenizer == "tiktoken":
        return None
    return fast_counter(name)


def _corpus_possible(name: str) -> bool:
    """Whether the gigatoken corpus backend may count ``name`` here (installed, covered,
    not turned off by ``$TOKMAN_TOKENIZER``)."""
    from tokman.encodings._gigatoken import PRETOKENIZERS, corpus_backend

    return (
        name in PRETOKENIZERS
        and Settings.from_env().tokenizer == "auto"
        and corpus_backend() is not None
    )


class Encoding:
    """A verified tokenizer encoding: exact counts, and tiktoken for token ids.

    Special-token text such as ``<|endoftext|>`` is always treated as plain text, as the API
    treats user content. Instances are shared and thread-safe.
    """

    def __init__(self, spec: EncodingSpec, contents: bytes, source: Path) -> None:
        self.name = spec.name
        self.source = source
        self._spec = spec
        self._contents: bytes | None = contents
        self._tiktoken: tiktoken.Encoding | None = None
        self._build_lock = threading.Lock()
        fast = _fast_counter(spec.name)
        self._count: Callable[[str], int] = fast if fast is not None else self._count_tiktoken
        self._corpus: CorpusCounter | None = None
        self._corpus_possible: bool | None = None  # decided on first batch use
        self._batched = 0  # characters batch-counted so far, for the CORPUS_CHARS rule

    def __repr__(self) -> str:
        return f"<tokman.Encoding {self.name!r} from {self.source}>"

    @property
    def tiktoken(self) -> tiktoken.Encoding:
        """The reference ``tiktoken.Encoding``, built from the verified file on first use."""
        if self._tiktoken is None:
            with self._build_lock:
                if self._tiktoken is None:
                    import tiktoken

                    assert self._contents is not None
                    self._tiktoken = tiktoken.Encoding(
                        self.name,
                        pat_str=self._spec.pattern,
                        mergeable_ranks=_parse_ranks(self._contents),
                        special_tokens=dict(self._spec.special_tokens),
                        explicit_n_vocab=self._spec.explicit_n_vocab,
                    )
                    self._contents = None
        return self._tiktoken

    def _count_tiktoken(self, text: str) -> int:
        return len(self.tiktoken.encode_ordinary(text))

    def count(self, text: str) -> int:
        """The exact number of tokens in ``text``.

        >>> get_encoding("o200k_base").count("hello world")
        2
        """
        if not isinstance(text, str):
            raise InvalidRequestError("text", text, "expected a str; decode bytes first")
        try:
            return self._count(text)
        except UnicodeEncodeError as exc:
            raise not_utf8("text", text) from exc

    def count_batch(self, texts: Sequence[str], *, corpus: bool | None = None) -> list[int]:
        """The exact count of each text, in order, counted in this process.

        ``tokman.count_batch`` spreads a batch over every core; this is its per-process step,
        and what a Ray/Dask/Spark task calls. ``corpus`` chooses the corpus backend (gigatoken,
        from ``tokman[fast]``: several times faster on prose and code once warm, ~0.5 s to
        build): ``True`` builds it now, ``False`` never uses it, ``None`` (default) builds it
        once this process has batch-counted ``CORPUS_CHARS`` characters. Without the extra,
        for encodings it does not cover, or under ``TOKMAN_TOKENIZER=bpe-openai``/``tiktoken``
        the texts are counted one by one with :meth:`count`. Counts are the same either way.

        >>> get_encoding("o200k_base").count_batch(["hello world", "<|endoftext|>"])
        [2, 7]

        Raises:
            InvalidRequestError: ``texts`` is not a sequence of texts (a list, a tuple);
                ``texts[i]`` is not a ``str`` or holds a lone surrogate.
        """
        if isinstance(texts, (str, bytes, bytearray)) or not isinstance(texts, Sequence):
            raise InvalidRequestError(
                "texts", texts, "expected a list of str; for any iterable use tokman.count_batch()"
            )
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InvalidRequestError(
                    f"texts[{i}]", text, "expected a str; decode bytes first, fill or drop nulls"
                )
        counter = self._corpus_counter(corpus)
        try:
            if counter is not None:
                return counter(texts)
            self._batched += sum(map(len, texts))
            return list(map(self._count, texts))
        except UnicodeEncodeError:
            for i, text in enumerate(texts):
                if not text.isascii():
                    try:
                        text.encode("utf-8")
                    except UnicodeEncodeError as exc:
                        raise not_utf8(f"texts[{i}]", text) from exc
            raise

    @property
    def batched_chars(self) -> int:
        """Characters this process has batch-counted with this encoding's single-text
        counters: in :meth:`count_batch`, and on its behalf by ``tokman.count_batch``'s worker
        processes (:meth:`add_batched`). From ``CORPUS_CHARS`` on, the process is counting a
        corpus, and the corpus backend is worth building."""
        return self._batched

    def add_batched(self, chars: int) -> None:
        """Count ``chars`` toward :attr:`batched_chars`: characters batch-counted for this
        process somewhere else (its worker processes), so that a pipeline of many calls, each
        below ``CORPUS_CHARS``, gets the corpus backend as one long call would.

        Raises:
            InvalidRequestError: ``chars`` is not an int >= 0.
        """
        if isinstance(chars, bool) or not isinstance(chars, int) or chars < 0:
            raise InvalidRequestError("chars", chars, "expected an int >= 0: characters counted")
        self._batched += chars

    @property
    def corpus_ready(self) -> bool:
        """Whether this process has built the corpus backend (see :meth:`count_batch`)."""
        return self._corpus is not None

    def prepare_corpus(self) -> bool:
        """Build the corpus backend now (once per process); ``False`` where it cannot be had
        (not installed, encoding not covered, turned off by ``$TOKMAN_TOKENIZER``)."""
        return self._corpus_counter(True) is not None

    def corpus_routed_share(self, texts: Sequence[str]) -> float:
        """The share of ``texts``' characters the corpus backend would leave to the
        single-text counter (text in spaceless scripts, Unicode drift); 1.0 where it cannot
        be had. Needs no built backend: decide with it whether building one is worth it."""
        with self._build_lock:
            if not self._corpus_allowed():
                return 1.0
        from tokman.encodings._gigatoken import routed_share

        return routed_share(texts)

    def _corpus_allowed(self) -> bool:
        """``_corpus_possible(name)``, decided once (call with ``_build_lock`` held)."""
        if self._corpus_possible is None:
            self._corpus_possible = _corpus_possible(self.name)
        return self._corpus_possible

    def _corpus_counter(self, corpus: bool | None) -> CorpusCounter | None:
        """The corpus counter if ``corpus`` (and the ``CORPUS_CHARS`` rule) ask for it and it
        can be had, building it on first use."""
        if self._corpus is not None or corpus is False:
            return None if corpus is False else self._corpus
        if not corpus and self._batched < CORPUS_CHARS:
            return None
        with self._build_lock:
            if self._corpus is None and self._corpus_allowed():
                from tokman.encodings._gigatoken import CorpusCounter

                self._corpus = CorpusCounter(
                    self.name, lambda: load_vocabulary(self.name)[0], self._count
                )
        return self._corpus

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, special-token text encoded as plain text."""
        if not isinstance(text, str):
            raise InvalidRequestError("text", text, "expected a str; decode bytes first")
        try:
            return self.tiktoken.encode_ordinary(text)
        except UnicodeEncodeError as exc:
            raise not_utf8("text", text) from exc

    def decode(self, tokens: list[int]) -> str:
        """Text of token ids (invalid UTF-8 replaced, as tiktoken does)."""
        return self.tiktoken.decode(tokens)


def get_encoding(name: str) -> Encoding:
    """The verified encoding called ``name`` (``o200k_base``, ``cl100k_base``, ...).

    Loaded once per process and shared. Raises ``VocabularyNotFoundError`` with every place
    searched when no official copy is available offline.
    """
    if not isinstance(name, str):
        _spec(name)  # raises: not an encoding name
    found = _encodings.get(name)
    if found is not None:
        return found
    with _lock:
        found = _encodings.get(name)
        if found is None:
            spec = _spec(name)
            contents, path = load_vocabulary(name)
            found = _encodings[name] = Encoding(spec, contents, path)
    return found
