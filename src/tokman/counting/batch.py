"""Exact counts of many texts: ``count_batch`` / ``iter_count_batch``, on every core.

Each result equals ``count(text)`` for its text (special-token text is plain text), in input
order. Texts are grouped into batches (a few thousand texts or ~256K characters), and batches
go to worker processes through ``_pool.ordered_map``, at most two per worker in flight, so a
generator far larger than memory streams through in constant memory. A process pool costs a
few milliseconds to start (tens more in each worker that loads the vocabulary itself), so an
input that ends within the first ~1M characters is counted in this process: a short call is
never slower than a loop over ``count``.

Batches are either ``list[str]`` or a compacted ``pyarrow`` string array slice (from
``count_column``): the Arrow form pickles as two buffers and is decoded in the worker, so the
calling process never turns a column into Python strings.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias

from tokman._args import not_utf8
from tokman.counting._pool import ordered_map, resolve_workers
from tokman.counting.text import resolve_encoding_name
from tokman.encodings import Encoding, get_encoding
from tokman.errors import InvalidRequestError

__all__ = ["check_texts", "count_batch", "iter_count_batch", "iter_counts", "text_batches"]

BATCH_TEXTS = 4096  # texts per batch handed to a worker
BATCH_CHARS = 1 << 18  # ... or fewer, once they hold this many characters
INLINE_CHARS = 1 << 20  # an input that ends within this many characters is counted here

#: A batch as a worker receives it: ``list[str]``, or a ``pyarrow`` string array (typed
#: loosely so that this module never imports pyarrow).
Batch: TypeAlias = Any


def count_batch(
    texts: Iterable[str],
    *,
    model: str | None = None,
    encoding: str | None = None,
    workers: int | None = None,
) -> list[int]:
    """The exact token count of each text, in order: ``[count(t) for t in texts]``, faster.

    >>> count_batch(["hello world", "<|endoftext|>", ""], model="gpt-4o")
    [2, 7, 0]

    ``texts`` may be any iterable of ``str`` (a list, a generator, a file's lines); ``workers``
    processes count it (default: every core), each loading the vocabulary once. Use
    :func:`iter_count_batch` when the input does not fit in memory: this function holds one
    ``int`` per text.

    Raises:
        InvalidRequestError: ``texts`` is not an iterable of texts (a ``str``, ``bytes`` or a
            mapping is refused); ``texts[i]`` is not a ``str`` or holds a lone surrogate;
            ``workers`` is not an int >= 1; bad ``model``/``encoding``.
        UnknownModelError: the model is unknown.
    """
    return list(iter_count_batch(texts, model=model, encoding=encoding, workers=workers))


def iter_count_batch(
    texts: Iterable[str],
    *,
    model: str | None = None,
    encoding: str | None = None,
    workers: int | None = None,
) -> Iterator[int]:
    """Stream the exact token count of each text, in order, in bounded memory.

    Arguments are checked now, the texts as they are read. At most ``2 * workers`` batches
    are in flight, so memory stays constant however many texts the iterable yields.

    >>> list(iter_count_batch(iter(["a b", "c"]), encoding="o200k_base"))
    [2, 1]

    Raises:
        The errors of :func:`count_batch`, the per-text ones when that text is reached.
    """
    name = resolve_encoding_name(model, encoding)
    n_workers = resolve_workers(workers)
    check_texts("texts", texts)
    return iter_counts(name, text_batches(texts, "texts"), n_workers, "texts")


def check_texts(field: str, texts: object) -> None:
    """Refuse what is not an iterable of texts (one ``str``, bytes, a mapping), naming ``field``."""
    if isinstance(texts, (str, bytes, bytearray, Mapping)) or not isinstance(texts, Iterable):
        raise InvalidRequestError(
            field,
            texts,
            "expected an iterable of str texts (a list, a generator, a file's lines); "
            "for one text use tokman.count()",
        )


def text_batches(texts: Iterable[object], field: str) -> Iterator[list[str]]:
    """Group texts into batches, checking each is a ``str`` (the error names its index)."""
    batch: list[str] = []
    chars = 0
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidRequestError(
                f"{field}[{i}]", text, "expected a str; decode bytes first, fill or drop nulls"
            )
        batch.append(text)
        chars += len(text)
        if len(batch) >= BATCH_TEXTS or chars >= BATCH_CHARS:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _size(batch: Batch) -> int:
    """Characters (list) or UTF-8 bytes (Arrow) in a batch: what it costs to count."""
    if isinstance(batch, list):
        return sum(map(len, batch))
    return int(batch.nbytes)


def iter_counts(name: str, batches: Iterator[Batch], workers: int, field: str) -> Iterator[int]:
    """Counts of every text of ``batches`` (encoding ``name``), in order; ``field`` names a
    text that cannot be encoded (``texts[i]``, ``column[i]``) in the error.

    Looks ahead up to ``INLINE_CHARS`` before choosing: an input that ends there, or one
    worker, is counted in this process.
    """
    head: list[Batch] = []
    size = 0
    for batch in batches:
        head.append(batch)
        size += _size(batch)
        if size >= INLINE_CHARS:
            break
    else:
        workers = 1  # the whole input is in ``head``: not worth a pool
    every = itertools.chain(head, batches)
    if workers <= 1:
        enc = get_encoding(name)
        start = 0
        for batch in every:
            yield from _result(_count_batch_with(enc, batch), batch, start, field)
            start += len(batch)
        return
    # Load here: a bad vocabulary fails before any worker starts, and workers forked from this
    # process share its tables instead of each parsing its own copy.
    get_encoding(name)
    held: deque[Batch] = deque()  # the batches in flight, to name a text a worker could not encode
    start = 0
    tasks = _holding(((name, batch) for batch in every), held)
    for result in ordered_map(_count_task, tasks, workers):
        batch = held.popleft()
        yield from _result(result, batch, start, field)
        start += len(batch)


def _holding(tasks: Iterator[tuple[str, Batch]], held: deque[Batch]) -> Iterator[tuple[str, Batch]]:
    """Pass tasks on, remembering each batch until its result is taken."""
    for task in tasks:
        held.append(task[1])
        yield task


def _result(result: list[int] | int, batch: Batch, start: int, field: str) -> list[int]:
    """A worker's counts, or the error for the text it could not encode (an index)."""
    if isinstance(result, list):
        return result
    text = batch[result] if isinstance(batch, list) else batch[result].as_py()
    raise not_utf8(f"{field}[{start + result}]", text)


def _count_task(task: tuple[str, Batch]) -> list[int] | int:
    """Worker side: count one batch with this process's (cached) encoding."""
    name, batch = task
    return _count_batch_with(get_encoding(name), batch)


def _count_batch_with(enc: Encoding, batch: Batch) -> list[int] | int:
    """Counts of the batch, or the index of its first text that is not valid UTF-8."""
    texts: Sequence[str] = batch if isinstance(batch, list) else batch.to_pylist()
    try:
        return list(map(enc.count, texts))
    except InvalidRequestError:
        for i, text in enumerate(texts):
            try:
                enc.count(text)
            except InvalidRequestError:
                return i
        raise  # pragma: no cover - the batch failed as a whole but no text alone does
