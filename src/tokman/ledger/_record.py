"""`UsageRecord`: one API call's usage and cost, as a plain value.

This module imports nothing heavy (no SQLAlchemy): a record is built in the hot path of every
request, and the ledger stores are loaded only when a ledger is opened.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from tokman._units import as_utc, check_tags, check_tokens, check_usd, from_us, to_us
from tokman.errors import InvalidRequestError, TokmanError
from tokman.usage import read_response

__all__ = ["OPERATIONS", "STATUSES", "UsageRecord", "as_utc", "from_us", "to_us"]

_log = logging.getLogger("tokman.ledger")

OPERATIONS = ("chat", "responses", "embeddings", "batch", "completions", "other")
STATUSES = ("ok", "error", "estimated")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _new_id() -> str:
    return "tokman-" + uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """The usage and cost of one API call: the unit the ledger stores, queries and sums.

    Every field has a default so a record can be built from whatever the caller knows; ``id`` is
    the idempotency key (the API response id when there is one), so storing the same call twice
    keeps one row. ``cost`` is left ``None`` to have the ledger price the record from the model
    registry when it is stored (see `priced`).

    Attributes:
        id: Idempotency key; a fresh ``tokman-<uuid>`` when not given.
        time: When the call finished (aware UTC; a naive value is taken as UTC).
        model: The model that served the call (``""`` when unknown).
        deployment: The Azure deployment name, if any.
        operation: ``chat``, ``responses``, ``embeddings``, ``batch``, ``completions``, ``other``.
        prompt_tokens: Input tokens billed, including ``cached_tokens``.
        cached_tokens: The part of ``prompt_tokens`` served from the prompt cache.
        completion_tokens: Output tokens billed, including ``reasoning_tokens``.
        reasoning_tokens: The part of ``completion_tokens`` spent on hidden reasoning.
        cost: Cost in USD, or ``None`` when not (yet) priced.
        price_id: Which price produced ``cost`` (so a later price change can be audited).
        status: ``ok``, ``error``, or ``estimated`` when the API's usage was never seen.
        latency: Seconds the call took, if measured.
        tags: Free string labels (user, tenant, feature...) that queries and reports group by.
        duplicate: ``True`` only on the record a ledger returns when the id was already stored:
            it is then the *stored* record, not the one passed in, and nothing new was written.
            Not stored, not compared, and in `to_dict` only when true.

    Every value is checked when the record is built, so a bad record fails here, naming the
    field, instead of later in a database driver: counts are ints >= 0 with cached <= prompt
    and reasoning <= completion; ``cost`` is a finite Decimal >= 0 (int and str accepted,
    floats never); ``latency`` is finite seconds >= 0; tags map str to str.

    >>> r = UsageRecord(id="r1", model="gpt-4o", prompt_tokens=100, completion_tokens=20)
    >>> r.total_tokens, r.status, r.operation
    (120, 'ok', 'chat')
    """

    id: str = field(default_factory=_new_id)
    time: datetime = field(default_factory=_now)
    model: str = ""
    deployment: str | None = None
    operation: str = "chat"
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal | None = None
    price_id: str | None = None
    status: str = "ok"
    latency: float | None = None
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    duplicate: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InvalidRequestError("UsageRecord.id", self.id, "a non-empty string")
        if not isinstance(self.time, datetime):
            raise InvalidRequestError("UsageRecord.time", self.time, "a datetime")
        object.__setattr__(self, "time", as_utc(self.time))
        if not isinstance(self.model, str):
            raise InvalidRequestError("UsageRecord.model", self.model, "a str ('' if unknown)")
        if self.deployment is not None and not isinstance(self.deployment, str):
            raise InvalidRequestError(
                "UsageRecord.deployment", self.deployment, "the Azure deployment name, or None"
            )
        if self.operation not in OPERATIONS:
            raise InvalidRequestError(
                "UsageRecord.operation", self.operation, f"one of {OPERATIONS}"
            )
        prompt = check_tokens(self.prompt_tokens, "UsageRecord.prompt_tokens")
        cached = check_tokens(self.cached_tokens, "UsageRecord.cached_tokens")
        completion = check_tokens(self.completion_tokens, "UsageRecord.completion_tokens")
        reasoning = check_tokens(self.reasoning_tokens, "UsageRecord.reasoning_tokens")
        if cached > prompt:
            raise InvalidRequestError(
                "UsageRecord.cached_tokens",
                cached,
                f"at most prompt_tokens ({prompt}): cached tokens are part of the prompt",
            )
        if reasoning > completion:
            raise InvalidRequestError(
                "UsageRecord.reasoning_tokens",
                reasoning,
                f"at most completion_tokens ({completion}): reasoning tokens are part of the "
                "completion",
            )
        if self.status not in STATUSES:
            raise InvalidRequestError("UsageRecord.status", self.status, f"one of {STATUSES}")
        if self.cost is not None:
            object.__setattr__(self, "cost", check_usd(self.cost, "UsageRecord.cost"))
        if self.price_id is not None and not isinstance(self.price_id, str):
            raise InvalidRequestError("UsageRecord.price_id", self.price_id, "a str or None")
        latency = self.latency
        if latency is not None and (
            isinstance(latency, bool)
            or not isinstance(latency, (int, float))
            or not math.isfinite(latency)
            or latency < 0
        ):
            raise InvalidRequestError(
                "UsageRecord.latency", latency, "finite seconds >= 0 (a float), or None"
            )
        object.__setattr__(self, "tags", check_tags(self.tags, "UsageRecord.tags"))
        if self.duplicate is not False and self.duplicate is not True:
            raise InvalidRequestError("UsageRecord.duplicate", self.duplicate, "True or False")

    @property
    def total_tokens(self) -> int:
        """``prompt_tokens + completion_tokens``."""
        return self.prompt_tokens + self.completion_tokens

    def replace(self, **changes: Any) -> UsageRecord:
        """A copy with ``changes`` applied (records are immutable), checked like a new record.

        Changing only ``cost``/``price_id`` (what stores and pricing do per record) checks just
        those two and copies the rest, which were checked when this record was built.
        """
        if changes.keys() <= _PRICE_FIELDS:
            cost = changes.get("cost", self.cost)
            price_id = changes.get("price_id", self.price_id)
            if cost is not None:
                cost = check_usd(cost, "UsageRecord.cost")
            if price_id is not None and not isinstance(price_id, str):
                raise InvalidRequestError("UsageRecord.price_id", price_id, "a str or None")
            return _with_cost(self, cost, price_id)
        return dataclasses.replace(self, **changes)

    def priced(self) -> UsageRecord:
        """This record with ``cost`` filled from the price registry, if it can be.

        The price is the model's on the record's date, at Batch rates for ``operation="batch"``
        and, when the record names a ``deployment`` known to `tokman.models` (registered or in
        ``$TOKMAN_DEPLOYMENTS``), at that deployment's Azure type (a Data Zone deployment costs
        more than the OpenAI API). A record that already has a cost is returned as is; one whose
        model has no known price, or whose deployment is not registered (its type, and so its
        price, is unknown), is returned as is too: storing usage must never fail because a
        price is missing, and reports count the unpriced rows.
        """
        if self.cost is not None or not (self.model or self.deployment):
            return self
        try:
            rates_on = _RATES_ON[0] if _RATES_ON else _load_rates_on()
            # time is aware UTC (checked in __post_init__), so its date is the UTC day
            rates = rates_on(
                self.model, self.deployment, self.operation == "batch", None, self.time.date()
            )
        except (ImportError, TokmanError) as exc:  # unknown model or price: keep the usage
            _log.debug("usage record %s left unpriced: %s", self.id, exc)
            return self
        total = rates.total(self.prompt_tokens, self.cached_tokens, self.completion_tokens)
        return _with_cost(self, total, rates.price_id)

    @classmethod
    def from_response(
        cls,
        response: Any,
        *,
        model: str | None = None,
        deployment: str | None = None,
        operation: str | None = None,
        tags: Mapping[str, str] | None = None,
        latency: float | None = None,
        time: datetime | None = None,
        estimate: Any = None,
    ) -> UsageRecord:
        """A record from an OpenAI-style response (object or dict), its bare ``usage``, a
        Responses stream's final event or a Batch API result line (`tokman.usage`).

        The response id becomes the record id, so recording the same response twice stores it
        once. A response without usage (a stream created without
        ``stream_options={"include_usage": True}``) raises instead of recording zero tokens,
        unless ``estimate`` gives the counts to use instead (a usage dict such as
        ``{"prompt_tokens": tokman.count_prompt(...), "completion_tokens": counted}`` or a
        `tokman.usage.Usage`): the record is then stored with ``status="estimated"``. A response
        that does carry usage always wins over the estimate.

        >>> r = UsageRecord.from_response({
        ...     "id": "chatcmpl-1", "model": "gpt-4o-2024-08-06",
        ...     "usage": {"prompt_tokens": 50, "completion_tokens": 7,
        ...               "prompt_tokens_details": {"cached_tokens": 32}}})
        >>> r.id, r.model, r.prompt_tokens, r.cached_tokens, r.completion_tokens
        ('chatcmpl-1', 'gpt-4o-2024-08-06', 50, 32, 7)

        Raises:
            InvalidRequestError: the response has no usage and no ``estimate`` was given, or
                its counts are invalid (the message names the field).
        """
        report = read_response(response, estimate=estimate)
        counts = report.usage
        kwargs: dict[str, Any] = {
            "model": model or report.model or "",
            "deployment": deployment,
            "operation": operation or report.operation or "chat",
            "prompt_tokens": counts.prompt_tokens,
            "cached_tokens": counts.cached_tokens,
            "completion_tokens": counts.completion_tokens,
            "reasoning_tokens": counts.reasoning_tokens,
            "latency": latency,
            "tags": check_tags(tags, "tags"),
        }
        if report.estimated:
            kwargs["status"] = "estimated"
        if report.id is not None:
            kwargs["id"] = report.id
        if time is not None:
            kwargs["time"] = time
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (Decimal and datetime as strings); `from_dict` reverses it."""
        return {
            "id": self.id,
            "time": self.time.isoformat(),
            "model": self.model,
            "deployment": self.deployment,
            "operation": self.operation,
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost": None if self.cost is None else str(self.cost),
            "price_id": self.price_id,
            "status": self.status,
            "latency": self.latency,
            "tags": dict(self.tags),
            **({"duplicate": True} if self.duplicate else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageRecord:
        """The record `to_dict` produced."""
        values = dict(data)
        values["time"] = datetime.fromisoformat(values["time"])
        if values.get("cost") is not None:
            values["cost"] = Decimal(values["cost"])
        return cls(**values)


_new = object.__new__
# The slots' setters, to fill a copy without the frozen __setattr__ (one C call per field).
_SET = {f.name: vars(UsageRecord)[f.name].__set__ for f in fields(UsageRecord)}


_PRICE_FIELDS = frozenset(("cost", "price_id"))


def _with_cost(r: UsageRecord, cost: Decimal | None, price_id: str | None) -> UsageRecord:
    """``r`` with ``cost`` and ``price_id`` set, skipping __post_init__: ``r`` is checked and
    the cost comes from pricing (the ledger prices every unpriced record it writes, so this is
    straight-line code: a loop over the fields, or `dataclasses.replace`, costs 2-5x more)."""
    s = _SET
    copy = _new(UsageRecord)
    s["id"](copy, r.id)
    s["time"](copy, r.time)
    s["model"](copy, r.model)
    s["deployment"](copy, r.deployment)
    s["operation"](copy, r.operation)
    s["prompt_tokens"](copy, r.prompt_tokens)
    s["cached_tokens"](copy, r.cached_tokens)
    s["completion_tokens"](copy, r.completion_tokens)
    s["reasoning_tokens"](copy, r.reasoning_tokens)
    s["cost"](copy, cost)
    s["price_id"](copy, price_id)
    s["status"](copy, r.status)
    s["latency"](copy, r.latency)
    s["tags"](copy, r.tags)
    s["duplicate"](copy, r.duplicate)
    return copy


# `tokman.pricing.rates_on`, imported on first use (pricing loads the model registry; a
# from-import per call would cost a quarter of pricing a record)
_RATES_ON: list[Any] = []


def _load_rates_on() -> Any:
    from tokman.pricing import rates_on

    _RATES_ON.append(rates_on)
    return rates_on
