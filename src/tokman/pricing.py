"""What a request cost (``cost``) or may cost (``estimate_cost``), in exact ``Decimal`` USD.

``usage`` is what the API returned: an ``openai`` SDK usage object (Chat Completions
``CompletionUsage``, Responses ``ResponseUsage``, embeddings ``Usage``), the response that holds
it, or the same data as a dict, read by `tokman.usage` (the one usage parser; a missing usage is
an error, never zero tokens).

Speed: a model's resolved prices (`rates_for`) are memoised in the registry's `memo` per model,
deployment, batch and deployment type, each over the dates its price holds, so pricing a known
model costs a few microseconds (``benchmarks/bench_pricing.py``) and the ledger can price every
unpriced record it writes.

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
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tokman._units import tidy as _tidy
from tokman._units import utc_date
from tokman.errors import InvalidRequestError, TokmanError
from tokman.models import ModelInfo, Price
from tokman.models import get as _get_model
from tokman.models import memo as _memo
from tokman.requests import NormalizedRequest, normalize_request
from tokman.usage import Usage, read_usage

__all__ = [
    "Cost",
    "CostEstimate",
    "Rates",
    "Usage",
    "cost",
    "estimate_cost",
    "rates_for",
    "rates_on",
    "read_usage",
]

_ZERO = Decimal(0)
_UTC = _dt.timezone.utc


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

    ``minimum`` assumes no output and no cache hits; ``maximum`` assumes every one of the
    ``completions`` (``n``/``best_of``: each is billed) runs to ``max_output_tokens`` (the
    request's limit, else the model's), while the prompt is billed once. Cache hits can only
    make the real cost lower than ``maximum``; they can make it lower than ``minimum`` too.
    """

    model: str
    prompt_tokens: int
    max_output_tokens: int
    output_limit_from: str
    low: Cost
    high: Cost
    completions: int = 1

    @property
    def minimum(self) -> Decimal:
        """USD with no output tokens."""
        return self.low.total

    @property
    def maximum(self) -> Decimal:
        """USD with ``max_output_tokens`` of output for each of the ``completions``."""
        return self.high.total


def _money(tokens: int, per_million: Decimal) -> Decimal:
    # exact: Decimal * int, then a power-of-ten shift (no division, no rounding)
    if not tokens:
        return _ZERO
    return _tidy((per_million * tokens).scaleb(-6))


def _price_for(info: ModelInfo, at: Any, batch: bool, deployment_type: str | None) -> Price:
    if not isinstance(batch, bool):
        raise InvalidRequestError("batch", batch, "expected True or False")
    return info.price_at(at, deployment_type, batch)


@dataclass(frozen=True, slots=True)
class Rates:
    """One resolved price, ready to bill: USD per 1M tokens plus what a `Cost` reports of it.

    `rates_for` caches these per (model, deployment, date, batch, deployment type) until the
    model registry changes, so billing a known model does no registry lookup.
    """

    model: str
    price: Price
    input: Decimal
    cached_input: Decimal
    output: Decimal
    price_id: str
    #: the note when cached tokens are billed at the input price (no cached price published)
    uncached_note: str | None
    derived_note: str | None

    @classmethod
    def of(cls, info: ModelInfo, price: Price) -> Rates:
        """The rates of ``price`` (the model's price at some date) for ``info``."""
        price_id = price.id
        uncached_note = None
        cached = price.cached_input
        if cached is None:
            cached = price.input
            uncached_note = (
                f"no cached-input price for {price_id}: cached tokens billed at the "
                + ("batch " if price.batch else "")
                + "input price"
            )
        derived = f"derived price: {price.derived}" if price.derived else None
        return cls(
            info.name, price, price.input, cached, price.output, price_id, uncached_note, derived
        )

    def total(self, prompt_tokens: int, cached_tokens: int, completion_tokens: int) -> Decimal:
        """The exact USD total for these (already checked) counts; cached is part of prompt."""
        return _tidy(
            (
                (prompt_tokens - cached_tokens) * self.input
                + cached_tokens * self.cached_input
                + completion_tokens * self.output
            ).scaleb(-6)
        )

    def bill(self, counts: Usage) -> Cost:
        """The `Cost` of ``counts`` at these rates."""
        uncached = counts.prompt_tokens - counts.cached_tokens
        cached = counts.cached_tokens
        parts = (
            _money(uncached, self.input),
            _money(cached, self.cached_input),
            _money(counts.completion_tokens, self.output),
        )
        notes: tuple[str, ...] = ()
        if cached and self.uncached_note is not None:
            notes = (self.uncached_note,)
        if self.derived_note is not None:
            notes = (*notes, self.derived_note)
        price = self.price
        # a Cost without its generated __init__: a frozen dataclass sets its 14 fields one
        # object.__setattr__ at a time, over a third of a cost() call (values are built here)
        result = _new(Cost)
        result.__dict__.update(
            model=self.model,
            input=parts[0],
            cached_input=parts[1],
            output=parts[2],
            total=_tidy(parts[0] + parts[1] + parts[2]),
            prompt_tokens=counts.prompt_tokens,
            cached_tokens=cached,
            completion_tokens=counts.completion_tokens,
            reasoning_tokens=counts.reasoning_tokens,
            price_id=self.price_id,
            effective=price.effective,
            batch=price.batch,
            deployment_type=price.deployment_type,
            notes=notes,
        )
        return result


_new = object.__new__


def _cost_of(counts: Usage, info: ModelInfo, price: Price, deployment_type: str | None) -> Cost:
    return Rates.of(info, price).bill(counts)


def _model(model: Any) -> ModelInfo:
    if isinstance(model, ModelInfo):
        return model
    if not isinstance(model, str):
        raise InvalidRequestError("model", model, "the model or deployment name as a string")
    return _get_model(model)


_today: tuple[int, _dt.date] = (-1, _dt.date.min)


def _utc_today() -> _dt.date:
    """Today's UTC date, rebuilt only when the day changes (``datetime.now`` is a fifth of a
    ``cost()`` call)."""
    global _today
    day = int(time.time() // 86_400)
    if day != _today[0]:
        _today = (day, _dt.date(1970, 1, 1) + _dt.timedelta(days=day))
    return _today[1]


def _day(at: Any) -> _dt.date:
    if at is None:
        return _utc_today()
    kind = type(at)
    if kind is _dt.datetime and at.tzinfo is _UTC:
        return at.date()  # type: ignore[no-any-return]
    if kind is _dt.date:
        return at  # type: ignore[no-any-return]
    return utc_date(at)


class _Schedule:
    """One (model, deployment, batch, deployment type)'s prices over time, kept by the registry's
    `memo` (dropped on every registration): the resolved model, and each price window met so
    far, ``(first day, end day, rates)``. A price chosen for one day holds from its effective
    date until the model's next recorded price change, so one window serves every request of
    that span (a ledger batch prices mostly one key and one span)."""

    __slots__ = ("deployment_type", "info", "windows")

    def __init__(self, info: ModelInfo, deployment_type: str | None) -> None:
        self.info = info
        self.deployment_type = deployment_type
        self.windows: tuple[tuple[_dt.date, _dt.date, Rates], ...] = ()

    def at(self, day: _dt.date, batch: bool) -> Rates:
        for first, end, rates in self.windows:
            if first <= day < end:
                return rates
        info = self.info
        price = info.price_at(day, self.deployment_type, batch)  # raises: nothing is kept
        rates = Rates.of(info, price)
        later = [p.effective for p in info.prices if p.effective > price.effective]
        window = (price.effective, min(later, default=_dt.date.max), rates)
        self.windows = (*self.windows, window)  # replaced whole: safe for concurrent readers
        return rates


def _resolve(model: str | ModelInfo, deployment: str | None) -> ModelInfo:
    if deployment is None:
        return _model(model)
    via = _get_model(deployment)
    if not model:
        return via
    return _model(model).with_route(
        provider="azure", deployment=via.deployment, deployment_type=via.deployment_type
    )


def rates_for(
    model: str | ModelInfo,
    *,
    at: _dt.date | _dt.datetime | str | None = None,
    batch: bool = False,
    deployment_type: str | None = None,
    deployment: str | None = None,
) -> Rates:
    """The `Rates` that `cost` bills with (same arguments), memoised for model names.

    ``deployment`` is an Azure deployment name the call went through (a ledger record's
    ``deployment``): it brings its deployment type, while ``model`` (the response's model, the
    exact snapshot) chooses the model's prices; ``model`` may be empty to use the deployment's.

    Raises:
        InvalidRequestError: no price recorded for that date, deployment type or batch.
        UnknownModelError: the model or deployment is unknown.
    """
    if batch is not True and batch is not False:
        raise InvalidRequestError("batch", batch, "expected True or False")
    if deployment_type is not None and type(deployment_type) is not str:
        raise InvalidRequestError("deployment_type", deployment_type, "the Azure type as a str")
    if deployment is not None and type(deployment) is not str:
        raise InvalidRequestError("deployment", deployment, "the Azure deployment name as a str")
    if type(model) is not str:
        return _Schedule(_resolve(model, deployment), deployment_type).at(_day(at), batch)
    return rates_on(model, deployment, batch, deployment_type, _day(at))


def rates_on(
    model: str, deployment: str | None, batch: bool, deployment_type: str | None, day: _dt.date
) -> Rates:
    """`rates_for` with its arguments already checked and ``at`` already a UTC date (the
    ledger's per-record path: a `UsageRecord` has checked them when it was built)."""
    schedule = _memo(
        "pricing.rates",
        (model, deployment, batch, deployment_type),
        lambda: _schedule(model, deployment, deployment_type),
    )
    if not isinstance(schedule, _Schedule):
        raise schedule.with_traceback(None)
    return schedule.at(day, batch)


def _schedule(
    model: str, deployment: str | None, deployment_type: str | None
) -> _Schedule | TokmanError:
    try:
        return _Schedule(_resolve(model, deployment), deployment_type)
    except TokmanError as exc:
        # remembered like a success: an unknown name stays unknown until the registry changes,
        # and building its error (close-match suggestions) costs ~100 us per ledger record
        return exc


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
        usage: the response's ``usage`` (SDK object or dict), or the response itself
            (anything `tokman.usage.read_usage` understands).
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
        InvalidRequestError: bad or missing usage counts, or no price recorded for that date,
            deployment type or batch (the message lists what is recorded).
        UnknownModelError: the model or deployment is unknown.
    """
    counts = read_usage(usage)
    return rates_for(model, at=at, batch=batch, deployment_type=deployment_type).bill(counts)


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
    copies = normalized.copies
    high = _cost_of(Usage(prompt, limit * copies), info, price, deployment_type)
    return CostEstimate(info.name, prompt, limit, limit_from, low, high, copies)
