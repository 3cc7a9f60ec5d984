"""The `MetricsSink` protocol and the sinks that need no metrics library.

A sink is anything with ``record_call(event)``: the pipeline calls it once per finished call,
on the caller's thread, so a sink must be quick and thread-safe. `MultiSink` is what the
pipeline holds: it fans an event out and keeps a broken sink from failing the user's call.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol, runtime_checkable

from tokman.integrations.metrics import _names as n
from tokman.integrations.metrics._event import CallEvent

__all__ = ["CollectingSink", "MetricsSink", "MultiSink", "NullSink"]

_log = logging.getLogger(n.LOGGER)


@runtime_checkable
class MetricsSink(Protocol):
    """Receives one `CallEvent` per finished call."""

    def record_call(self, event: CallEvent) -> None:
        """Turn ``event`` into the sink's own instruments; must not block on I/O."""


class NullSink:
    """Records nothing: the default when no metrics are configured."""

    def record_call(self, event: CallEvent) -> None:
        """Drop ``event``."""

    def __repr__(self) -> str:
        return "NullSink()"


class CollectingSink:
    """Keeps every event it is given, in order: for tests (yours and ours) and ad-hoc audits.

    >>> sink = CollectingSink()
    >>> sink.record_call(CallEvent(api="chat", provider="openai", outcome="ok", model="gpt-4o"))
    >>> [e.outcome for e in sink.events]
    ['ok']
    """

    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self._lock = threading.Lock()

    def record_call(self, event: CallEvent) -> None:
        """Append ``event`` to `events`."""
        with self._lock:
            self.events.append(event)

    def clear(self) -> None:
        """Forget the events collected so far."""
        with self._lock:
            self.events.clear()

    def __repr__(self) -> str:
        return f"CollectingSink(<{len(self.events)} events>)"


class MultiSink:
    """Hands each event to every sink; one sink's exception never reaches the others or the call.

    Metrics must never break the API call they describe, yet a broken exporter must not go
    unnoticed: a sink's first failure is logged on ``tokman.metrics`` at ERROR with its
    traceback, and its later failures at DEBUG (so a sink broken for good does not flood the
    log on every call); `failures` counts them all.
    """

    def __init__(self, *sinks: MetricsSink) -> None:
        self.sinks: tuple[MetricsSink, ...] = sinks
        self._failures = [0] * len(sinks)
        self._lock = threading.Lock()

    @property
    def failures(self) -> tuple[int, ...]:
        """How many events each sink failed to record, in the order of `sinks`."""
        with self._lock:
            return tuple(self._failures)

    def record_call(self, event: CallEvent) -> None:
        """Give ``event`` to every sink in order, logging (never raising) what they raise."""
        for index, sink in enumerate(self.sinks):
            try:
                sink.record_call(event)
            except Exception:
                with self._lock:
                    self._failures[index] += 1
                    first = self._failures[index] == 1
                _log.log(
                    logging.ERROR if first else logging.DEBUG,
                    "metrics sink %r failed to record a %s call to %s%s",
                    sink,
                    event.api,
                    event.model,
                    "; its later failures are logged at DEBUG" if first else " (again)",
                    exc_info=True,
                )

    def __repr__(self) -> str:
        return f"MultiSink({', '.join(map(repr, self.sinks))})"
