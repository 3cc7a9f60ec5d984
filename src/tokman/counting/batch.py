"""Exact counts of many texts: ``count_batch`` / ``iter_count_batch``, on every core.

Each result equals ``count(text)`` for its text (special-token text is plain text), in input
order. Texts are grouped into batches (a few thousand texts or ~256K characters), and batches
go to worker processes through ``_pool.ordered_map``, at most two per worker in flight, so a
generator far larger than memory streams through in constant memory. The worker processes
are forked on the first such call and kept warm for the next ones (``_pool.IDLE_SECONDS``);
starting them costs milliseconds to tens of milliseconds, so an input that ends within the
first ~1M characters is counted in this process: a short call is never slower than a loop
over ``count``. Once a process has batch-counted ``CORPUS_CHARS`` (16M characters, in one
call or in many) it is counting a corpus: the rest is counted with the corpus backend
(gigatoken, from ``tokman[fast]``, routed and verified in ``encodings/_gigatoken.py``), built
once per process.

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
from tokman.encodings import CORPUS_CHARS, Encoding, get_encoding
from tokman.errors import InvalidRequestError

__all__ = ["check_texts", "count_batch", "iter_count_batch", "iter_counts", "text_batches"]

BATCH_TEXTS = 4096  # texts per batch handed to a worker
BATCH_CHARS = 1 << 18  # ... or fewer, once they hold this many characters
INLINE_CHARS = 1 << 20  # an input that ends within this many characters is counted here
ROUTED_FOR_PROCESSES = 0.03  # corpus share left to bpe-openai that keeps a corpus on processes
MOSTLY_ROUTED = 0.9  # ... and that makes building the corpus backend not worth it
ROUTING_SAMPLE = 256  # texts per look-ahead batch that decide a segment's route

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
    worker, is counted in this process. A longer one is counted on the pool, routed (see
    :func:`_route`) by each look-ahead of ``INLINE_CHARS``, so a corpus whose language changes
    along the way (sorted or partitioned by language) is counted the fast way in every part.
    """
    pending = iter(batches)
    head, ended = _look_ahead(pending, INLINE_CHARS)
    if ended or workers <= 1:
        enc = get_encoding(name)
        start = 0
        for batch in itertools.chain(head, pending):  # the encoding's rule picks its backend
            yield from _result(_count_batch_with(enc, batch, None), batch, start, field)
            start += len(batch)
        return
    # Load here: a bad vocabulary fails before any worker starts, and workers forked from this
    # process share its tables instead of each parsing its own copy.
    enc = get_encoding(name)
    start = 0
    route = _route(enc, head)
    while head:
        segment = _Segment(pending, head, enc, route)
        for count in _pooled(name, segment, workers, route[0], start, field, threads=route[1]):
            start += 1
            yield count
        head, route = segment.next_head, segment.next_route


Route: TypeAlias = tuple[bool, bool]  # (corpus backend, on threads)


def _route(enc: Encoding, head: list[Batch]) -> Route:
    """How to count the texts that start with ``head``.

    The corpus backend (built here once per process, so forked workers inherit it) is worth
    it once this process has batch-counted ``CORPUS_CHARS`` (``enc.batched_chars``: in this
    call or in earlier ones), unless it would leave nearly all the text to bpe-openai (CJK,
    Thai): such text runs on processes without it, and it is not built for it. Up to
    ``CORPUS_CHARS``, the single-text counters, on processes. The backend releases the GIL, so
    its batches run on threads with nothing pickled; text of which it leaves 3% or more to
    bpe-openai (that holds the GIL, and costs ~10x more per character) runs on processes,
    which use it for the rest of their texts. (Unseen prose with CJK documents mixed in, 2
    cores, median of 4: pure prose 76 MB/s on threads vs 68 on processes; a 1.3% share 66 vs
    61; 3.9%: 43 vs 50; 12%: 32 vs 49.)
    """
    share = enc.corpus_routed_share(_sample_texts(head))
    if share >= MOSTLY_ROUTED or (not enc.corpus_ready and enc.batched_chars < CORPUS_CHARS):
        return False, False
    if not enc.prepare_corpus():
        return False, False
    return True, share < ROUTED_FOR_PROCESSES


class _Segment:
    """The batches of ``pending``, from ``head`` on, for as long as each next look-ahead of
    ``INLINE_CHARS`` routes as ``head`` did: a corpus whose language changes (one sorted or
    partitioned by language) switches between threads and processes where it changes, and a
    corpus that does not runs as one stream. ``next_head`` is the look-ahead that routed
    differently (empty at the end of the input), ``next_route`` its route. What it gives to
    the single-text counters counts toward ``enc.batched_chars``."""

    def __init__(
        self, pending: Iterator[Batch], head: list[Batch], enc: Encoding, route: Route
    ) -> None:
        self._pending, self._enc, self._route = pending, enc, route
        self.next_head = head
        self.next_route = route

    def __iter__(self) -> Iterator[Batch]:
        single = not self._route[0]
        while self.next_head:
            head, self.next_head = self.next_head, []
            for batch in head:
                yield batch
                if single:
                    self._enc.add_batched(_size(batch))
            self.next_head = _look_ahead(self._pending, INLINE_CHARS)[0]
            if self.next_head:
                self.next_route = _route(self._enc, self.next_head)
                if self.next_route != self._route:
                    return


def _sample_texts(head: list[Batch]) -> list[str]:
    """Up to ``ROUTING_SAMPLE`` texts from each batch of ``head``: enough to route a segment,
    without decoding a whole Arrow batch in this process."""
    return [
        text
        for batch in head
        for text in (batch[:ROUTING_SAMPLE] if isinstance(batch, list) else
                     batch.slice(0, ROUTING_SAMPLE).to_pylist())
    ]  # fmt: skip


def _look_ahead(batches: Iterator[Batch], chars: int) -> tuple[list[Batch], bool]:
    """The next batches until they hold ``chars`` characters, and whether the input ended
    before that."""
    head: list[Batch] = []
    size = 0
    for batch in batches:
        head.append(batch)
        size += _size(batch)
        if size >= chars:
            return head, False
    return head, True


def _pooled(
    name: str,
    batches: Iterable[Batch],
    workers: int,
    corpus: bool | None,
    start: int,
    field: str,
    *,
    threads: bool = False,
) -> Iterator[int]:
    """Counts of ``batches`` from one pool of ``workers`` processes (or threads); ``start`` is
    the index of their first text in the whole input (for errors)."""
    held: deque[Batch] = deque()  # the batches in flight, to name a text a worker could not encode
    tasks = _holding(((name, batch, corpus) for batch in batches), held)
    # Workers forked before this process built its corpus backend would each build their own
    # (~0.5 s and ~60 MB apiece): a pool forked since is one that shares this one's.
    fork_key = ("corpus", name) if get_encoding(name).corpus_ready else None
    for result in ordered_map(_count_task, tasks, workers, threads=threads, fork_key=fork_key):
        batch = held.popleft()
        yield from _result(result, batch, start, field)
        start += len(batch)


Task: TypeAlias = tuple[str, Batch, "bool | None"]


def _holding(tasks: Iterator[Task], held: deque[Batch]) -> Iterator[Task]:
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


def _count_task(task: Task) -> list[int] | int:
    """Worker side: count one batch with this process's (cached) encoding."""
    name, batch, corpus = task
    return _count_batch_with(get_encoding(name), batch, corpus)


def _texts_of(batch: Batch) -> list[str]:
    return batch if isinstance(batch, list) else batch.to_pylist()


def _count_batch_with(enc: Encoding, batch: Batch, corpus: bool | None) -> list[int] | int:
    """Counts of the batch, or the index of its first text that is not valid UTF-8."""
    texts: Sequence[str] = _texts_of(batch)
    try:
        return enc.count_batch(texts, corpus=corpus)
    except InvalidRequestError:
        for i, text in enumerate(texts):
            try:
                enc.count(text)
            except InvalidRequestError:
                return i
        raise  # pragma: no cover - the batch failed as a whole but no text alone does
