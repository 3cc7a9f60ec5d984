"""Reading Azure OpenAI / OpenAI rate-limit response headers for `RateLimiter.observe`.

* A 429's wait is ``retry-after-ms`` (milliseconds), else ``retry-after`` (seconds, or an HTTP
  date), else ``x-ms-retry-after-ms``, else the longest of ``x-ratelimit-reset-tokens`` /
  ``x-ratelimit-reset-requests`` (OpenAI's duration strings such as ``1s``, ``6m0s``,
  ``20ms``, or plain seconds), else `DEFAULT_PAUSE` seconds.
* ``x-ratelimit-remaining-tokens`` is the server's view of the tokens left; ``-1`` and ``0`` mean
  unknown (the Azure Responses API has been seen sending ``-1``/``0`` with no other limit
  information), as do a missing or unreadable value. A reset of ``0`` is unknown too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["DEFAULT_PAUSE", "parse_duration", "remaining_tokens", "retry_delay"]

#: Seconds every process pauses after a 429 that says nothing about when to retry.
DEFAULT_PAUSE = 1.0

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|h|m|s)")


def parse_duration(text: str) -> float | None:
    """Seconds in ``6m0s``, ``1h2m3.5s``, ``20ms``, ``1s`` or a plain number; ``None`` if not a
    positive duration.

    >>> parse_duration("6m0s"), parse_duration("20ms"), parse_duration("1.5"), parse_duration("0s")
    (360.0, 0.02, 1.5, None)
    """
    text = text.strip().lower()
    try:
        value = float(text)
    except ValueError:
        pos, value = 0, 0.0
        scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
        for match in _PART.finditer(text):
            if match.start() != pos:
                return None
            value += float(match[1]) * scale[match[2]]
            pos = match.end()
        if pos != len(text) or pos == 0:
            return None
    return value if math.isfinite(value) and value > 0 else None


def _lower(headers: Any) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) or hasattr(headers, "items") else ()
    return {str(k).lower(): str(v) for k, v in items}


def retry_delay(headers: Any, *, now: datetime | None = None) -> float:
    """Seconds a 429 with these headers asks to wait (`DEFAULT_PAUSE` when it does not say)."""
    found = _lower(headers)
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001)):
        value = parse_duration(found.get(name, ""))
        if value is not None:
            return value * scale
    raw = found.get("retry-after", "").strip()
    if raw:
        value = parse_duration(raw)
        if value is not None:
            return value
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            delay = (when - (now or datetime.now(timezone.utc))).total_seconds()
            if delay > 0:
                return delay
    resets = [
        parse_duration(found.get(name, ""))
        for name in ("x-ratelimit-reset-tokens", "x-ratelimit-reset-requests")
    ]
    known = [r for r in resets if r is not None]
    return max(known) if known else DEFAULT_PAUSE


def remaining_tokens(headers: Any) -> int | None:
    """``x-ratelimit-remaining-tokens`` as an int, or ``None`` when missing, unreadable or
    ``-1``/``0`` (unknown)."""
    raw = _lower(headers).get("x-ratelimit-remaining-tokens", "").strip()
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value > 0 else None
