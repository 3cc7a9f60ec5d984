"""The one place tokman counts in parallel.

bpe-openai's Rust BPE holds the GIL while it counts, so threads do not scale and every
parallel count (``count_stream`` / ``count_file`` pieces, ``count_batch`` batches) goes through
:func:`ordered_map` here: a process pool with a bounded window of tasks in flight, results
yielded in submission order. The corpus backend (gigatoken) releases the GIL, and a process
pool would spend more time pickling texts than it counts them, so corpus batches run on a
thread pool through the same function (``threads=True``). Bounded means memory stays
constant however long the input iterator is; ordered means a caller can zip results back to
its inputs. Each worker process loads an encoding once, through ``get_encoding``'s
per-process cache.

The process pool is kept warm between calls (like joblib's reusable executor): forking a
process of a few hundred MB, and the copy-on-write faults that follow in both processes,
cost ~25 ms and a third of the parent's CPU time in each call, which on a 50 ms call was most
of the overhead. A pool unused for ``IDLE_SECONDS`` shuts down, as does one whose workers no
longer match this process: another worker count, another ``encodings.loading_state()``
(``configure(vocab_dir=...)`` or the environment changed since the workers were forked), or
another ``fork_key`` (what a caller needs the workers to have inherited, such as a corpus
backend built since; a call that needs nothing, ``fork_key=None``, takes any warm pool).
An idle pool is ended before this process forks (so no thread of it crosses a fork), and
one that a child inherits anyway (forked mid-call) is never used by it.
:func:`shutdown_workers` ends the pool now.
"""

from __future__ import annotations

import multiprocessing.util
import os
import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from tokman.encodings import loading_state
from tokman.errors import InvalidRequestError

__all__ = [
    "IDLE_SECONDS",
    "cpu_count",
    "ordered_map",
    "positive",
    "resolve_workers",
    "shutdown_workers",
]

T = TypeVar("T")
R = TypeVar("R")

IDLE_SECONDS = 30.0  # a warm process pool unused this long shuts down


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
    fork_key: Hashable = None,
) -> Iterator[R]:
    """``map(func, tasks)`` on ``workers`` processes (or threads), at most ``in_flight`` pending.

    On processes, ``func`` and each task must pickle (a module-level function, plain data);
    they run on the warm pool, replaced first if it was forked with another ``fork_key``
    (``None``: the workers need to have inherited nothing; any warm pool will do).
    The default window is two tasks per worker: enough that no worker waits for the next task,
    small enough that memory is a few tasks' worth. Closing the iterator early cancels what
    has not started; a thread pool is also waited for, so no thread outlives the call.
    """
    window = in_flight if in_flight is not None else 2 * workers
    if threads:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tokman-count")
        try:
            yield from _windowed(pool, func, tasks, window)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    warm = _acquire(workers, loading_state(), fork_key)
    try:
        yield from _windowed(warm.executor, func, tasks, window)
    except BrokenProcessPool:
        warm.retired = True  # a worker died (killed, out of memory): the next call forks anew
        raise
    finally:
        _release(warm)


def _windowed(
    pool: Executor, func: Callable[[T], R], tasks: Iterable[T], window: int
) -> Iterator[R]:
    pending: deque[Future[R]] = deque()
    try:
        for task in tasks:
            pending.append(pool.submit(func, task))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def shutdown_workers() -> None:
    """End the warm worker processes now (they otherwise end ``IDLE_SECONDS`` after the last
    parallel count); a call still counting on them keeps them until it ends.

    >>> shutdown_workers()
    """
    global _warm
    with _lock:
        warm, _warm = _warm, None
        if warm is None:
            return
        warm.retired = True
        warm.cancel_timer()
        idle = warm.leases == 0
    if idle:
        warm.executor.shutdown(wait=True, cancel_futures=True)


class _WarmPool:
    """A process pool, what it was forked with, and the calls using it (leases)."""

    def __init__(self, workers: int, state: Hashable, fork_key: Hashable) -> None:
        _end_before_exit()
        self.workers, self.state, self.fork_key = workers, state, fork_key
        self.executor = ProcessPoolExecutor(max_workers=workers)
        self.leases = 0
        self.retired = False
        self.timer: threading.Timer | None = None

    def serves(self, workers: int, state: Hashable, fork_key: Hashable) -> bool:
        return (
            not self.retired
            and (self.workers, self.state) == (workers, state)
            and (fork_key is None or fork_key == self.fork_key)
        )

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


_lock = threading.Lock()
_warm: _WarmPool | None = None
_inherited: list[_WarmPool] = []  # pools a forked child must neither use nor let be collected
_finalizer_pid: int | None = None  # the process that registered _end_before_exit's finalizer
_starting = False  # set while this process forks a warm pool's own workers


def _end_before_exit() -> None:
    """Make this process end its warm pool before it exits, once per process.

    An interpreter's own exit shuts executors down, but a ``multiprocessing`` child exits by
    joining its child processes first, which would wait forever for warm workers: its exit
    runs ``multiprocessing``'s finalizers before that join, so the pool ends there.
    """
    global _finalizer_pid
    if _finalizer_pid != os.getpid():
        _finalizer_pid = os.getpid()
        multiprocessing.util.Finalize(None, shutdown_workers, exitpriority=100)


def _acquire(workers: int, state: Hashable, fork_key: Hashable) -> _WarmPool:
    """A warm pool that serves the call (forking one, and retiring any other), leased."""
    global _warm
    with _lock:
        warm = _warm
        if warm is not None and not warm.serves(workers, state, fork_key):
            warm.retired = True
            warm.cancel_timer()
            if warm.leases == 0:  # idle: its workers exit now, before the new pool forks any
                warm.executor.shutdown(wait=True, cancel_futures=True)
            warm = _warm = None
        if warm is None:
            warm = _WarmPool(workers, state, fork_key)
            try:
                _start(warm)
            except BaseException:  # could not fork (a process limit, out of memory): no pool
                warm.executor.shutdown(wait=False, cancel_futures=True)
                raise
            _warm = warm
        warm.leases += 1
        warm.cancel_timer()
    return warm


def _start(warm: _WarmPool) -> None:
    """Fork the pool's workers now (a no-op task), telling :func:`_before_fork` that these
    forks are the pool's own."""
    global _starting
    _starting = True
    try:
        warm.executor.submit(int).result()
    finally:
        _starting = False


def _release(warm: _WarmPool) -> None:
    """Return a lease: the last one starts the idle timer, or shuts a retired pool down."""
    global _warm
    with _lock:
        warm.leases -= 1
        if warm.leases:
            return
        if not warm.retired:
            warm.timer = threading.Timer(IDLE_SECONDS, _expire, (warm,))
            warm.timer.name = "tokman-pool-idle"
            warm.timer.daemon = True
            warm.timer.start()
            return
        if _warm is warm:
            _warm = None
    warm.executor.shutdown(wait=False, cancel_futures=True)


def _expire(warm: _WarmPool) -> None:
    """The idle timer: shut the pool down unless a call leased it meanwhile."""
    global _warm
    with _lock:
        if warm.leases or warm.retired:
            return
        warm.retired = True
        if _warm is warm:
            _warm = None
    warm.executor.shutdown(wait=True)


def _before_fork() -> None:
    """Before this process forks (``multiprocessing``, ``os.fork``), end an idle warm pool.

    Its manager thread and pipes would otherwise cross the fork: CPython 3.12+ warns that
    forking a multi-threaded process may deadlock the child, and the child could only ignore
    them. A pool that a call is using is left alone (forking then is the application's risk,
    as it was before pools were kept), and so are the forks that start a pool's own workers.
    """
    global _warm
    if _starting:
        return
    with _lock:
        warm = _warm
        if warm is None or warm.leases:
            return
        _warm = None
        warm.retired = True
        warm.cancel_timer()
    warm.executor.shutdown(wait=True, cancel_futures=True)


def _forget_in_child() -> None:
    """After fork, in the child: the parent's pool, its threads and lock are not ours."""
    global _warm, _lock
    if _warm is not None:
        _inherited.append(_warm)
    _warm = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_forget_in_child)
