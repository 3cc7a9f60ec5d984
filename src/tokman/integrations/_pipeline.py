"""The pure core of an instrumented call: read it, plan it, and turn what came back into a record.

Every covered call goes through the same three steps, whichever shell runs it (the openai-SDK
transport, sync or async, and later the gateway):

1. `read_call` -- what the HTTP request is: which API, which Azure deployment, the JSON body.
   A request that is not a covered call (a GET, a file upload, ``/responses/{id}``) is ``None``
   and passes through untouched.
2. `plan_call` -- before anything is sent: resolve the model, validate the request, count the
   prompt exactly, and compute the worst case (prompt + completion limit x copies) that the
   rate limiter and budgets reserve. For a Chat Completions stream without usage it also
   rewrites the body to ask for ``stream_options.include_usage`` (and remembers to hide the
   extra chunk from the caller).
3. `record_for` / `event_for` -- after: the `UsageRecord` for the ledger and budgets (the
   served usage, or an estimate marked ``estimated`` when a stream ended without it) and the
   `CallEvent` for the metrics sinks.

Nothing here does I/O or keeps state between calls; the shells (`tokman.integrations._guard`)
do the reserving, settling, writing and emitting around it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from tokman.errors import InvalidRequestError
from tokman.integrations.metrics._event import Api, CallEvent, Outcome, Provider
from tokman.ledger import UsageRecord
from tokman.requests import NormalizedRequest, normalize_request
from tokman.usage import Usage

__all__ = ["Call", "Plan", "event_for", "plan_call", "read_call", "record_for"]

# the path's last segments -> the API (exact: /responses/{id}, /chat/completions/{id} are not
# covered calls)
_ENDPOINTS: tuple[tuple[str, Api], ...] = (
    ("/chat/completions", "chat"),
    ("/responses", "responses"),
    ("/embeddings", "embeddings"),
)


@dataclass(frozen=True, slots=True)
class Call:
    """A covered API call, as read from its HTTP request.

    Attributes:
        api: ``chat``, ``responses`` or ``embeddings``.
        body: the request's JSON body.
        deployment: the Azure deployment (the URL's ``/deployments/{name}/`` segment, or the
            body's ``model`` for an Azure Responses call); ``None`` on OpenAI.
        provider: ``openai`` or ``azure.ai.openai``.
        server_address, server_port: the upstream host, for metrics (no credentials).
    """

    api: Api
    body: Mapping[str, Any]
    deployment: str | None = None
    provider: Provider = "openai"
    server_address: str | None = None
    server_port: int | None = None

    @property
    def name(self) -> str | None:
        """The name the model is resolved from: the deployment on Azure, else ``model``."""
        if self.deployment is not None:
            return self.deployment
        model = self.body.get("model")
        return model if isinstance(model, str) and model else None


def read_call(
    method: str,
    path: str,
    body: bytes,
    *,
    azure: bool = False,
    host: str | None = None,
    port: int | None = None,
) -> Call | None:
    """The covered call an HTTP request makes, or ``None`` when it is not one.

    ``azure`` says the client is an Azure client; an ``/openai/...`` path also marks Azure.
    A body that is not a JSON object is not read (``None``): the API rejects it itself.

    >>> call = read_call("POST", "/openai/deployments/chat-prod/chat/completions",
    ...                  b'{"model": "chat-prod", "messages": []}')
    >>> call.api, call.deployment, call.provider
    ('chat', 'chat-prod', 'azure.ai.openai')
    >>> read_call("GET", "/v1/models", b"") is None
    True
    """
    if method != "POST":
        return None
    api = next((api for suffix, api in _ENDPOINTS if path.endswith(suffix)), None)
    if api is None:
        return None
    try:
        parsed = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(parsed, dict):
        return None
    azure = azure or path.startswith("/openai/")
    deployment = _path_deployment(path)
    if deployment is None and azure and api == "responses":
        model = parsed.get("model")
        deployment = model if isinstance(model, str) and model else None
    return Call(
        api=api,
        body=parsed,
        deployment=deployment,
        provider="azure.ai.openai" if azure else "openai",
        server_address=host,
        server_port=port,
    )


def _path_deployment(path: str) -> str | None:
    parts = path.split("/")
    try:
        i = parts.index("deployments")
    except ValueError:
        return None
    return parts[i + 1] if i + 1 < len(parts) - 1 and parts[i + 1] else None


@dataclass(slots=True)
class Plan:
    """What a call will cost at worst, decided before it is sent.

    Attributes:
        call: the call.
        model: the registry model the call resolves to (a deployment's model on Azure).
        request: the body, normalised.
        prompt_tokens: the prompt, counted exactly (what ``usage.prompt_tokens`` will be).
        completion_limit: the completion tokens the call may produce at most: the limit it
            sets (else the model's maximum output) times ``max(n, best_of)``; 0 for embeddings.
        hide_usage: the body was rewritten to ask for stream usage; the usage chunk is
            tokman's, not the caller's.
        body: the rewritten body to send, or ``None`` to send the original.
        tags: the tags the call is recorded and budgeted under.
    """

    call: Call
    model: str
    request: NormalizedRequest
    prompt_tokens: int
    completion_limit: int
    hide_usage: bool = False
    body: bytes | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def worst_case(self) -> int:
        """Prompt plus the completion limit: what the rate limiter reserves (Azure's own
        admission estimate, counted exactly)."""
        return self.prompt_tokens + self.completion_limit

    @property
    def streaming(self) -> bool:
        """Whether the response will stream."""
        return self.request.stream


def plan_call(call: Call, *, validate: bool = True, tags: Mapping[str, str] | None = None) -> Plan:
    """Resolve, check and count a call before it is sent.

    Raises:
        UnknownModelError: the model (or Azure deployment) is not in the registry; the
            message says how to register it.
        ContextWindowExceededError: (``validate``) the prompt and completion do not fit.
        InvalidRequestError: the request cannot be read (no model, an unreadable prompt) or,
            with ``validate``, breaks a parameter rule the API enforces.
    """
    from tokman import models

    name = call.name
    if name is None:
        raise InvalidRequestError(
            "model", call.body.get("model"), "the model or Azure deployment name of the call"
        )
    info = models.get(name)
    body = call.body if call.deployment is None else {**call.body, "model": name}
    request = normalize_request(body, api=call.api, model_kind=info.kind)
    if validate:
        from tokman.validation import check_request

        check = check_request(**body)
        check.raise_for_problems()
        prompt = check.prompt_tokens
    else:
        prompt = None
    if prompt is None:
        unreadable = request.prompt_errors + request.limit_errors
        if unreadable:
            raise unreadable[0]
        prompt = _count_prompt(request, info.name)
    if call.api == "embeddings":
        limit = 0
    else:
        per_copy = request.completion_tokens
        if per_copy is None:
            per_copy = info.max_output_tokens or 0
        limit = per_copy * request.copies
    hide = call.api == "chat" and request.stream and not request.include_usage
    rewritten = None
    if hide:
        options = call.body.get("stream_options")
        options = dict(options) if isinstance(options, Mapping) else {}
        options["include_usage"] = True
        rewritten = json.dumps({**call.body, "stream_options": options}).encode()
    return Plan(
        call=call,
        model=info.name,
        request=request,
        prompt_tokens=prompt,
        completion_limit=limit,
        hide_usage=hide,
        body=rewritten,
        tags=dict(tags or {}),
    )


def _count_prompt(request: NormalizedRequest, model: str) -> int:
    if request.api == "embeddings":
        from tokman.counting.embeddings import count_inputs

        return sum(count_inputs(request, model=model))
    from tokman.counting.chat import count_normalized

    return count_normalized(request, model=model).total


def estimated_usage(plan: Plan, completion_text: str) -> Usage:
    """The usage of a call whose real usage was never seen (a stream cut or closed early): the
    prompt as counted, the completion counted from the text received."""
    from tokman.counting import count

    completion = count(completion_text, model=plan.model) if completion_text else 0
    return Usage(prompt_tokens=plan.prompt_tokens, completion_tokens=completion)


def record_for(
    plan: Plan,
    *,
    usage: Usage | None,
    status: str,
    response_id: str | None = None,
    response_model: str | None = None,
    latency: float | None = None,
    time: datetime | None = None,
) -> UsageRecord:
    """The ledger record of a call: ``usage`` as served (``status="ok"``), an estimate
    (``"estimated"``) or nothing (``"error"``: a failed call, no tokens), priced.

    The response id is the record id, so a response recorded twice is stored once; the
    response's model (a dated snapshot) is what was billed, so it is the record's model.
    """
    counts = usage or Usage(0, 0)
    kwargs: dict[str, Any] = {
        "model": response_model or plan.model,
        "deployment": plan.call.deployment,
        "operation": plan.call.api,
        "prompt_tokens": counts.prompt_tokens,
        "cached_tokens": counts.cached_tokens,
        "completion_tokens": counts.completion_tokens,
        "reasoning_tokens": counts.reasoning_tokens,
        "status": status,
        "latency": latency,
        "tags": plan.tags,
    }
    if response_id:
        kwargs["id"] = response_id
    if time is not None:
        kwargs["time"] = time
    record = UsageRecord(**kwargs).priced()
    if record.cost is None and record.model != plan.model:  # a snapshot the registry lacks
        fallback = record.replace(model=plan.model).priced()
        if fallback.cost is not None:
            return fallback
    return record


def event_for(
    plan: Plan | None,
    call: Call,
    outcome: Outcome,
    *,
    record: UsageRecord | None = None,
    status_code: int | None = None,
    error_type: str | None = None,
    response_model: str | None = None,
    duration: float = 0.0,
    first_chunk: float | None = None,
    limiter_wait: float | None = None,
    budget_remaining: Mapping[str, Decimal] | None = None,
) -> CallEvent:
    """The metrics event of a call that ended (or was refused before it was sent)."""
    model = plan.model if plan is not None else (call.name or "")
    request_model = call.body.get("model")
    return CallEvent(
        api=call.api,
        provider=call.provider,
        outcome=outcome,
        model=model,
        request_model=request_model if isinstance(request_model, str) else None,
        response_model=response_model,
        deployment=call.deployment,
        streaming=plan.streaming if plan is not None else bool(call.body.get("stream")),
        status_code=status_code,
        error_type=error_type,
        input_tokens=record.prompt_tokens if record else 0,
        cached_input_tokens=record.cached_tokens if record else 0,
        output_tokens=record.completion_tokens if record else 0,
        reasoning_tokens=record.reasoning_tokens if record else 0,
        cost_usd=record.cost if record else None,
        duration_s=duration,
        time_to_first_chunk_s=first_chunk,
        limiter_wait_s=limiter_wait,
        budget_remaining_usd=dict(budget_remaining or {}),
        server_address=call.server_address,
        server_port=call.server_port,
        tags=plan.tags if plan is not None else {},
    )
