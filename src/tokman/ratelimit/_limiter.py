"""`RateLimiter` / `AsyncRateLimiter` and their reservations (`RateReservation`,
`AsyncRateReservation`): the I/O shell around the decision core.

Both limiters share everything but the waiting: argument checks, the request estimate, the
decision core's semantics (``_core``), header feedback (``_headers``) and the backend-error
policy live in `_Base`; the sync one calls a sync backend and ``sleep``, the async one awaits
an async backend (``redis.asyncio`` for Redis) and ``asyncio.sleep``.

Backend-error policy (``on_backend_error``), for a backend that cannot be reached (a retryable
`StorageError`; any other error is raised as it is):

* ``"raise"`` (default): the `StorageError` propagates; nothing is admitted.
* ``"allow"``: admit without limiting until the backend answers again.
* ``"local"``: decide in this process alone, on an in-memory log with the same quota, until the
  backend answers again (the fleet may then admit up to one quota per process).

Either fallback logs a WARNING once per limiter when it starts (and an INFO when the backend is
back); it is never silent. A reservation is settled or released where it was made.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Literal

from tokman._backends import Factories, parse_url
from tokman._units import check_seconds, check_tokens
from tokman.errors import InvalidRequestError, RateLimitExceededError, StorageError
from tokman.ratelimit._core import Decision
from tokman.ratelimit._headers import remaining_tokens, retry_delay
from tokman.ratelimit._memory import AsyncMemoryBackend, MemoryBackend
from tokman.ratelimit._quota import Quota, estimate_tokens
from tokman.types import Clock, SystemClock

__all__ = ["AsyncRateLimiter", "AsyncRateReservation", "RateLimiter", "RateReservation"]

_log = logging.getLogger("tokman.ratelimit")

OnBackendError = Literal["raise", "allow", "local"]
_MODES = ("raise", "allow", "local")
_EXAMPLES = (
    "memory://, redis://host:6379/0, rediss://host:6380/0 or redis+cluster://h1:7000,h2:7001"
)


def _open_memory(url: Any, *, name: str, asynchronous: bool, **_: Any) -> Any:
    return AsyncMemoryBackend(name) if asynchronous else MemoryBackend(name)


def _open_redis(url: Any, *, name: str, asynchronous: bool, key_prefix: str) -> Any:
    from tokman.ratelimit import _redis

    if asynchronous:
        return _redis.AsyncRedisBackend(url, name=name, key_prefix=key_prefix)
    return _redis.RedisBackend(url, name=name, key_prefix=key_prefix)


#: Where a rate limiter can keep its state: ``memory://`` (this process) or Redis.
BACKENDS: Factories[Any] = Factories("rate limiter", _EXAMPLES)
BACKENDS.register("memory", _open_memory)
BACKENDS.register("redis", _open_redis)


def _check_name(name: object) -> str:
    if (
        not isinstance(name, str)
        or not name
        or len(name) > 200
        or any(c in name for c in "{}")
        or not name.isprintable()
    ):
        raise InvalidRequestError(
            "name",
            name,
            "a printable name of 1 to 200 characters without braces, e.g. the deployment "
            "name 'chat-prod' (every limiter with the same backend and name shares one quota)",
        )
    return name


class _Base:
    """What both limiters share (see the module docstring)."""

    def __init__(
        self,
        quota: Quota,
        backend: str,
        *,
        name: str | None,
        clock: Clock | None,
        on_backend_error: OnBackendError,
        poll_interval: float,
        key_prefix: str,
        asynchronous: bool,
    ) -> None:
        if not isinstance(quota, Quota):
            raise InvalidRequestError(
                "quota", quota, "a tokman.Quota(tpm=..., rpm=...) or Quota.for_deployment(name)"
            )
        if on_backend_error not in _MODES:
            raise InvalidRequestError(
                "on_backend_error", on_backend_error, "one of 'raise', 'allow', 'local'"
            )
        if not isinstance(clock, (type(None), Clock)):
            raise InvalidRequestError(
                "clock", clock, "a tokman.types.Clock (monotonic() and now()), e.g. FakeClock()"
            )
        if not isinstance(key_prefix, str) or not key_prefix or "{" in key_prefix:
            raise InvalidRequestError("key_prefix", key_prefix, "a non-empty string without {")
        self.quota = quota
        self.name = _check_name(name if name is not None else (quota.name or "default"))
        self.poll_interval = check_seconds(poll_interval, "poll_interval")
        self.on_backend_error: OnBackendError = on_backend_error
        self.clock: Clock = clock if clock is not None else SystemClock()
        # Redis decides on the server's clock unless a clock was given (tests: FakeClock)
        self._explicit_clock = clock is not None
        url = parse_url(backend, field="backend")
        self.url = url.redacted
        self._backend = BACKENDS.open(
            url, name=self.name, asynchronous=asynchronous, key_prefix=key_prefix
        )
        self._local: Any = None
        self._ids = itertools.count()
        self._id_prefix = uuid.uuid4().hex[:16]
        self._asynchronous = asynchronous
        self._degraded = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.quota!r}, backend={self.url!r}, name={self.name!r})"

    # -- shared pieces ----------------------------------------------------------------------

    def _new_id(self) -> str:
        """A reservation / waiter id unique across processes: a random prefix and a counter."""
        return f"{self._id_prefix}{next(self._ids):x}"

    def _now(self, backend: Any) -> int | None:
        if backend.uses_server_time and not self._explicit_clock:
            return None
        return math.floor(self.clock.monotonic() * 1_000_000)

    def _tokens(self, tokens: int | None, request: Mapping[str, Any] | None) -> int:
        if (tokens is None) == (request is None):
            raise InvalidRequestError(
                "tokens",
                tokens,
                "give exactly one of tokens=N (the request's estimate) or request={create() "
                "kwargs} (tokman counts the prompt and adds the completion limit)",
            )
        count = check_tokens(tokens, "tokens") if request is None else estimate_tokens(request)
        if count > self.quota.tpm:
            raise InvalidRequestError(
                "tokens",
                count,
                f"at most the whole quota of {self.quota.tpm:,} tokens per "
                f"{self.quota.token_window:g} s: this request can never be admitted (Azure "
                "rejects it too); lower max_tokens / max_completion_tokens or split the prompt",
            )
        return count

    def _exceeded(self, tokens: int, wait: float, timeout: float | None) -> RateLimitExceededError:
        within = "now" if not timeout else f"within timeout={timeout:g} s"
        return RateLimitExceededError(
            f"Rate limit {self.name!r} ({self.quota.tpm:,} TPM, {self.quota.rpm} RPM) has no "
            f"room for {tokens:,} tokens {within}; retry after {wait:.3f} s",
            retry_after=wait,
        )

    @staticmethod
    def _check_response(status: Any, headers: Any) -> None:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise InvalidRequestError(
                "status", status, "the response's HTTP status code, an int such as 429"
            )
        if not (isinstance(headers, Mapping) or callable(getattr(headers, "items", None))):
            raise InvalidRequestError(
                "headers",
                headers,
                "the response's headers: a mapping such as response.headers or a dict",
            )

    def _fallback(self, exc: StorageError) -> Any:
        """The backend to use after ``exc`` (``None``: admit without limiting), or raise."""
        if self.on_backend_error == "raise" or not exc.retryable:
            raise exc
        if not self._degraded:
            self._degraded = True
            what = (
                "admitting every request without limiting"
                if self.on_backend_error == "allow"
                else "limiting in this process only"
            )
            _log.warning(
                "rate limiter %r: backend %s unreachable (%s); %s until it answers again "
                "(on_backend_error=%r)",
                self.name,
                self.url,
                exc,
                what,
                self.on_backend_error,
            )
        if self.on_backend_error == "allow":
            return None
        if self._local is None:
            local = f"local:{uuid.uuid4().hex}:{self.name}"
            self._local = AsyncMemoryBackend(local) if self._asynchronous else MemoryBackend(local)
        return self._local

    def _recovered(self) -> None:
        """Called after a backend call succeeds while degraded."""
        if self._degraded:
            self._degraded = False
            _log.info("rate limiter %r: backend %s answers again", self.name, self.url)


class RateReservation:
    """Tokens and one request held in a limiter's window, from `RateLimiter.acquire`.

    ``settle(actual)`` replaces the reserved tokens by the real count *in the window where they
    were reserved*; ``release()`` gives them (and the request) back, for a call that failed
    before reaching the service. As a context manager: an exception inside the block releases;
    a normal exit without ``settle`` keeps the reservation as charged (the service charged the
    estimate too). A reservation nobody settles (a crashed process) ages out of the window.

    Attributes:
        id: The entry's id in the backend.
        tokens: The tokens currently charged (the estimate, then the settled amount).
        time: The backend's clock reading at admission (µs; Redis: the server's ``TIME``).
        limited: ``False`` when admitted without limiting (``on_backend_error="allow"``).
    """

    __slots__ = ("_backend", "_limiter", "id", "reserved", "state", "time", "tokens")

    def __init__(self, limiter: Any, backend: Any, key: str, tokens: int, time: int) -> None:
        self._limiter = limiter
        self._backend = backend
        self.id = key
        self.tokens = tokens
        self.reserved = tokens
        self.time = time
        self.state: Literal["held", "settled", "released"] = "held"

    @property
    def limited(self) -> bool:
        """Whether a backend holds this reservation."""
        return self._backend is not None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, tokens={self.tokens}, state={self.state!r})"

    def _check_open(self, action: str) -> None:
        if self.state == "released":
            raise InvalidRequestError(
                "reservation", self.id, f"a held reservation: it was released, nothing to {action}"
            )

    @staticmethod
    def _actual(actual: Any) -> int:
        if isinstance(actual, int) and not isinstance(actual, bool):
            return check_tokens(actual, "actual")
        from tokman.usage import read_usage

        try:
            return read_usage(actual).total_tokens
        except InvalidRequestError as exc:  # name this method's argument, keep the reason
            raise InvalidRequestError(
                "actual", actual, f"the real tokens (an int) or the response's usage: {exc}"
            ) from exc

    def settle(self, actual: Any) -> bool:
        """Charge ``actual`` tokens (an int, or the response's ``usage`` / the response) instead
        of the estimate, in the reservation's own window. Returns ``False`` when the entry had
        already aged out of the window (nothing left to correct). May be called again."""
        self._check_open("settle")
        count = self._actual(actual)
        done = (
            self._limiter._call("settle", self._backend, self.id, self.tokens, count)
            if self.limited
            else True
        )
        self.tokens, self.state = count, "settled"
        return bool(done)

    def release(self) -> bool:
        """Give the tokens and the request back (idempotent)."""
        if self.state == "released":
            return False
        done = (
            self._limiter._call("release", self._backend, self.id, self.tokens)
            if self.limited
            else True
        )
        self.state = "released"
        return bool(done)

    def __enter__(self) -> RateReservation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and self.state == "held":
            self.release()


class AsyncRateReservation(RateReservation):
    """`RateReservation` of an `AsyncRateLimiter`: ``await settle(...)`` / ``await release()``;
    ``async with`` releases on an exception."""

    __slots__ = ()

    async def settle(self, actual: Any) -> bool:  # type: ignore[override]
        """See `RateReservation.settle`."""
        self._check_open("settle")
        count = self._actual(actual)
        done = (
            await self._limiter._call("settle", self._backend, self.id, self.tokens, count)
            if self.limited
            else True
        )
        self.tokens, self.state = count, "settled"
        return bool(done)

    async def release(self) -> bool:  # type: ignore[override]
        """See `RateReservation.release`."""
        if self.state == "released":
            return False
        done = (
            await self._limiter._call("release", self._backend, self.id, self.tokens)
            if self.limited
            else True
        )
        self.state = "released"
        return bool(done)

    def __enter__(self) -> RateReservation:
        raise TypeError("use 'async with' with an AsyncRateLimiter's reservation")

    async def __aenter__(self) -> AsyncRateReservation:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and self.state == "held":
            await self.release()


class RateLimiter(_Base):
    """Admit requests within a TPM/RPM quota shared by every process on the same backend/name.

    >>> from tokman.testing import FakeClock
    >>> clock = FakeClock()
    >>> limiter = RateLimiter(Quota(tpm=1_000, rpm=60), name="doc", clock=clock,
    ...                       sleep=clock.advance)
    >>> with limiter.acquire(800) as hold:
    ...     hold.settle(300)              # the call used 300 of the 800 reserved
    True
    >>> limiter.try_acquire(800) is None  # 300 + 800 > 1,000 in this minute
    True
    >>> limiter.acquire(800).time        # waits (here: the fake clock moves) for the window
    60000000

    Args:
        quota: The `Quota` (``Quota(tpm=..., rpm=...)`` or ``Quota.for_deployment(name)``).
        backend: ``memory://`` (this process) or ``redis://host:port/db``, ``rediss://...``,
            ``redis+cluster://h1:p1,h2:p2`` (every process; needs ``tokman[redis]``).
        name: The quota's name: limiters with the same backend and name share it (default: the
            quota's deployment name, else ``"default"``).
        clock: Where time is read (`tokman.testing.FakeClock` in tests). On Redis, decisions use
            the server's ``TIME`` unless a clock is given (then the clock's ``monotonic()``: all
            processes must share it).
        sleep: How to wait (default `time.sleep`; tests pass ``clock.advance``).
        on_backend_error: ``"raise"`` | ``"allow"`` | ``"local"`` (module docstring).
        poll_interval: The longest single wait of a blocked `acquire` (s) before it asks again
            (a release elsewhere may make room before the announced retry time).
        key_prefix: Redis keys are ``{<key_prefix>:<name>}:...`` (one hash tag: Cluster safe).
    """

    def __init__(
        self,
        quota: Quota,
        backend: str = "memory://",
        *,
        name: str | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
        on_backend_error: OnBackendError = "raise",
        poll_interval: float = 0.5,
        key_prefix: str = "tokman",
    ) -> None:
        super().__init__(
            quota,
            backend,
            name=name,
            clock=clock,
            on_backend_error=on_backend_error,
            poll_interval=poll_interval,
            key_prefix=key_prefix,
            asynchronous=False,
        )
        self._sleep = sleep if sleep is not None else time.sleep

    def _call(self, op: str, backend: Any, *args: Any) -> Any:
        return getattr(backend, op)(*args, self.quota, self._now(backend))

    def _run(self, op: str, *args: Any) -> tuple[Any, Any]:
        """``(backend used, result)`` of ``op`` on the backend, or on the fallback."""
        try:
            result = self._call(op, self._backend, *args)
        except StorageError as exc:
            backend = self._fallback(exc)
            if backend is None:
                return None, None
            return backend, self._call(op, backend, *args)
        if self._degraded:
            self._recovered()
        return self._backend, result

    def _attempt(self, key: str, tokens: int, waiter: str | None) -> tuple[Any, Decision]:
        backend, decision = self._run("reserve", key, tokens, waiter)
        if backend is None:
            return None, Decision(True, math.floor(self.clock.monotonic() * 1e6))
        return backend, decision

    def try_acquire(
        self, tokens: int | None = None, *, request: Mapping[str, Any] | None = None
    ) -> RateReservation | None:
        """Reserve now or not at all: a `RateReservation`, or ``None`` when there is no room.

        Raises:
            InvalidRequestError: bad arguments, or more tokens than the whole quota.
            StorageError: the backend failed (``on_backend_error="raise"``).
        """
        count = self._tokens(tokens, request)
        key = self._new_id()
        backend, decision = self._attempt(key, count, None)
        if not decision.admitted:
            return None
        return RateReservation(self, backend, key, count, decision.time)

    def acquire(
        self,
        tokens: int | None = None,
        *,
        request: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> RateReservation:
        """Wait until ``tokens`` (or the estimate of ``request``, the ``create()`` kwargs) and
        one request fit the quota, and reserve them.

        A refused waiter holds the anti-starvation claim when no other does (``_core``), so
        smaller requests arriving later leave room for it.

        Raises:
            RateLimitExceededError: admission would take longer than ``timeout`` seconds
                (``retry_after`` says when it would fit); ``timeout=0`` never waits.
            InvalidRequestError: bad arguments, or more tokens than the whole quota.
            StorageError: the backend failed (``on_backend_error="raise"``).
        """
        count = self._tokens(tokens, request)
        limit = None if timeout is None else check_seconds(timeout, "timeout", positive=False)
        deadline = None if limit is None else self.clock.monotonic() + limit
        key, waiter = self._new_id(), self._new_id()
        claimed: Any = None
        while True:
            backend, decision = self._attempt(key, count, waiter)
            if decision.admitted:
                return RateReservation(self, backend, key, count, decision.time)
            claimed = backend
            wait = decision.retry_after_us / 1_000_000
            if deadline is not None and self.clock.monotonic() + wait > deadline:
                self._unclaim(claimed, waiter)
                raise self._exceeded(count, wait, limit)
            self._sleep(min(wait, self.poll_interval))

    def _unclaim(self, backend: Any, waiter: str) -> None:
        if backend is not None:
            with contextlib.suppress(StorageError):  # the claim lapses by itself
                self._call("unclaim", backend, waiter)

    def observe(self, status: int, headers: Any) -> None:
        """Learn from a response: a 429 pauses every process sharing the quota for the time its
        headers ask (``retry-after-ms``, ``retry-after``, ``x-ratelimit-reset-*``; 1 s if none);
        an ``x-ratelimit-remaining-tokens`` lower than this limiter's view lowers it (``-1``/``0``
        are unknown and ignored)."""
        self._check_response(status, headers)
        if status == 429:
            delay = retry_delay(headers, now=self.clock.now())
            self._run("pause", math.ceil(delay * 1_000_000))
        remaining = remaining_tokens(headers)
        if remaining is not None:
            self._run("lower", "observed:" + self._new_id(), remaining)

    def usage(self) -> tuple[int, int]:
        """``(tokens, requests)`` currently in the token and request windows."""
        _, result = self._run("usage")
        return (0, 0) if result is None else (int(result[0]), int(result[1]))

    def close(self) -> None:
        """Close the backend's connections."""
        self._backend.close()

    def __enter__(self) -> RateLimiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRateLimiter(_Base):
    """`RateLimiter` for asyncio: the same arguments (``sleep`` is a coroutine function,
    default `asyncio.sleep`), awaitable ``acquire`` / ``try_acquire`` / ``observe``; Redis
    through ``redis.asyncio`` (no threads)."""

    def __init__(
        self,
        quota: Quota,
        backend: str = "memory://",
        *,
        name: str | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        on_backend_error: OnBackendError = "raise",
        poll_interval: float = 0.5,
        key_prefix: str = "tokman",
    ) -> None:
        super().__init__(
            quota,
            backend,
            name=name,
            clock=clock,
            on_backend_error=on_backend_error,
            poll_interval=poll_interval,
            key_prefix=key_prefix,
            asynchronous=True,
        )
        self._sleep = sleep if sleep is not None else asyncio.sleep

    async def _call(self, op: str, backend: Any, *args: Any) -> Any:
        return await getattr(backend, op)(*args, self.quota, self._now(backend))

    async def _run(self, op: str, *args: Any) -> tuple[Any, Any]:
        try:
            result = await self._call(op, self._backend, *args)
        except StorageError as exc:
            backend = self._fallback(exc)
            if backend is None:
                return None, None
            return backend, await self._call(op, backend, *args)
        if self._degraded:
            self._recovered()
        return self._backend, result

    async def _attempt(self, key: str, tokens: int, waiter: str | None) -> tuple[Any, Decision]:
        backend, decision = await self._run("reserve", key, tokens, waiter)
        if backend is None:
            return None, Decision(True, math.floor(self.clock.monotonic() * 1e6))
        return backend, decision

    async def try_acquire(
        self, tokens: int | None = None, *, request: Mapping[str, Any] | None = None
    ) -> AsyncRateReservation | None:
        """See `RateLimiter.try_acquire`."""
        count = self._tokens(tokens, request)
        key = self._new_id()
        backend, decision = await self._attempt(key, count, None)
        if not decision.admitted:
            return None
        return AsyncRateReservation(self, backend, key, count, decision.time)

    async def acquire(
        self,
        tokens: int | None = None,
        *,
        request: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> AsyncRateReservation:
        """See `RateLimiter.acquire`."""
        count = self._tokens(tokens, request)
        limit = None if timeout is None else check_seconds(timeout, "timeout", positive=False)
        deadline = None if limit is None else self.clock.monotonic() + limit
        key, waiter = self._new_id(), self._new_id()
        while True:
            backend, decision = await self._attempt(key, count, waiter)
            if decision.admitted:
                return AsyncRateReservation(self, backend, key, count, decision.time)
            wait = decision.retry_after_us / 1_000_000
            if deadline is not None and self.clock.monotonic() + wait > deadline:
                if backend is not None:
                    with contextlib.suppress(StorageError):  # the claim lapses by itself
                        await self._call("unclaim", backend, waiter)
                raise self._exceeded(count, wait, limit)
            await self._sleep(min(wait, self.poll_interval))

    async def observe(self, status: int, headers: Any) -> None:
        """See `RateLimiter.observe`."""
        self._check_response(status, headers)
        if status == 429:
            delay = retry_delay(headers, now=self.clock.now())
            await self._run("pause", math.ceil(delay * 1_000_000))
        remaining = remaining_tokens(headers)
        if remaining is not None:
            await self._run("lower", "observed:" + self._new_id(), remaining)

    async def usage(self) -> tuple[int, int]:
        """See `RateLimiter.usage`."""
        _, result = await self._run("usage")
        return (0, 0) if result is None else (int(result[0]), int(result[1]))

    async def aclose(self) -> None:
        """Close the backend's connections."""
        await self._backend.close()

    async def __aenter__(self) -> AsyncRateLimiter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
