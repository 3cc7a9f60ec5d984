"""Helpers for testing code that uses tokman: a clock you move by hand, API-shaped responses.

>>> from tokman.testing import FakeClock, fake_response
>>> clock = FakeClock()
>>> clock.advance(90)
>>> clock.now().isoformat(), clock.monotonic()
('2025-01-01T00:01:30+00:00', 90.0)
>>> fake_response(prompt_tokens=12, completion_tokens=3)["usage"]["total_tokens"]
15

Nothing here touches the network or the real clock, so tests using it are fast and repeatable:
pass ``clock=FakeClock()`` to `tokman.BudgetGuard` (and, later, the rate limiter) and call
``advance`` instead of sleeping.
"""

from __future__ import annotations

from tokman.testing._clock import FakeClock
from tokman.testing._fake_openai import FakeOpenAI, FakeReply, FakeRequest
from tokman.testing._fake_server import FakeServer
from tokman.testing._responses import batch_line, fake_response

__all__ = [
    "FakeClock",
    "FakeOpenAI",
    "FakeReply",
    "FakeRequest",
    "FakeServer",
    "batch_line",
    "fake_response",
]
