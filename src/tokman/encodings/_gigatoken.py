"""The corpus backend: gigatoken's cached BPE, for batches of millions of texts.

gigatoken (the ``tokman[fast]`` extra) pre-tokenizes with SIMD and caches the encoding of each
distinct pre-token, so on prose and code, where words repeat, one core counts 4-6x faster than
bpe-openai's Rust BPE once its cache is warm. It is slower where pre-tokens never repeat (runs
of CJK characters), costs ~0.3 s and ~60 MB to build, and its Unicode tables are newer than
tiktoken's. So tokman uses it only for corpus-scale batches (``Encoding.count_batch`` once a
process has batch-counted ``CORPUS_CHARS`` characters, or when asked), and routes each text:

- ASCII (``str.isascii``, O(1)) and other text goes to gigatoken, except
- a text holding a character of ``_drift.DRIFT_RANGES`` (its Unicode properties differ between
  the engines' tables), which goes to the exact single-text counter (bpe-openai, which matches
  tiktoken on every code point), and
- a text mostly in a script written without spaces (CJK, Thai, ...), whose long pre-tokens
  defeat the cache: it goes to the single-text counter too, which is faster there.

gigatoken 0.10 never bounds its cache, so a long-lived process (a Ray actor, a worker counting a
terabyte) would grow without limit. The counter reads the process's resident memory around
each of its encode calls (the cache only grows inside them, so other allocations of the
process, which come and go, are not counted; concurrent threads may count each other's growth
twice, which only rebuilds sooner) and, past ``CACHE_BUDGET`` bytes of growth since it built
the tokenizer, drops it and builds a fresh one (where resident memory cannot be read, every
``BLIND_REBUILD_CHARS`` characters). A forked worker inherits the tokenizer, and its first
writes copy inherited pages: it starts with that much credit (the build's measured footprint
plus the parent's growth since). Counts never change; only speed dips while the new
cache warms. gigatoken reads a vocabulary only from a path, so it is given the sha256-verified
bytes through a private temporary file, never the file the search found.
"""

from __future__ import annotations

import os
import tempfile
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from tokman.encodings._drift import DRIFT_RANGES

__all__ = [
    "BLIND_REBUILD_CHARS",
    "CACHE_BUDGET",
    "PRETOKENIZERS",
    "CorpusCounter",
    "corpus_backend",
    "route",
    "routed_share",
]

#: tokman encoding -> gigatoken pre-tokenizer with the same pattern (verified by the tests).
PRETOKENIZERS = {"o200k_base": "o200k", "o200k_harmony": "o200k", "cl100k_base": "gpt4"}

CACHE_BUDGET = 128 << 20  # resident growth that makes the counter rebuild its tokenizer
BLIND_REBUILD_CHARS = 1 << 30  # where resident memory cannot be read: rebuild this often
SPACELESS_SHARE = 0.25  # a text with more of its characters in spaceless scripts is routed
SAMPLE_CHARS = 64  # characters sampled from a text to guess its script

_NORMAL, _DRIFT, _SPACELESS = 0, 1, 2
#: Scripts written without spaces between words: their pre-tokens are whole clauses.
_SPACELESS_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x9FFF),  # CJK radicals, punctuation, kana, unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # halfwidth katakana
    (0x20000, 0x3FFFF),  # CJK extensions
)

_table_lock = threading.Lock()
_table: Any = None


def corpus_backend() -> Any | None:
    """gigatoken's ``BPETokenizer`` class, or ``None`` when the extra is not installed."""
    try:
        from gigatoken.gigatoken_rs import BPETokenizer
    except ImportError:
        return None
    return BPETokenizer


def _classes() -> Any:
    """A uint8 class per code point (``_NORMAL``/``_DRIFT``/``_SPACELESS``), built once."""
    global _table
    if _table is None:
        import numpy as np

        with _table_lock:
            if _table is None:
                table = np.zeros(0x110000, dtype=np.uint8)
                for start, end in _SPACELESS_RANGES:
                    table[start : end + 1] = _SPACELESS
                for start, end in DRIFT_RANGES:  # after: a drift character is never routed fast
                    table[start : end + 1] = _DRIFT
                _table = table
    return _table


def _resident_bytes() -> int | None:
    """This process's resident set size (Linux ``/proc``), or ``None`` where unknown."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def route(texts: Sequence[str]) -> tuple[list[int], list[int]]:
    """Indices of ``texts`` for gigatoken and for the single-text counter.

    ASCII texts go to gigatoken at once (``str.isascii`` is O(1)). Of the others, a text whose
    sample of ~64 evenly spaced characters is mostly in spaceless scripts goes to the single
    counter (a guess only decides the engine, never the count, so a sample is enough), and
    every remaining one is scanned whole: one drift character sends it there too.
    """
    wide = [i for i, text in enumerate(texts) if not text.isascii()]
    if not wide:
        return list(range(len(texts))), []
    import numpy as np

    samples = [_sample(texts[i]) for i in wide]
    try:
        sampled = _classes_of(samples)
        spaceless = np.add.reduceat(sampled == _SPACELESS, _starts(samples))
        shares = spaceless / np.fromiter(map(len, samples), dtype=np.int64, count=len(samples))
        candidates = [i for i, share in zip(wide, shares.tolist(), strict=True)
                      if share <= SPACELESS_SHARE]  # fmt: skip
        slow = set(wide) - set(candidates)
        if candidates:
            whole = [texts[i] for i in candidates]
            drift = np.add.reduceat(_classes_of(whole) == _DRIFT, _starts(whole))
            slow.update(i for i, n in zip(candidates, drift.tolist(), strict=True) if n)
    except UnicodeEncodeError:  # a lone surrogate: the single counter names it
        slow = set(wide)
    if not slow:
        return list(range(len(texts))), []
    return [i for i in range(len(texts)) if i not in slow], sorted(slow)


def routed_share(texts: Sequence[str]) -> float:
    """The share of the characters of ``texts`` that :func:`route` leaves to the single-text
    counter (0.0 for no characters)."""
    total = sum(map(len, texts))
    if not total:
        return 0.0
    _, slow = route(texts)
    return sum(len(texts[i]) for i in slow) / total


def _sample(text: str) -> str:
    step = len(text) // SAMPLE_CHARS
    return text[::step] if step > 1 else text


def _classes_of(texts: list[str]) -> Any:
    """The class of every character of ``texts``, concatenated (non-empty texts)."""
    import numpy as np

    joined = "".join(texts).encode("utf-32-le")
    return _classes()[np.frombuffer(joined, dtype=np.uint32)]


def _starts(texts: list[str]) -> Any:
    """Where each text begins in :func:`_classes_of`'s array."""
    import numpy as np

    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return np.concatenate(([0], np.cumsum(lengths)[:-1]))


class CorpusCounter:
    """``counter(texts) -> counts``, exact: gigatoken for most texts, ``single`` for the rest.

    ``vocabulary()`` returns the encoding's verified vocabulary bytes (called again on every
    rebuild); ``single(text)`` is the exact single-text counter (it raises
    ``UnicodeEncodeError`` for a lone surrogate, which the caller maps). Thread-safe.
    """

    def __init__(
        self, encoding: str, vocabulary: Callable[[], bytes], single: Callable[[str], int]
    ) -> None:
        self.encoding = encoding
        self.rebuilds = 0  # times the cache budget made it start over (for tests and stats)
        self._pretokenizer = PRETOKENIZERS[encoding]
        self._vocabulary = vocabulary
        self._single = single
        self._lock = threading.Lock()
        self._grown = 0  # resident growth measured across this tokenizer's encode calls
        self._since_build = 0  # characters counted by it (where growth cannot be measured)
        self._footprint = 0  # resident growth its build caused (copied on write after a fork)
        self._tokenizer: Any = None
        self._build()
        _counters.add(self)

    def _after_fork_in_child(self) -> None:
        """A forked worker inherits the tokenizer: its first writes copy inherited pages, which
        is not cache growth, so the child starts with that much credit (and a fresh lock)."""
        self._lock = threading.Lock()
        self._grown = -(self._footprint + max(self._grown, 0))

    def _build(self) -> None:
        backend = corpus_backend()
        if backend is None:  # pragma: no cover - checked by the caller before constructing
            raise ImportError("gigatoken is not installed")
        self._tokenizer = None  # free the old cache before the new one is allocated
        before = _resident_bytes()
        with tempfile.TemporaryDirectory(prefix="tokman-vocab-") as directory:
            path = os.path.join(directory, f"{self.encoding}.tiktoken")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(self._vocabulary())
            tokenizer = backend.from_tiktoken(path, self._pretokenizer, {})
        tokenizer.encode_batch([""], parallel=False)  # seed its cache (and import awkward) now
        self._tokenizer = tokenizer
        self._grown = self._since_build = 0
        after = _resident_bytes()
        self._footprint = 0 if before is None or after is None else max(0, after - before)

    def __call__(self, texts: Sequence[str]) -> list[int]:
        fast, slow = route(texts)
        counts: list[int] = [0] * len(texts)
        if fast:
            with self._lock:
                tokenizer = self._tokenizer
            batch = list(texts) if len(fast) == len(texts) else [texts[i] for i in fast]
            before = _resident_bytes()
            found = self._encode(tokenizer, batch)
            after = _resident_bytes()
            for i, n in zip(fast, found, strict=True):
                counts[i] = n
            grown = None if before is None or after is None else max(0, after - before)
            self._account(sum(map(len, batch)), grown)
        for i in slow:
            counts[i] = self._single(texts[i])
        return counts

    @staticmethod
    def _encode(tokenizer: Any, texts: list[str]) -> list[int]:
        import numpy as np

        encoded = tokenizer.encode_batch(texts, parallel=False)  # this thread, GIL released
        counts: list[int] = np.diff(np.asarray(encoded.layout.offsets)).tolist()
        del encoded  # freed before the caller reads resident memory: not cache growth
        return counts

    def _account(self, chars: int, grown: int | None) -> None:
        """Rebuild once the encode calls have grown the process by ``CACHE_BUDGET`` (or, where
        that cannot be read, counted ``BLIND_REBUILD_CHARS``) since the last build."""
        with self._lock:
            self._since_build += chars
            if grown is None:
                if self._since_build < BLIND_REBUILD_CHARS:
                    return
            else:
                self._grown += grown
                if self._grown <= CACHE_BUDGET:
                    return
            self.rebuilds += 1
            self._build()


_counters: weakref.WeakSet[CorpusCounter] = weakref.WeakSet()


def _reset_in_child() -> None:
    for counter in list(_counters):
        counter._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_reset_in_child)
