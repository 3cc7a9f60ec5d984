"""`CallEvent`: what one API call did, as the metrics sinks see it.

The pipeline builds one event per call attempt that reached a decision (served, refused by
tokman, or failed upstream) and hands it to every sink; a sink turns it into its own
instruments. The event carries no secret: no API key, no URL query, no prompt text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

__all__ = ["Api", "CallEvent", "Outcome", "Provider"]

Api = Literal["chat", "responses", "embeddings"]
#: ``ok``: served with usage; ``estimated``: served, usage counted by tokman (stream cut or
#: closed early); ``error``: the upstream failed (status >= 400 or a transport error);
#: ``refused``: tokman refused before sending (rate limit, budget, validation).
Outcome = Literal["ok", "estimated", "error", "refused"]
#: the OpenTelemetry GenAI ``gen_ai.provider.name`` values tokman emits.
Provider = Literal["openai", "azure.ai.openai"]


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One call, after it ended.

    Attributes:
        api: which API was called.
        provider: ``openai`` or ``azure.ai.openai``.
        outcome: see `Outcome`.
        model: the registry model that served (or would have served) the call.
        request_model: what the caller put in ``model`` (a deployment name on Azure).
        response_model: the ``model`` the response reported (``None`` when none was seen).
        deployment: the Azure deployment name, if any.
        streaming: whether the response was streamed.
        status_code: the HTTP status (``None`` for a transport error or a refusal).
        error_type: the error's class or code when ``outcome`` is ``error``/``refused``
            (``rate_limit_exceeded``, ``budget_exceeded``, ``APITimeoutError``, ``500``, ...).
        input_tokens: prompt tokens billed (cached included).
        cached_input_tokens: the part of ``input_tokens`` served from the prompt cache.
        output_tokens: completion tokens billed (reasoning included).
        reasoning_tokens: the part of ``output_tokens`` spent on hidden reasoning.
        cost_usd: what the call cost (``None`` when the model has no price).
        duration_s: seconds from the request leaving tokman to the last byte (or the error).
        time_to_first_chunk_s: for streams, seconds to the first chunk.
        limiter_wait_s: seconds spent waiting for rate-limit admission (0 when admitted at
            once, ``None`` without a limiter).
        budget_remaining_usd: ``{budget id: USD left}`` after the call settled, for the
            budgets this call was charged to.
        server_address, server_port: the upstream host (no credentials, no query).
        tags: the call's tags (low-cardinality labels only are exported by the sinks).
    """

    api: Api
    provider: Provider
    outcome: Outcome
    model: str
    request_model: str | None = None
    response_model: str | None = None
    deployment: str | None = None
    streaming: bool = False
    status_code: int | None = None
    error_type: str | None = None
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: Decimal | None = None
    duration_s: float = 0.0
    time_to_first_chunk_s: float | None = None
    limiter_wait_s: float | None = None
    budget_remaining_usd: dict[str, Decimal] = field(default_factory=dict)
    server_address: str | None = None
    server_port: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
