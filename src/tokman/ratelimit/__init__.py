"""TPM/RPM rate limiting that admits what Azure OpenAI will, in one process or across many.

>>> from tokman.ratelimit import Quota, RateLimiter
>>> limiter = RateLimiter(Quota(tpm=10_000, rpm=60), "memory://", name="chat-prod")
>>> with limiter.acquire(2_500) as hold:   # prompt + max_tokens, reserved before the call
...     hold.settle(900)                    # the usage the response reported
True
>>> limiter.usage()                         # (tokens, requests) in the windows
(900, 1)

Every request reserves an upper bound atomically *before* the call (Azure charges its estimate
at admission: prompt + ``max_tokens`` × ``best_of``/``n``) and settles to the real usage after,
in the window where it was reserved. ``memory://`` shares a quota between the threads and tasks
of one process; ``redis://`` (``tokman[redis]``) between every process that uses the same
Redis and ``name``, with one Lua script deciding TPM and RPM together on the server's clock.

* `_core`: the pure decision core (sliding-window log, pause, lowering, anti-starvation claim);
* `_memory`, `_redis`: the backends (the Lua script mirrors `_core` exactly);
* `_quota`: `Quota` and the request estimate; `_headers`: 429 / ``x-ratelimit-*`` headers;
* `_limiter`: `RateLimiter`, `AsyncRateLimiter`, `RateReservation`, `AsyncRateReservation`.
"""

from __future__ import annotations

from tokman.ratelimit._headers import parse_duration
from tokman.ratelimit._limiter import (
    BACKENDS,
    AsyncRateLimiter,
    AsyncRateReservation,
    RateLimiter,
    RateReservation,
)
from tokman.ratelimit._quota import Quota, estimate_tokens

__all__ = [
    "BACKENDS",
    "AsyncRateLimiter",
    "AsyncRateReservation",
    "Quota",
    "RateLimiter",
    "RateReservation",
    "estimate_tokens",
    "parse_duration",
]
