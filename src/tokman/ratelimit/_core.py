"""The sans-I/O decision core of the rate limiter: one sliding-window log, pure and exact.

Every backend makes exactly these decisions: `WindowLog` *is* the memory backend's state, and
the Redis backend's Lua script (``_redis.LUA``) is a line-by-line mirror of it on Redis data
structures (a differential test drives both with the same operations and clock readings and
compares every answer). The script only skips work whose answer it already knows: it counts
the request window when its count of all entries (an upper bound) leaves no room.

Nothing here reads a clock, sleeps or does I/O: time comes in as an argument, in integer
microseconds, so memory and Redis compute with the same integers.

The model (Azure's: a request is charged its *estimate* when it arrives; RPM is checked over a
short window):

* **Entries.** A reservation is one entry ``(id, time, tokens, counts_as_request)``. The token
  limit holds over every ``token_window`` (60 s): the tokens of the entries younger than the
  window never exceed ``tpm``. The request limit holds over every ``request_window`` (10 s):
  the entries that count as requests and are younger than that window never exceed
  `request_limit`. Memory is O(entries in the window), never O(tokens).
* **All or nothing.** A reservation is admitted only if it fits *both* limits; nothing is
  written otherwise.
* **Settle** replaces an entry's tokens and keeps its time, so a refund (or an overrun) lands in
  the window where the tokens were reserved, not in the current one. **Release** removes the
  entry (its tokens and its request). An entry nobody settles or releases (a crashed holder)
  simply ages out of the window.
* **Pause.** ``pause(until)`` (a 429 seen by any process) admits nothing before ``until``.
* **Lowering.** ``lower(remaining)`` (the server says fewer tokens remain than this log thinks)
  adds an entry of the difference that counts as no request; it ages out like any other.
* **Anti-starvation claim.** A blocking waiter that was refused places a *claim* (its id, its
  tokens, an expiry) when no other claim is live. While a claim is live every *other*
  reservation must leave room for it (its tokens and one request), so a stream of small
  requests cannot starve a large one: the windows drain until the claimant fits. The claim is
  dropped when its owner is admitted, and lapses at its expiry (the owner's next retry time
  plus `CLAIM_GRACE_US`), so a waiter that gave up or crashed blocks nobody for long. One claim
  at a time: the oldest refused waiter holds it; the others wait behind it in retry order.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

__all__ = ["CLAIM_GRACE_US", "Decision", "WindowLog"]

#: How long past its owner's announced retry time a claim stays live (µs): the owner must come
#: back within this time or lose its claim (a crashed or cancelled waiter).
CLAIM_GRACE_US = 2_000_000


class Decision(NamedTuple):
    """The answer to a reservation: admitted at ``time`` (µs), or wait ``retry_after_us``.

    A named tuple (immutable, compared by value) rather than a frozen dataclass: one is made
    for every admission, and a tuple is built several times faster."""

    admitted: bool
    time: int  #: the decision's clock reading (the entry's time when admitted), µs
    retry_after_us: int = 0  #: when refused: µs until the reservation would fit (>= 1)


class WindowLog:
    """One quota's state: the entries in the token window, the pause and the claim.

    Limits are passed to each call (``tpm``, ``request_limit``, window lengths in µs) instead of
    being stored, exactly as the Lua script receives them, so a quota can be changed between
    calls. Not thread-safe: the memory backend holds a lock around every call.
    """

    __slots__ = (
        "_requests",
        "_times",
        "claim_id",
        "claim_tokens",
        "claim_until",
        "entries",
        "paused_until",
        "request_ids",
        "used",
    )

    def __init__(self) -> None:
        self.entries: dict[str, list[int]] = {}  # id -> [time, tokens]
        self._times: deque[tuple[int, str]] = deque()  # (time, id) in time order, lazily cleaned
        self._requests: deque[tuple[int, str]] = deque()  # entries that count as requests
        self.request_ids: set[str] = set()  # live ids in _requests (within the request window)
        self.used = 0  # tokens of the live entries
        self.paused_until = 0
        self.claim_id: str | None = None
        self.claim_tokens = 0
        self.claim_until = 0

    # -- window maintenance -----------------------------------------------------------------

    def prune(self, now: int, token_window: int, request_window: int) -> None:
        """Drop the entries at or before ``now - window`` (they are out of the window)."""
        cutoff = now - token_window
        while self._times and self._times[0][0] <= cutoff:
            _, key = self._times.popleft()
            entry = self.entries.pop(key, None)
            if entry is not None:
                self.used -= entry[1]
        cutoff = now - request_window
        while self._requests and self._requests[0][0] <= cutoff:
            self.request_ids.discard(self._requests.popleft()[1])
        if self.claim_id is not None and self.claim_until <= now:
            self.claim_id, self.claim_tokens, self.claim_until = None, 0, 0

    def _token_wait(self, now: int, need: int, token_window: int) -> int:
        """µs until entries holding ``need`` tokens have aged out (oldest first)."""
        freed = 0
        for time, key in self._times:
            entry = self.entries.get(key)
            if entry is None or entry[0] != time:
                continue
            freed += entry[1]
            if freed >= need:
                return time + token_window - now
        return token_window  # not reached: need <= used

    def _request_wait(self, now: int, need: int, request_window: int) -> int:
        """µs until ``need`` requests have aged out of the request window."""
        seen = 0
        for time, key in self._requests:
            if key not in self.request_ids:
                continue
            seen += 1
            if seen >= need:
                return time + request_window - now
        return request_window

    # -- operations -------------------------------------------------------------------------

    def reserve(
        self,
        now: int,
        key: str,
        tokens: int,
        tpm: int,
        request_limit: int,
        token_window: int,
        request_window: int,
        waiter: str | None = None,
    ) -> Decision:
        """Admit ``tokens`` and one request as entry ``key`` at ``now``, or say how long to wait.

        ``waiter`` is a blocking caller's identity: a refused waiter places the claim when none
        is live (or renews its own), and an admitted one drops it. ``try_acquire`` passes
        ``None`` (it never waits, so it never claims).
        """
        self.prune(now, token_window, request_window)
        other_claim = self.claim_id is not None and self.claim_id != waiter
        claim_tokens = self.claim_tokens if other_claim else 0
        claim_requests = 1 if other_claim else 0
        requests = len(self.request_ids)
        paused = now < self.paused_until
        if (
            not paused
            and self.used + tokens + claim_tokens <= tpm
            and requests + 1 + claim_requests <= request_limit
        ):
            self.entries[key] = [now, tokens]
            stamp = (now, key)  # one tuple in both queues
            self._times.append(stamp)
            self._requests.append(stamp)
            self.request_ids.add(key)
            self.used += tokens
            if waiter is not None and self.claim_id == waiter:
                self.claim_id, self.claim_tokens, self.claim_until = None, 0, 0
            return Decision(True, now)
        wait = self.paused_until - now if paused else 1
        if tokens + claim_tokens > tpm or 1 + claim_requests > request_limit:
            wait = max(wait, self.claim_until - now)  # only the claim's end makes room
        else:
            need = self.used + tokens + claim_tokens - tpm
            if need > 0:
                wait = max(wait, self._token_wait(now, need, token_window))
            need = requests + 1 + claim_requests - request_limit
            if need > 0:
                wait = max(wait, self._request_wait(now, need, request_window))
        wait = max(wait, 1)
        if waiter is not None and (self.claim_id is None or self.claim_id == waiter):
            self.claim_id, self.claim_tokens = waiter, tokens
            self.claim_until = now + wait + CLAIM_GRACE_US
        return Decision(False, now, wait)

    def settle(
        self, key: str, tokens: int, now: int, token_window: int, request_window: int
    ) -> bool:
        """Replace entry ``key``'s tokens, keeping its time; ``False`` if it is gone (aged out
        or released: then there is nothing left to correct)."""
        self.prune(now, token_window, request_window)
        entry = self.entries.get(key)
        if entry is None:
            return False
        self.used += tokens - entry[1]
        entry[1] = tokens
        return True

    def release(self, key: str, now: int, token_window: int, request_window: int) -> bool:
        """Remove entry ``key`` (its tokens and its request); ``False`` if it is gone."""
        self.prune(now, token_window, request_window)
        entry = self.entries.pop(key, None)
        self.request_ids.discard(key)
        if entry is None:
            return False
        self.used -= entry[1]
        return True

    def unclaim(self, waiter: str) -> None:
        """Drop ``waiter``'s claim, if it holds it (a waiter that gives up)."""
        if self.claim_id == waiter:
            self.claim_id, self.claim_tokens, self.claim_until = None, 0, 0

    def pause(self, until: int) -> None:
        """Admit nothing before ``until`` (µs); an earlier pause never shortens a later one."""
        self.paused_until = max(self.paused_until, until)

    def lower(
        self,
        now: int,
        key: str,
        remaining: int,
        tpm: int,
        token_window: int,
        request_window: int,
    ) -> int:
        """Make at most ``remaining`` tokens available now: add an entry (no request) holding
        the difference when this log thinks more remain. Returns the tokens added (0 if none)."""
        self.prune(now, token_window, request_window)
        excess = tpm - self.used - remaining
        if excess <= 0:
            return 0
        self.entries[key] = [now, excess]
        self._times.append((now, key))
        self.used += excess
        return excess

    def usage(self, now: int, token_window: int, request_window: int) -> tuple[int, int]:
        """``(tokens, requests)`` in the windows at ``now``."""
        self.prune(now, token_window, request_window)
        return self.used, len(self.request_ids)
