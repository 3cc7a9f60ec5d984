"""Checking an admission log: every token / request window stays within the quota."""

from __future__ import annotations

import bisect
from collections.abc import Sequence


def window_max(log: Sequence[tuple[int, int]], window_us: int) -> int:
    """The most weight admitted in any half-open interval ``[a, a + window)`` (µs), over every
    start ``a`` (an admission time suffices: a busiest interval can always start at one)."""
    events = sorted(log)
    times = [t for t, _ in events]
    prefix = [0]
    for _, weight in events:
        prefix.append(prefix[-1] + weight)
    best = 0
    for i, start in enumerate(times):
        end = bisect.bisect_left(times, start + window_us)
        best = max(best, prefix[end] - prefix[i])
    return best


def admitted_in(log: Sequence[tuple[int, int]], start: int, end: int) -> int:
    """The weight admitted in ``[start, end)``."""
    return sum(w for t, w in log if start <= t < end)
