"""`OpenTelemetrySink`: the GenAI semantic-convention client metrics on ``opentelemetry-api``
(the ``tokman[otel]`` extra, imported when a sink is built).

By default it emits the released conventions (names in `_names`)::

    gen_ai.client.token.usage         histogram {token}  gen_ai.token.type = input | output
    gen_ai.client.operation.duration  histogram s        error.type on failures

with the documented bucket boundaries as advice, and the attributes ``gen_ai.operation.name``
(``chat`` for Chat Completions and Responses, ``embeddings``), ``gen_ai.provider.name``
(``openai`` / ``azure.ai.openai``: tokman knows an Azure client when it sees one),
``gen_ai.request.model``, ``gen_ai.response.model``, ``server.address``, ``server.port``.

``latest_experimental=True`` (what ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``
selects in OpenTelemetry's own instrumentations) emits the unreleased replacement instead:
counters ``gen_ai.client.inference.usage.{input_tokens, output_tokens,
cache_read.input_tokens, reasoning.output_tokens}`` and the histogram
``gen_ai.client.inference.duration`` for chat and Responses calls (embeddings keep
``gen_ai.client.operation.duration``, which the new text reserves for non-inference calls).
Those names may still change before release; they change in `_names` only.

tokman's own instruments, in both modes: ``tokman.cost`` (counter, unit ``USD``: what the
calls cost, from the registry price) and ``tokman.requests`` (counter, ``{request}``, with
``tokman.outcome`` = ok | estimated | error | refused, so that refusals by tokman, which never
reach the API and so record no duration, are still counted).

Refused calls record only ``tokman.requests``. Tags are never attributes unless named in
``tag_attributes`` (``tenant`` -> ``tokman.tag.tenant``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tokman.errors import InvalidRequestError, MissingDependencyError
from tokman.integrations.metrics import _names as n
from tokman.integrations.metrics._event import CallEvent

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

__all__ = ["OpenTelemetrySink"]

_Attributes = dict[str, str | int | bool]


class OpenTelemetrySink:
    """Records each `CallEvent` as OpenTelemetry GenAI client metrics.

    Args:
        meter_provider: where the meter comes from; ``None`` is the global provider
            (``opentelemetry.metrics.get_meter_provider()``, a no-op until an SDK is set).
        latest_experimental: emit the unreleased ``gen_ai.client.inference.*`` metrics
            instead of the released ones.
        tag_attributes: tag keys to export as ``tokman.tag.<key>`` attributes (opt-in).

    Raises:
        MissingDependencyError: ``opentelemetry-api`` is not installed.
        InvalidRequestError: a tag attribute that is not a non-empty string.
    """

    def __init__(
        self,
        meter_provider: MeterProvider | None = None,
        *,
        latest_experimental: bool = False,
        tag_attributes: Sequence[str] = (),
    ) -> None:
        try:
            from opentelemetry import metrics
        except ImportError as exc:
            raise MissingDependencyError(
                "opentelemetry-api", extra="otel", feature="OpenTelemetrySink"
            ) from exc
        from tokman import __version__

        self._tags = tuple(tag_attributes)
        for tag in self._tags:
            if not isinstance(tag, str) or not tag:
                raise InvalidRequestError("tag_attributes", tag, "a tag key such as 'tenant'")
        self.latest_experimental = latest_experimental
        provider = metrics.get_meter_provider() if meter_provider is None else meter_provider
        meter = provider.get_meter(n.OTEL_METER, __version__)
        self._operation_duration = meter.create_histogram(
            n.OTEL_OPERATION_DURATION,
            unit=n.OTEL_UNIT_SECONDS,
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=n.DURATION_BUCKETS,
        )
        if latest_experimental:
            self._inference_duration = meter.create_histogram(
                n.OTEL_INFERENCE_DURATION,
                unit=n.OTEL_UNIT_SECONDS,
                description="GenAI inference duration.",
                explicit_bucket_boundaries_advisory=n.DURATION_BUCKETS,
            )
            self._usage = {
                name: meter.create_counter(name, unit=n.OTEL_UNIT_TOKEN, description=text)
                for name, text in (
                    (n.OTEL_INFERENCE_INPUT_TOKENS, "Input tokens used (cached included)."),
                    (n.OTEL_INFERENCE_OUTPUT_TOKENS, "Output tokens used (reasoning included)."),
                    (n.OTEL_INFERENCE_CACHE_READ_TOKENS, "Input tokens read from the cache."),
                    (n.OTEL_INFERENCE_REASONING_TOKENS, "Output tokens spent on reasoning."),
                )
            }
        else:
            self._token_usage = meter.create_histogram(
                n.OTEL_TOKEN_USAGE,
                unit=n.OTEL_UNIT_TOKEN,
                description="Number of input and output tokens used.",
                explicit_bucket_boundaries_advisory=n.TOKEN_BUCKETS,
            )
        self._cost = meter.create_counter(
            n.OTEL_COST, unit=n.OTEL_UNIT_USD, description="What the calls cost, in USD."
        )
        self._requests = meter.create_counter(
            n.OTEL_REQUESTS,
            unit=n.OTEL_UNIT_REQUEST,
            description="Calls by tokman outcome: ok, estimated, error, refused.",
        )

    def _attributes(self, event: CallEvent) -> _Attributes:
        """The semantic-convention attributes of ``event`` (``error.type`` on failures)."""
        attrs: _Attributes = {
            n.ATTR_OPERATION_NAME: n.OP_EMBEDDINGS if event.api == "embeddings" else n.OP_CHAT,
            n.ATTR_PROVIDER_NAME: event.provider,
            n.ATTR_REQUEST_MODEL: event.request_model or event.model,
        }
        if event.response_model:
            attrs[n.ATTR_RESPONSE_MODEL] = event.response_model
        if event.server_address:
            attrs[n.ATTR_SERVER_ADDRESS] = event.server_address
        if event.server_port is not None:
            attrs[n.ATTR_SERVER_PORT] = event.server_port
        if event.outcome in ("error", "refused"):
            attrs[n.ATTR_ERROR_TYPE] = event.error_type or n.ERROR_TYPE_OTHER
        for tag in self._tags:
            if tag in event.tags:
                attrs[n.ATTR_TAG_PREFIX + tag] = event.tags[tag]
        return attrs

    def record_call(self, event: CallEvent) -> None:
        """Record ``event``'s usage, duration, cost and outcome."""
        attrs = self._attributes(event)
        self._requests.add(1, {**attrs, n.ATTR_OUTCOME: event.outcome})
        if event.outcome == "refused":
            return
        served = event.outcome in ("ok", "estimated")
        if self.latest_experimental:
            for name, count in (
                (n.OTEL_INFERENCE_INPUT_TOKENS, event.input_tokens),
                (n.OTEL_INFERENCE_OUTPUT_TOKENS, event.output_tokens),
                (n.OTEL_INFERENCE_CACHE_READ_TOKENS, event.cached_input_tokens),
                (n.OTEL_INFERENCE_REASONING_TOKENS, event.reasoning_tokens),
            ):
                if count:
                    self._usage[name].add(count, attrs)
            inference = event.api != "embeddings"
            duration = self._inference_duration if inference else self._operation_duration
        else:
            # a served call has usage even when a count is 0; embeddings have no output side
            if served or event.input_tokens:
                self._token_usage.record(
                    event.input_tokens, {**attrs, n.ATTR_TOKEN_TYPE: n.TOKEN_TYPE_INPUT}
                )
            if event.api != "embeddings" and (served or event.output_tokens):
                self._token_usage.record(
                    event.output_tokens, {**attrs, n.ATTR_TOKEN_TYPE: n.TOKEN_TYPE_OUTPUT}
                )
            duration = self._operation_duration
        duration.record(event.duration_s, attrs)
        if event.cost_usd:
            self._cost.add(float(event.cost_usd), attrs)

    def __repr__(self) -> str:
        return f"OpenTelemetrySink(latest_experimental={self.latest_experimental!r})"
