"""Metrics sinks: the `MetricsSink` protocol, `CallEvent`, and (lazily) the Prometheus and
OpenTelemetry sinks."""

from __future__ import annotations

from tokman.integrations.metrics._event import Api, CallEvent, Outcome, Provider

__all__ = ["Api", "CallEvent", "Outcome", "Provider"]
