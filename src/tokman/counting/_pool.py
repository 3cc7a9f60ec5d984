"""The one place tokman counts in parallel.

bpe-openai's Rust BPE holds the GIL while it counts, so threads do not scale and every
parallel count (``count_stream`` / ``count_file`` pieces, ``count_batch`` batches) goes through
:func:`ordered_map` here: a process pool with a bounded window of tasks in flight, results
yielded in submission order. The corpus backend (gigatoken) releases the GIL, and a process
pool would spend more time pickling texts than it counts them, so corpus batches run on a
thread pool through the same function (``threads=True``). Bounded means memory stays
constant however long the input iterator is; ordered means a caller can zip results back to
its inputs. Each worker process loads an encoding once, on its first task, through
``get_encoding``'s per-process cache.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TypeVar

from tokman.errors import InvalidRequestError

__all__ = ["cpu_count", "ordered_map", "positive", "resolve_workers"]

T = TypeVar("T")
R = TypeVar("R")


def cpu_count() -> int:
    """The cores this process may run on (its affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def positive(field: str, value: object, meaning: str) -> int:
    """``value`` when it is an int >= 1, else the error naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(field, value, f"expected an int >= 1: {meaning}")
    return value


def resolve_workers(workers: object) -> int:
    """The worker processes to use: ``None`` = every core; more than the cores only adds
    start-up cost (the count is CPU-bound), so the result is capped at the core count."""
    if workers is None:
        return cpu_count()
    return min(positive("workers", workers, "the number of worker processes"), cpu_count())


def ordered_map(
    func: Callable[[T], R],
    tasks: Iterable[T],
    workers: int,
    *,
    in_flight: int | None = None,
    threads: bool = False,
) -> Iterator[R]:
    """``map(func, tasks)`` on ``workers`` processes (or threads), at most ``in_flight`` pending.

    On processes, ``func`` and each task must pickle (a module-level function, plain data).
    The default window is two tasks per worker: enough that no worker waits for the next task,
    small enough that memory is a few tasks' worth. Closing the iterator early cancels what has not
    started and waits for the rest, so no process outlives the call.
    """
    window = in_flight if in_flight is not None else 2 * workers
    pending: deque[Future[R]] = deque()
    pool: Executor = (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tokman-count")
        if threads
        else ProcessPoolExecutor(max_workers=workers)
    )
    try:
        for task in tasks:
            pending.append(pool.submit(func, task))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
