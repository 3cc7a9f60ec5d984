"""The in-process backend (``memory://``): a `WindowLog` per name, behind a lock.

Every limiter of this process with the same name shares one log (threads, and async tasks of
any event loop); other processes cannot see it: use Redis to share a quota between processes.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from tokman.ratelimit._core import Decision, WindowLog
from tokman.ratelimit._quota import Quota

__all__ = ["MemoryBackend"]

_SHARED: weakref.WeakValueDictionary[str, _Shared] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


class _Shared:
    __slots__ = ("__weakref__", "lock", "log")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.log = WindowLog()


class MemoryBackend:
    """The decision core in this process's memory; ``now`` (µs) must be given to every call."""

    uses_server_time = False

    def __init__(self, name: str) -> None:
        with _SHARED_LOCK:
            shared = _SHARED.get(name)
            if shared is None:
                shared = _SHARED[name] = _Shared()
        self._shared = shared  # keeps it alive while a limiter uses it
        self.url = "memory://"

    def reserve(
        self, key: str, tokens: int, waiter: str | None, quota: Quota, now: int | None
    ) -> Decision:
        assert now is not None
        tpm, request_limit, token_window, request_window = quota.script_args  # computed once
        shared = self._shared
        with shared.lock:
            return shared.log.reserve(
                now, key, tokens, tpm, request_limit, token_window, request_window, waiter
            )

    def settle(self, key: str, held: int, tokens: int, quota: Quota, now: int | None) -> bool:
        """Settle ``key`` (``held``: its current tokens, which the Redis script needs)."""
        assert now is not None
        _, _, token_window, request_window = quota.script_args
        shared = self._shared
        with shared.lock:
            return shared.log.settle(key, tokens, now, token_window, request_window)

    def release(self, key: str, held: int, quota: Quota, now: int | None) -> bool:
        """Release ``key`` (``held``: its current tokens, which the Redis script needs)."""
        assert now is not None
        _, _, token_window, request_window = quota.script_args
        with self._shared.lock:
            return self._shared.log.release(key, now, token_window, request_window)

    def unclaim(self, waiter: str, quota: Quota, now: int | None) -> None:
        with self._shared.lock:
            self._shared.log.unclaim(waiter)

    def pause(self, seconds_us: int, quota: Quota, now: int | None) -> None:
        assert now is not None
        with self._shared.lock:
            self._shared.log.pause(now + seconds_us)

    def lower(self, key: str, remaining: int, quota: Quota, now: int | None) -> int:
        assert now is not None
        tpm, _, token_window, request_window = quota.script_args
        with self._shared.lock:
            return self._shared.log.lower(now, key, remaining, tpm, token_window, request_window)

    def usage(self, quota: Quota, now: int | None) -> tuple[int, int]:
        assert now is not None
        _, _, token_window, request_window = quota.script_args
        with self._shared.lock:
            return self._shared.log.usage(now, token_window, request_window)

    def close(self) -> None:
        """Nothing to close."""


class AsyncMemoryBackend:
    """`MemoryBackend`'s coroutine face (every call is a few dict operations: no hand-off)."""

    uses_server_time = False

    def __init__(self, name: str) -> None:
        self._sync = MemoryBackend(name)
        self.url = "memory://"

    async def reserve(self, *args: Any) -> Decision:
        return self._sync.reserve(*args)

    async def settle(self, *args: Any) -> bool:
        return self._sync.settle(*args)

    async def release(self, *args: Any) -> bool:
        return self._sync.release(*args)

    async def unclaim(self, *args: Any) -> None:
        self._sync.unclaim(*args)

    async def pause(self, *args: Any) -> None:
        self._sync.pause(*args)

    async def lower(self, *args: Any) -> int:
        return self._sync.lower(*args)

    async def usage(self, *args: Any) -> tuple[int, int]:
        return self._sync.usage(*args)

    async def close(self) -> None:
        """Nothing to close."""
