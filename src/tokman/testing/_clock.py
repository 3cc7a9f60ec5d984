"""`FakeClock`: a `tokman.types.Clock` that moves only when the test says so."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from tokman._units import as_utc, check_seconds
from tokman.errors import InvalidRequestError

__all__ = ["FakeClock"]

_START = datetime(2025, 1, 1, tzinfo=timezone.utc)


class FakeClock:
    """A settable, advanceable clock (thread-safe).

    Args:
        start: The wall-clock time ``now()`` starts at (aware; a naive value is UTC).
        monotonic: The value ``monotonic()`` starts at.

    ``advance(seconds)`` moves both readings forward together, as real time does; ``set(when)``
    moves only the wall clock (like an NTP correction, it may go backwards), never the
    monotonic one.
    """

    def __init__(self, start: datetime = _START, *, monotonic: float = 0.0) -> None:
        if not isinstance(start, datetime):
            raise InvalidRequestError("start", start, "a datetime (naive values are UTC)")
        self._lock = threading.Lock()
        self._now = as_utc(start)
        self._monotonic = check_seconds(monotonic, "monotonic", positive=False)

    def now(self) -> datetime:
        """The fake wall-clock time, aware UTC."""
        return self._now

    def monotonic(self) -> float:
        """The fake monotonic seconds."""
        return self._monotonic

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` (finite, >= 0) pass on both clocks.

        Raises:
            InvalidRequestError: negative, NaN or infinite seconds (time does not run back).
        """
        step = check_seconds(seconds, "seconds", positive=False)
        with self._lock:
            self._monotonic += step
            self._now += timedelta(seconds=step)

    def set(self, when: datetime) -> None:
        """Set the wall clock to ``when`` (naive is UTC); the monotonic clock is unchanged."""
        if not isinstance(when, datetime):
            raise InvalidRequestError("when", when, "a datetime (naive values are UTC)")
        with self._lock:
            self._now = as_utc(when)

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()}, monotonic={self._monotonic})"
