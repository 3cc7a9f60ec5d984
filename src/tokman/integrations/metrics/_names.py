"""Every metric name, attribute name, label name and bucket list the sinks emit, in one place.

The GenAI semantic conventions are still moving (the unreleased ``gen_ai.client.inference.*``
set replaces the released histograms), so names live here and nowhere else: following a
rename is an edit to this module, and a test fails if a sink spells a name itself.

Released names were checked against ``opentelemetry-semantic-conventions`` 0.66b2
(``_incubating/metrics/gen_ai_metrics.py``, ``attributes/gen_ai_attributes.py``); the
experimental ones follow ``semantic-conventions-genai`` main (``client-inference.md``).
"""

from __future__ import annotations

from typing import Final

#: the logger a `MultiSink` reports a failing sink on.
LOGGER: Final = "tokman.metrics"

# ---- Prometheus: metric names (after the namespace prefix; base units; counters end in _total)

#: the default metric name prefix: ``tokman_tokens_total``, ...
PROM_NAMESPACE: Final = "tokman"
PROM_TOKENS: Final = "tokens_total"
PROM_COST: Final = "cost_usd_total"
PROM_REQUESTS: Final = "requests_total"
PROM_DURATION: Final = "request_duration_seconds"
PROM_RATELIMIT_WAIT: Final = "ratelimit_wait_seconds"
PROM_BUDGET_REMAINING: Final = "budget_remaining_usd"

# ---- Prometheus: label names and values

PROM_LABEL_MODEL: Final = "model"
PROM_LABEL_DEPLOYMENT: Final = "deployment"
PROM_LABEL_PROVIDER: Final = "provider"
PROM_LABEL_API: Final = "api"
#: the per-call labels a `PrometheusSink` may be asked for (``labels=``), in their default order.
PROM_CALL_LABELS: Final = (
    PROM_LABEL_MODEL, PROM_LABEL_DEPLOYMENT, PROM_LABEL_PROVIDER, PROM_LABEL_API,
)  # fmt: skip
PROM_LABEL_TOKEN_TYPE: Final = "type"
PROM_LABEL_OUTCOME: Final = "outcome"
PROM_LABEL_STATUS_CODE: Final = "status_code"
PROM_LABEL_BUDGET: Final = "budget"
#: every label name the sink sets itself; an opted-in tag label may not reuse one.
PROM_RESERVED_LABELS: Final = frozenset(
    {*PROM_CALL_LABELS, PROM_LABEL_TOKEN_TYPE, PROM_LABEL_OUTCOME, PROM_LABEL_STATUS_CODE,
     PROM_LABEL_BUDGET, "le", "quantile"}
)  # fmt: skip

#: ``type`` label values of ``tokman_tokens_total``; cached_input is part of input and
#: reasoning part of output, so the four are not to be summed.
TOKEN_INPUT: Final = "input"
TOKEN_CACHED_INPUT: Final = "cached_input"
TOKEN_OUTPUT: Final = "output"
TOKEN_REASONING: Final = "reasoning"

#: seconds waited for rate-limit admission: most waits are 0 or sub-second, a window is 60 s.
RATELIMIT_WAIT_BUCKETS: Final = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# ---- OpenTelemetry: released GenAI metrics (semantic conventions v1.37+)

OTEL_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
OTEL_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
OTEL_UNIT_TOKEN: Final = "{token}"
OTEL_UNIT_SECONDS: Final = "s"

# ---- OpenTelemetry: unreleased GenAI metrics (only with latest_experimental=True)

OTEL_INFERENCE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.input_tokens"
OTEL_INFERENCE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.output_tokens"
OTEL_INFERENCE_CACHE_READ_TOKENS: Final = "gen_ai.client.inference.usage.cache_read.input_tokens"
OTEL_INFERENCE_REASONING_TOKENS: Final = "gen_ai.client.inference.usage.reasoning.output_tokens"
OTEL_INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"

# ---- OpenTelemetry: tokman's own metrics

#: the meter (instrumentation scope) name.
OTEL_METER: Final = "tokman"
OTEL_COST: Final = "tokman.cost"
#: there is no UCUM unit for money; ``USD`` says what the number is.
OTEL_UNIT_USD: Final = "USD"
OTEL_REQUESTS: Final = "tokman.requests"
OTEL_UNIT_REQUEST: Final = "{request}"

# ---- OpenTelemetry: attributes and their values

ATTR_OPERATION_NAME: Final = "gen_ai.operation.name"
ATTR_PROVIDER_NAME: Final = "gen_ai.provider.name"
ATTR_REQUEST_MODEL: Final = "gen_ai.request.model"
ATTR_RESPONSE_MODEL: Final = "gen_ai.response.model"
ATTR_TOKEN_TYPE: Final = "gen_ai.token.type"
ATTR_SERVER_ADDRESS: Final = "server.address"
ATTR_SERVER_PORT: Final = "server.port"
ATTR_ERROR_TYPE: Final = "error.type"
#: tokman's outcome (``ok``/``estimated``/``error``/``refused``) on ``tokman.requests``.
ATTR_OUTCOME: Final = "tokman.outcome"
#: an opted-in tag ``tenant`` becomes the attribute ``tokman.tag.tenant``.
ATTR_TAG_PREFIX: Final = "tokman.tag."

OP_CHAT: Final = "chat"
OP_EMBEDDINGS: Final = "embeddings"
TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"
#: ``error.type``'s fallback when the pipeline knew no better name.
ERROR_TYPE_OTHER: Final = "_OTHER"

# ---- bucket boundaries (OTel advice; the Prometheus duration histogram uses the same)

#: ``gen_ai.client.operation.duration``'s documented boundaries, seconds.
DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
#: ``gen_ai.client.token.usage``'s documented boundaries: powers of 4 from 1 to 4**13.
TOKEN_BUCKETS: Final = tuple(float(4**i) for i in range(14))
