"""A bounded, per-manager memory of token counts that holds neither the manager nor the text.

The seed put ``functools.lru_cache`` on a method: the cache lived on the class, so it held every
``TokenManager`` ever used (``self`` is part of the key) and up to 1,024 whole prompts each. Here
each manager owns its cache (it goes when the manager goes), and an entry is keyed by a 128-bit
BLAKE2b digest of the text, so a cached megabyte prompt costs a few dozen bytes, not a copy.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

__all__ = ["CountCache", "text_key"]


def text_key(text: str) -> bytes:
    """The cache key of ``text`` (``surrogatepass``: a lone surrogate still gets a key, and the
    count then raises the error that names it)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class CountCache:
    """Least-recently-used ``key -> count`` with at most ``maxsize`` entries (0 disables it)."""

    __slots__ = ("_entries", "_lock", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[bytes, int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> int | None:
        """The count remembered for ``key``, marking it recently used; ``None`` if absent."""
        with self._lock:
            count = self._entries.get(key)
            if count is not None:
                self._entries.move_to_end(key)
            return count

    def put(self, key: bytes, count: int) -> None:
        """Remember ``count``, forgetting the least recently used entry when full."""
        if not self.maxsize:
            return
        with self._lock:
            self._entries[key] = count
            self._entries.move_to_end(key)
            if len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every count."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
