"""`PrometheusSink`: calls, tokens, cost, latency, rate-limit waits and budgets on
``prometheus_client`` (the ``tokman[prometheus]`` extra, imported when a sink is built).

Metrics (names from `_names`; base units; counters end in ``_total``)::

    tokman_tokens_total{type, model, deployment, provider, api}   counter
        type: input | cached_input | output | reasoning  (cached_input is part of input and
        reasoning part of output: do not sum the four)
    tokman_cost_usd_total{model, deployment, provider, api}       counter (USD)
    tokman_requests_total{outcome, status_code, model, ...}       counter
        outcome: ok | estimated (usage counted by tokman) | error | refused (by tokman)
    tokman_request_duration_seconds{model, ...}                   histogram (not for refusals)
    tokman_ratelimit_wait_seconds{model, ...}                     histogram (calls with a limiter)
    tokman_budget_remaining_usd{budget}                           gauge

Labels stay low-cardinality: tags (user, key, tenant ...) are never labels unless named in
``tag_labels``; a missing deployment or tag is the label ``""``. Money stays `Decimal` in tokman
and becomes a float only here, where Prometheus needs one.

Multi-process servers (gunicorn, uvicorn ``--workers``): set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory in the environment before the server starts (and empty it between runs); each
worker builds its sink on the default registry as usual, and the endpoint serves a fresh
``CollectorRegistry()`` with ``prometheus_client.multiprocess.MultiProcessCollector(registry)``.
Counters and histograms are summed across workers; the budget gauge uses
``multiprocess_mode="mostrecent"``: the budget lives in one shared store, so the value set last,
by whichever worker settled last, is the true one (summing or per-worker values would be wrong).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tokman.errors import ConfigurationError, InvalidRequestError, MissingDependencyError
from tokman.integrations.metrics import _names as n
from tokman.integrations.metrics._event import CallEvent

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.registry import Collector

__all__ = ["PrometheusSink"]

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def _check_names(
    namespace: str, labels: Sequence[str], tag_labels: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Refuse a bad namespace or label up front, instead of at the first call."""
    if not isinstance(namespace, str) or not _NAME.match(namespace):
        raise InvalidRequestError(
            "namespace", namespace, "a Prometheus metric name prefix such as 'tokman'"
        )
    call_labels = tuple(labels)
    for label in call_labels:
        if label not in n.PROM_CALL_LABELS:
            raise InvalidRequestError("labels", label, f"one of {', '.join(n.PROM_CALL_LABELS)}")
    if len(set(call_labels)) != len(call_labels):
        raise InvalidRequestError("labels", call_labels, "each label at most once")
    tags = tuple(tag_labels)
    for tag in tags:
        if not isinstance(tag, str) or not _LABEL.match(tag) or tag.startswith("__"):
            raise InvalidRequestError("tag_labels", tag, "a Prometheus label name such as 'tenant'")
        if tag in n.PROM_RESERVED_LABELS:
            raise InvalidRequestError("tag_labels", tag, "a name the sink does not use itself")
    if len(set(tags)) != len(tags):
        raise InvalidRequestError("tag_labels", tags, "each tag at most once")
    return call_labels, tags


class PrometheusSink:
    """Records each `CallEvent` into Prometheus counters, histograms and a budget gauge.

    Args:
        registry: where to register the metrics; ``None`` is ``prometheus_client.REGISTRY``
            (what ``start_http_server`` and ``make_wsgi_app`` serve by default).
        namespace: the metric name prefix (``tokman`` -> ``tokman_tokens_total``).
        labels: which per-call labels to attach, a subset of ``model``, ``deployment``,
            ``provider``, ``api``; fewer labels, fewer series.
        tag_labels: tag keys to export as labels too (opt-in: tags like ``user`` or ``key``
            are unbounded or sensitive, so none is exported by default).

    Raises:
        MissingDependencyError: ``prometheus_client`` is not installed.
        InvalidRequestError: a bad namespace, label or tag label name.
        ConfigurationError: these metric names are already registered in ``registry`` (a
            second sink on the same registry: reuse the first, or give another namespace).
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        namespace: str = n.PROM_NAMESPACE,
        labels: Sequence[str] = n.PROM_CALL_LABELS,
        tag_labels: Sequence[str] = (),
    ) -> None:
        try:
            import prometheus_client as prom
        except ImportError as exc:
            raise MissingDependencyError(
                "prometheus-client", extra="prometheus", feature="PrometheusSink"
            ) from exc
        self._labels, self._tags = _check_names(namespace, labels, tag_labels)
        self.registry = prom.REGISTRY if registry is None else registry
        per_call = [*self._labels, *self._tags]

        def name(suffix: str) -> str:
            return f"{namespace}_{suffix}"

        self._tokens = prom.Counter(
            name(n.PROM_TOKENS),
            "Tokens billed by the API (or counted by tokman when the usage was estimated).",
            [n.PROM_LABEL_TOKEN_TYPE, *per_call],
            registry=None,
        )
        self._cost = prom.Counter(
            name(n.PROM_COST),
            "What the calls cost in USD, from the model's registry price.",
            per_call,
            registry=None,
        )
        self._requests = prom.Counter(
            name(n.PROM_REQUESTS),
            "Calls by outcome: ok, estimated (usage counted by tokman), error, refused.",
            [n.PROM_LABEL_OUTCOME, n.PROM_LABEL_STATUS_CODE, *per_call],
            registry=None,
        )
        self._duration = prom.Histogram(
            name(n.PROM_DURATION),
            "Seconds from the request leaving tokman to its last byte or error.",
            per_call,
            buckets=n.DURATION_BUCKETS,
            registry=None,
        )
        self._wait = prom.Histogram(
            name(n.PROM_RATELIMIT_WAIT),
            "Seconds a call waited for rate-limit admission.",
            per_call,
            buckets=n.RATELIMIT_WAIT_BUCKETS,
            registry=None,
        )
        self._budget = prom.Gauge(
            name(n.PROM_BUDGET_REMAINING),
            "USD left in a budget after the last call charged to it settled.",
            [n.PROM_LABEL_BUDGET],
            registry=None,
            multiprocess_mode="mostrecent",
        )
        collectors = (
            self._tokens, self._cost, self._requests, self._duration, self._wait, self._budget
        )  # fmt: skip
        registered: list[Collector] = []
        for collector in collectors:
            try:
                self.registry.register(collector)
            except ValueError as exc:
                for done in registered:
                    self.registry.unregister(done)
                raise ConfigurationError(
                    f"PrometheusSink(namespace={namespace!r}) cannot register its metrics: "
                    f"{exc}. Build one sink per registry and share it, or pass another "
                    "namespace= or registry=."
                ) from exc
            registered.append(collector)

    def record_call(self, event: CallEvent) -> None:
        """Add ``event``'s tokens, cost, outcome, timings and budgets to the metrics."""
        values = {
            n.PROM_LABEL_MODEL: event.model,
            n.PROM_LABEL_DEPLOYMENT: event.deployment or "",
            n.PROM_LABEL_PROVIDER: event.provider,
            n.PROM_LABEL_API: event.api,
        }
        per_call = [values[label] for label in self._labels]
        per_call += [event.tags.get(tag, "") for tag in self._tags]
        for kind, count in (
            (n.TOKEN_INPUT, event.input_tokens),
            (n.TOKEN_CACHED_INPUT, event.cached_input_tokens),
            (n.TOKEN_OUTPUT, event.output_tokens),
            (n.TOKEN_REASONING, event.reasoning_tokens),
        ):
            if count:
                self._tokens.labels(kind, *per_call).inc(count)
        if event.cost_usd:
            self._cost.labels(*per_call).inc(float(event.cost_usd))
        status = "" if event.status_code is None else str(event.status_code)
        self._requests.labels(event.outcome, status, *per_call).inc()
        if event.outcome != "refused":
            self._duration.labels(*per_call).observe(event.duration_s)
        if event.limiter_wait_s is not None:
            self._wait.labels(*per_call).observe(event.limiter_wait_s)
        for budget, remaining in event.budget_remaining_usd.items():
            self._budget.labels(budget).set(float(remaining))

    def __repr__(self) -> str:
        return f"PrometheusSink(labels={self._labels!r}, tag_labels={self._tags!r})"
