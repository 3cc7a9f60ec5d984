"""The seed's ``metrics_collector`` as a tokman `MetricsSink`, so both kinds go one way.

The seed's application passed a ``core.monitoring.MetricsCollector`` whose
``track_operation(operation_type, success, duration, usage)`` may be a coroutine function;
tokman's own sinks take a `CallEvent`. Wrapping the first kind as a sink lets one `MultiSink`
deliver to either and log (never raise) what a broken collector raises.
"""

from __future__ import annotations

from typing import Any

from tokman.compat._dispatch import Dispatcher
from tokman.errors import InvalidRequestError
from tokman.integrations.metrics import CallEvent, MetricsSink, MultiSink

__all__ = ["SeedCollectorSink", "as_sink"]

#: the ``operation_type`` the seed reported token usage under
OPERATION = "token_usage"


class SeedCollectorSink:
    """A sink that calls ``collector.track_operation("token_usage", True, 0, usage)``.

    ``usage`` is the seed's dict (``prompt_tokens``, ``completion_tokens``); an awaitable result
    is run to completion by the `Dispatcher` (see `tokman.compat._dispatch`).
    """

    def __init__(self, collector: Any, dispatcher: Dispatcher) -> None:
        self.collector = collector
        self._dispatcher = dispatcher

    def record_call(self, event: CallEvent) -> None:
        """Report ``event``'s tokens the way the seed did; the duration was never measured."""
        usage = {"prompt_tokens": event.input_tokens, "completion_tokens": event.output_tokens}
        self._dispatcher.run(self.collector.track_operation(OPERATION, True, 0, usage))

    def __repr__(self) -> str:
        return f"SeedCollectorSink({type(self.collector).__name__})"


def as_sink(collector: Any, dispatcher: Dispatcher) -> MultiSink | None:
    """``collector`` as a sink that never raises, or ``None`` when there is none.

    Raises:
        InvalidRequestError: ``collector`` has neither ``track_operation`` nor ``record_call``.
    """
    if collector is None:
        return None
    if callable(getattr(collector, "track_operation", None)):
        return MultiSink(SeedCollectorSink(collector, dispatcher))
    if isinstance(collector, MetricsSink) and callable(getattr(collector, "record_call", None)):
        return MultiSink(collector)
    raise InvalidRequestError(
        "metrics_collector",
        collector,
        "an object with the seed's track_operation(operation_type, success, duration, usage) "
        "(a plain or async method), a tokman MetricsSink (record_call(event)), or None",
    )
