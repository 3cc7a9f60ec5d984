"""Small protocols shared across tokman's layers (no behaviour, no imports beyond the stdlib).

`Clock` is how anything that waits, expires or resets reads time: budgets (reservation expiry,
period resets) today, the rate limiter tomorrow. Passing one clock object instead of calling
``time`` and ``datetime.now`` directly lets tests move time with `tokman.testing.FakeClock`
instead of sleeping or monkeypatching, and keeps the two readings (an interval clock that never
jumps, a calendar clock for periods) together so they cannot disagree about which is which.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Where tokman reads the time.

    ``monotonic()`` measures intervals (seconds; never goes backwards, unrelated to the
    calendar); ``now()`` is the wall-clock time as an aware UTC datetime (calendar periods,
    expiry timestamps stored in a database and compared across processes).
    """

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never decreasing."""
        ...

    def now(self) -> datetime:
        """The current time, aware UTC."""
        ...


class SystemClock:
    """The real clock: `time.monotonic` and `datetime.now(timezone.utc)`."""

    __slots__ = ()

    def monotonic(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()

    def now(self) -> datetime:
        """`datetime.now(timezone.utc)`."""
        return datetime.now(timezone.utc)

    def __repr__(self) -> str:
        return "SystemClock()"
