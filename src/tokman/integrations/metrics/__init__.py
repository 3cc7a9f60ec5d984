"""Metrics sinks: the `MetricsSink` protocol, `CallEvent`, and (lazily) the Prometheus and
OpenTelemetry sinks.

``PrometheusSink`` and ``OpenTelemetrySink`` are resolved on first access, so importing this
package loads neither ``prometheus_client`` nor ``opentelemetry``; building one without its
extra raises `tokman.errors.MissingDependencyError` naming it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tokman.integrations.metrics._event import Api, CallEvent, Outcome, Provider
from tokman.integrations.metrics._sink import CollectingSink, MetricsSink, MultiSink, NullSink

if TYPE_CHECKING:
    from tokman.integrations.metrics.otel import OpenTelemetrySink
    from tokman.integrations.metrics.prometheus import PrometheusSink

__all__ = [
    "Api",
    "CallEvent",
    "CollectingSink",
    "MetricsSink",
    "MultiSink",
    "NullSink",
    "OpenTelemetrySink",
    "Outcome",
    "PrometheusSink",
    "Provider",
]

_LAZY = {
    "PrometheusSink": "tokman.integrations.metrics.prometheus",
    "OpenTelemetrySink": "tokman.integrations.metrics.otel",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
