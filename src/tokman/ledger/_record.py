"""`UsageRecord`: one API call's usage and cost, as a plain value.

This module imports nothing heavy (no SQLAlchemy): a record is built in the hot path of every
request, and the ledger stores are loaded only when a ledger is opened.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from tokman.errors import InvalidRequestError

__all__ = ["OPERATIONS", "STATUSES", "UsageRecord", "as_utc", "from_us", "to_us"]

_log = logging.getLogger("tokman.ledger")

OPERATIONS = ("chat", "responses", "embeddings", "batch", "completions", "other")
STATUSES = ("ok", "error", "estimated")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; a naive datetime is taken to be UTC already."""
    if value.tzinfo is timezone.utc:  # the common case (every stored record): no conversion
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_us(value: datetime) -> int:
    """Microseconds since the Unix epoch: the stored time, exact and sortable on every store."""
    delta = as_utc(value) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    """The aware UTC datetime for a stored microsecond timestamp (inverse of `to_us`)."""
    return _EPOCH + timedelta(microseconds=value)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _new_id() -> str:
    return "tokman-" + uuid.uuid4().hex


@dataclass(frozen=True)
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
        for name in ("prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidRequestError(f"UsageRecord.{name}", value, "an int >= 0")
        if self.status not in STATUSES:
            raise InvalidRequestError("UsageRecord.status", self.status, f"one of {STATUSES}")
        if self.cost is not None and not isinstance(self.cost, Decimal):
            if isinstance(self.cost, (int, str)) and not isinstance(self.cost, bool):
                object.__setattr__(self, "cost", Decimal(self.cost))
            else:
                raise InvalidRequestError(
                    "UsageRecord.cost", self.cost, "a Decimal (or int/str), never a float"
                )
        tags = dict(self.tags)
        for key, value in tags.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidRequestError(
                    f"UsageRecord.tags[{key!r}]", value, "str keys and values"
                )
        object.__setattr__(self, "tags", tags)

    @property
    def total_tokens(self) -> int:
        """``prompt_tokens + completion_tokens``."""
        return self.prompt_tokens + self.completion_tokens

    def replace(self, **changes: Any) -> UsageRecord:
        """A copy with ``changes`` applied (records are immutable)."""
        return dataclasses.replace(self, **changes)

    def priced(self) -> UsageRecord:
        """This record with ``cost`` filled from the price registry, if it can be.

        A record that already has a cost, or whose model has no known price, is returned as is:
        storing usage must never fail because a price is missing (reports count unpriced rows).
        """
        if self.cost is not None or not self.model:
            return self
        try:
            from tokman import pricing

            result = pricing.cost(
                {
                    "prompt_tokens": self.prompt_tokens,
                    "completion_tokens": self.completion_tokens,
                    "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
                    "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
                },
                model=self.model,
                at=self.time,
                batch=self.operation == "batch",
            )
        except Exception as exc:  # unknown model, pricing not available: keep the usage
            _log.debug("usage record %s left unpriced: %s", self.id, exc)
            return self
        return dataclasses.replace(self, cost=Decimal(result.total), price_id=result.price_id)

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
    ) -> UsageRecord:
        """A record from an OpenAI-style response (object or dict) or its bare ``usage``.

        Understands Chat Completions usage (``prompt_tokens``/``completion_tokens`` with
        ``*_details``), Responses usage (``input_tokens``/``output_tokens``) and embeddings
        usage. The response id becomes the record id, so recording the same response twice
        stores it once.

        >>> r = UsageRecord.from_response({
        ...     "id": "chatcmpl-1", "model": "gpt-4o-2024-08-06",
        ...     "usage": {"prompt_tokens": 50, "completion_tokens": 7,
        ...               "prompt_tokens_details": {"cached_tokens": 32}}})
        >>> r.id, r.model, r.prompt_tokens, r.cached_tokens, r.completion_tokens
        ('chatcmpl-1', 'gpt-4o-2024-08-06', 50, 32, 7)
        """
        usage = _get(response, "usage")
        if usage is None:
            usage = response
        rid = _get(response, "id")
        has_input = _get(usage, "input_tokens") is not None
        prompt = _get(usage, "input_tokens" if has_input else "prompt_tokens") or 0
        completion = _get(usage, "output_tokens" if has_input else "completion_tokens") or 0
        in_details = _get(usage, "input_tokens_details" if has_input else "prompt_tokens_details")
        out_details = _get(
            usage, "output_tokens_details" if has_input else "completion_tokens_details"
        )
        if operation is None:
            obj = _get(response, "object")
            operation = {"response": "responses", "list": "embeddings"}.get(str(obj), "chat")
        kwargs: dict[str, Any] = {
            "model": model or _get(response, "model") or "",
            "deployment": deployment,
            "operation": operation,
            "prompt_tokens": int(prompt),
            "cached_tokens": int(_get(in_details, "cached_tokens") or 0),
            "completion_tokens": int(completion),
            "reasoning_tokens": int(_get(out_details, "reasoning_tokens") or 0),
            "latency": latency,
            "tags": dict(tags or {}),
        }
        if isinstance(rid, str) and rid:
            kwargs["id"] = rid
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
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageRecord:
        """The record `to_dict` produced."""
        values = dict(data)
        values["time"] = datetime.fromisoformat(values["time"])
        if values.get("cost") is not None:
            values["cost"] = Decimal(values["cost"])
        return cls(**values)


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)
