"""Running what a caller hands back (a value or an awaitable) from sync or async code.

The seed scheduled its metrics coroutine with ``asyncio.create_task`` from a sync method: that
fails outside a running event loop, and inside one the task was referenced by nobody (the loop
keeps only weak references, so it could vanish mid-flight) and its errors were never
retrieved. Here an awaitable is always run to completion, wherever ``track_request`` is called:

* in a thread that runs an event loop: a task on that loop, strongly referenced until it ends;
* in another thread, while the loop the manager last saw is running: handed to that loop with
  ``run_coroutine_threadsafe`` (the collector's own locks and queues belong to it);
* otherwise (plain sync code): ``asyncio.run`` in the calling thread, which returns when the
  collector has finished.

A failure is logged (never raised into the call that tracked usage); ``flush()`` awaits what was
scheduled on the running loop, so a test or a shutdown hook can wait for the last metrics.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import weakref
from collections.abc import Awaitable
from typing import Any

__all__ = ["Dispatcher"]

_log = logging.getLogger("tokman.compat")

#: strong references to every task still running, whoever scheduled it: the event loop holds
#: tasks weakly, and a manager may be dropped while its last metrics are still being sent.
_RUNNING: set[asyncio.Task[None]] = set()
_RUNNING_LOCK = threading.Lock()


class Dispatcher:
    """Runs the awaitables one manager produces; see the module docstring for where."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._home: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._mine: weakref.WeakSet[asyncio.Task[None]] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._failed = False
        self.remember_loop()

    def remember_loop(self) -> None:
        """Note the running loop (if any) as the one to hand awaitables to from other threads."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        with self._lock:
            self._home = weakref.ref(loop)

    def run(self, result: Any) -> None:
        """Complete ``result`` if it is awaitable; a plain value needs nothing."""
        if not inspect.isawaitable(result):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self._start(loop, result)
            return
        with self._lock:
            home = self._home() if self._home is not None else None
        if home is not None and home.is_running() and not home.is_closed():
            asyncio.run_coroutine_threadsafe(self._guarded(result), home)
            return
        asyncio.run(self._guarded(result))

    def _start(self, loop: asyncio.AbstractEventLoop, result: Awaitable[Any]) -> None:
        with self._lock:
            self._home = weakref.ref(loop)
        task = loop.create_task(self._guarded(result))
        self._keep(task)

    def _keep(self, task: asyncio.Task[None]) -> None:
        with _RUNNING_LOCK:
            _RUNNING.add(task)
        self._mine.add(task)
        task.add_done_callback(_release)

    async def _guarded(self, result: Awaitable[Any]) -> None:
        task = asyncio.current_task()
        if task is not None and task not in self._mine:  # handed over from another thread
            self._keep(task)
        try:
            await result
        except Exception:
            with self._lock:
                first, self._failed = not self._failed, True
            _log.log(
                logging.ERROR if first else logging.DEBUG,
                "%s failed to record token usage%s",
                self._what,
                "; its later failures are logged at DEBUG" if first else " (again)",
                exc_info=True,
            )

    async def flush(self) -> None:
        """Wait for every awaitable this dispatcher scheduled on the running loop."""
        loop = asyncio.get_running_loop()
        while True:
            # one turn of the loop first: work handed over from another thread starts (and
            # registers itself) on the loop's next iteration
            await asyncio.sleep(0)
            pending = [t for t in list(self._mine) if not t.done() and t.get_loop() is loop]
            if not pending:
                return
            await asyncio.gather(*pending)


def _release(task: asyncio.Task[None]) -> None:
    with _RUNNING_LOCK:
        _RUNNING.discard(task)
