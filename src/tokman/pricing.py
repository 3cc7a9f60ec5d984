"""What a request cost (``cost``) or may cost (``estimate_cost``), in exact ``Decimal`` USD.

``usage`` is what the API returned: an ``openai`` SDK usage object (Chat Completions
``CompletionUsage``, Responses ``ResponseUsage``, embeddings ``Usage``), the response that holds
it, or the same data as a dict. Fields are read by attribute or key, so tokman never imports
``openai``.

Billing semantics, as the API reports usage:

* cached tokens are a *part* of the prompt tokens (``prompt_tokens_details.cached_tokens`` /
  ``input_tokens_details.cached_tokens``); they are billed at the cached-input price and the
  rest at the input price. A price with no cached rate bills them at the input price, and the
  ``Cost`` says so in ``notes``;
* reasoning tokens are a part of the completion tokens and are billed as output;
* batch prices apply when ``batch=True`` (or the deployment type is a Batch type).

No float is ever involved: token counts must be ``int`` and prices are ``Decimal`` parsed from
strings, so ``cost`` gives the same digits on every machine, today and when re-run later with
``at=`` the date of the request.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tokman.errors import InvalidRequestError
from tokman.models import ModelInfo, Price
from tokman.models import get as _get_model
from tokman.requests import NormalizedRequest, normalize_request

__all__ = ["Cost", "CostEstimate", "Usage", "cost", "estimate_cost", "read_usage"]

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Usage:
    """Token counts read from an API usage object; every part is included in its total."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class Cost:
    """The cost of one request in USD, split by how each token was billed.

    ``input`` is the uncached prompt tokens at the input price, ``cached_input`` the cached
    ones at the cached price, ``output`` the completion tokens (reasoning included) at the
    output price; ``total`` is their sum. ``price_id``/``effective`` name the price used, so the
    number can be traced to ``models.json`` and its source; ``notes`` records every rule
    applied that a reader might not expect.
    """

    model: str
    input: Decimal
    cached_input: Decimal
    output: Decimal
    total: Decimal
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    price_id: str
    effective: _dt.date
    batch: bool = False
    deployment_type: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CostEstimate:
    """The cost range of a request before it is sent.

    ``minimum`` assumes no output and no cache hits; ``maximum`` assumes the output runs to
    ``max_output_tokens`` (the request's limit, else the model's). Cache hits can only make
    the real cost lower than ``maximum``; they can make it lower than ``minimum`` too.
    """

    model: str
    prompt_tokens: int
    max_output_tokens: int
    output_limit_from: str
    low: Cost
    high: Cost

    @property
    def minimum(self) -> Decimal:
        """USD with no output tokens."""
        return self.low.total

    @property
    def maximum(self) -> Decimal:
        """USD with ``max_output_tokens`` of output."""
        return self.high.total


def _field(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _count(value: Any, path: str, *, required: bool = False) -> int:
    if value is None:
        if required:
            raise InvalidRequestError(
                path, None, "the usage has no such count; pass the API's usage"
            )
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(
            path, value, "expected a whole number of tokens (int); tokman never uses floats"
        )
    if value < 0:
        raise InvalidRequestError(path, value, "token counts cannot be negative")
    return value


def read_usage(usage: Any) -> Usage:
    """Token counts from a Chat, Responses or embeddings usage (object or dict), or a response.

    >>> read_usage({"prompt_tokens": 1566, "completion_tokens": 100,
    ...             "prompt_tokens_details": {"cached_tokens": 1408}})
    Usage(prompt_tokens=1566, completion_tokens=100, cached_tokens=1408, reasoning_tokens=0)

    Raises:
        InvalidRequestError: a count is missing, not an int, negative, or a part exceeds its
            total (cached > prompt, reasoning > completion); audio tokens (no audio prices).
    """
    if _field(usage, "prompt_tokens") is None and _field(usage, "input_tokens") is None:
        inner = _field(usage, "usage")
        if inner is not None:
            usage = inner
    if _field(usage, "input_tokens") is not None:  # Responses API
        pre, prompt_key, completion_key = "usage.", "input_tokens", "output_tokens"
        prompt_details, completion_details = "input_tokens_details", "output_tokens_details"
    elif _field(usage, "prompt_tokens") is not None:  # Chat Completions, embeddings
        pre, prompt_key, completion_key = "usage.", "prompt_tokens", "completion_tokens"
        prompt_details, completion_details = "prompt_tokens_details", "completion_tokens_details"
    else:
        raise InvalidRequestError(
            "usage",
            usage,
            "expected an API usage object or dict with prompt_tokens (Chat Completions, "
            "embeddings) or input_tokens (Responses)",
        )
    prompt = _count(_field(usage, prompt_key), pre + prompt_key, required=True)
    completion = _count(_field(usage, completion_key), pre + completion_key)
    p_details = _field(usage, prompt_details)
    c_details = _field(usage, completion_details)
    cached_path = f"{pre}{prompt_details}.cached_tokens"
    cached = _count(_field(p_details, "cached_tokens"), cached_path)
    reasoning_path = f"{pre}{completion_details}.reasoning_tokens"
    reasoning = _count(_field(c_details, "reasoning_tokens"), reasoning_path)
    if cached > prompt:
        raise InvalidRequestError(
            cached_path, cached, f"cached tokens are part of the {prompt} prompt tokens"
        )
    if reasoning > completion:
        raise InvalidRequestError(
            reasoning_path,
            reasoning,
            f"reasoning tokens are part of the {completion} output tokens",
        )
    for details, key in ((p_details, prompt_details), (c_details, completion_details)):
        audio = _count(_field(details, "audio_tokens"), f"{pre}{key}.audio_tokens")
        if audio:
            raise InvalidRequestError(
                f"{pre}{key}.audio_tokens",
                audio,
                "tokman ships no audio-token prices and will not bill audio as text; "
                "price audio requests from the vendor's audio rates",
            )
    return Usage(prompt, completion, cached, reasoning)


def _tidy(amount: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (value unchanged)."""
    if amount == amount.to_integral_value():
        return amount.quantize(Decimal(1))
    return amount.normalize()


def _money(tokens: int, per_million: Decimal) -> Decimal:
    # exact: Decimal * int, then a power-of-ten shift (no division, no rounding)
    return _tidy((per_million * tokens).scaleb(-6))


def _price_for(info: ModelInfo, at: Any, batch: bool, deployment_type: str | None) -> Price:
    if not isinstance(batch, bool):
        raise InvalidRequestError("batch", batch, "expected True or False")
    return info.price_at(at, deployment_type, batch)


def _cost_of(counts: Usage, info: ModelInfo, price: Price, deployment_type: str | None) -> Cost:
    notes: list[str] = []
    cached_rate = price.cached_input
    if cached_rate is None:
        cached_rate = price.input
        if counts.cached_tokens:
            notes.append(
                f"no cached-input price for {price.id}: cached tokens billed at the "
                + ("batch " if price.batch else "")
                + "input price"
            )
    if price.derived:
        notes.append(f"derived price: {price.derived}")
    uncached = counts.prompt_tokens - counts.cached_tokens
    parts = (
        _money(uncached, price.input),
        _money(counts.cached_tokens, cached_rate),
        _money(counts.completion_tokens, price.output),
    )
    return Cost(
        model=info.name,
        input=parts[0],
        cached_input=parts[1],
        output=parts[2],
        total=_tidy(parts[0] + parts[1] + parts[2]),
        prompt_tokens=counts.prompt_tokens,
        cached_tokens=counts.cached_tokens,
        completion_tokens=counts.completion_tokens,
        reasoning_tokens=counts.reasoning_tokens,
        price_id=price.id,
        effective=price.effective,
        batch=price.batch,
        deployment_type=price.deployment_type,
        notes=tuple(notes),
    )


def _model(model: Any) -> ModelInfo:
    if isinstance(model, ModelInfo):
        return model
    if not isinstance(model, str):
        raise InvalidRequestError("model", model, "the model or deployment name as a string")
    return _get_model(model)


def cost(
    usage: Any,
    *,
    model: str | ModelInfo,
    at: _dt.date | _dt.datetime | str | None = None,
    batch: bool = False,
    deployment_type: str | None = None,
) -> Cost:
    """The exact USD cost of a request from the usage the API reported.

    Args:
        usage: the response's ``usage`` (SDK object or dict), or the response itself.
        model: the model, snapshot or Azure deployment name (use the response's ``model``
            field for the exact snapshot).
        at: when the request was made (date, datetime or ISO string); default today (UTC).
        batch: price at Batch API rates.
        deployment_type: Azure deployment type (``GlobalStandard``, ``DataZoneStandard``,
            ``Standard``, ``GlobalBatch``, ...); ``None`` means the OpenAI API unless the model
            name is an Azure deployment or ``azure/`` route, which bring their own.

    >>> c = cost({"prompt_tokens": 2000, "completion_tokens": 500,
    ...           "prompt_tokens_details": {"cached_tokens": 1024}},
    ...          model="gpt-4o-mini", at="2025-06-01")
    >>> c.input, c.cached_input, c.output, c.total
    (Decimal('0.0001464'), Decimal('0.0000768'), Decimal('0.0003'), Decimal('0.0005232'))

    Raises:
        InvalidRequestError: bad usage counts, or no price recorded for that date,
            deployment type or batch (the message lists what is recorded).
        UnknownModelError: the model or deployment is unknown.
    """
    counts = read_usage(usage)
    info = _model(model)
    price = _price_for(info, at, batch, deployment_type)
    return _cost_of(counts, info, price, deployment_type)


_OUTPUT_LIMITS = ("max_output_tokens", "max_completion_tokens", "max_tokens")


def _prompt_tokens(info: ModelInfo, request: NormalizedRequest) -> int:
    from tokman.counting.chat import count_normalized  # lazy: counting is heavier than pricing

    if request.api == "embeddings":
        from tokman.counting.embeddings import count_inputs

        return sum(count_inputs(request, model=info.name))
    # the resolved name: a deployment name says nothing about how the prompt is framed
    return count_normalized(request, model=info.name).total


def estimate_cost(
    *,
    at: _dt.date | _dt.datetime | str | None = None,
    batch: bool = False,
    deployment_type: str | None = None,
    **request: Any,
) -> CostEstimate:
    """The cost range of a request before sending it: the same keyword arguments as
    ``client.chat.completions.create(...)`` (or ``responses.create``, ``embeddings.create``),
    plus tokman's ``at``, ``batch`` and ``deployment_type``.

    The request is read by ``tokman.requests.normalize_request``: prompt tokens are
    ``count_prompt``'s (an embeddings request's inputs for an embeddings model); the output
    bound is ``max_completion_tokens`` / ``max_tokens`` (``max_output_tokens`` for the
    Responses API), else the model's maximum output. Arguments that do not change the cost
    are ignored, as by ``count_prompt``; a completion limit that is invalid, set twice or
    named for another API raises, since the bound would be a guess.

    >>> est = estimate_cost(model="gpt-4o", at="2025-06-01", max_completion_tokens=100,
    ...                     messages=[{"role": "user", "content": "hello"}])
    >>> est.prompt_tokens, est.minimum, est.maximum
    (8, Decimal('0.00002'), Decimal('0.00102'))

    Raises:
        InvalidRequestError: no model, an unreadable prompt, a non-positive, conflicting or
            misplaced output limit, or no price recorded.
        UnknownModelError: the model or deployment is unknown.
    """
    info = _model(request.get("model"))
    normalized = normalize_request(request, model_kind=info.kind)
    unreadable = normalized.prompt_errors + normalized.limit_errors
    if unreadable:
        raise unreadable[0]
    limit = normalized.completion_tokens
    limit_from = normalized.completion_param or "model maximum output"
    if limit is None:
        limit = info.max_output_tokens or 0
    prompt = _prompt_tokens(info, normalized)
    price = _price_for(info, at, batch, deployment_type)
    low = _cost_of(Usage(prompt, 0), info, price, deployment_type)
    high = _cost_of(Usage(prompt, limit), info, price, deployment_type)
    return CostEstimate(info.name, prompt, limit, limit_from, low, high)
