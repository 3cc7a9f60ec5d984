"""``tokman.instrument(client)``: tokman's work done on every call of an official openai client.

    import openai, tokman
    client = tokman.instrument(openai.OpenAI(), ledger="sqlite:///usage.db")

The returned client is of the same class as the one given (``OpenAI``, ``AzureOpenAI``,
``AsyncOpenAI``, ``AsyncAzureOpenAI``): a ``with_options(http_client=...)`` copy whose HTTP
client's transport wraps the original one (same connection pool, proxies, timeouts). Nothing
in the ``openai`` module is patched, and the original client is left as it was.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from tokman.errors import InvalidRequestError, MissingDependencyError
from tokman.integrations._guard import AsyncGuard, Guard, OnError
from tokman.integrations.openai._azure import AzureOpenAIConfig
from tokman.integrations.openai._transport import transport_classes

if TYPE_CHECKING:
    from tokman.budgets import BudgetGuard
    from tokman.integrations.metrics import MetricsSink
    from tokman.ledger import AsyncLedger, Ledger
    from tokman.ratelimit import AsyncRateLimiter, RateLimiter
    from tokman.types import Clock

__all__ = ["AzureOpenAIConfig", "instrument"]

_Client = TypeVar("_Client")
#: the first openai release that lets an OpenAIError raised in the transport through as is
_RAISES_THROUGH = (2, 31)


def _openai() -> ModuleType:
    try:
        import openai
    except ImportError as exc:
        raise MissingDependencyError(
            "openai", extra="openai", feature="tokman.instrument(client)"
        ) from exc
    return openai


def _version(openai: ModuleType) -> tuple[int, ...]:
    parts = []
    for piece in str(getattr(openai, "__version__", "0")).split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _http_module(http: Any) -> ModuleType:
    """``httpx`` or ``httpx2``: the module of the SDK client's HTTP client (the SDK's default
    client is its own subclass of one of them)."""
    for klass in type(http).__mro__:
        root = klass.__module__.partition(".")[0]
        if root in ("httpx", "httpx2"):
            return sys.modules[root]
    raise InvalidRequestError(
        "client", http, "an openai client on an httpx or httpx2 HTTP client"
    )


def instrument(
    client: _Client,
    *,
    ledger: Ledger | AsyncLedger | str | None = None,
    limiter: RateLimiter | AsyncRateLimiter | None = None,
    budgets: BudgetGuard | None = None,
    metrics: MetricsSink | None = None,
    tags: Mapping[str, str] | None = None,
    validate: bool = True,
    on_error: OnError = "raise",
    max_wait: float | None = 60.0,
    clock: Clock | None = None,
) -> _Client:
    """An instrumented copy of ``client``: every chat, Responses and embeddings call checked,
    rate-limited, budgeted, priced, recorded and measured.

    Covered: ``chat.completions.create``, ``responses.create`` and ``embeddings.create``, plain
    and streaming, also through ``with_raw_response``, ``with_streaming_response`` and
    ``with_options(...)``. Other calls pass through untouched; Realtime and Responses over
    WebSocket do not use the HTTP client, so tokman cannot see them.

    Args:
        client: an ``openai.OpenAI``, ``AzureOpenAI``, ``AsyncOpenAI`` or ``AsyncAzureOpenAI``.
        ledger: where each call's `UsageRecord` goes (a `Ledger`, `AsyncLedger` or URL).
        limiter: a `RateLimiter` (sync clients) or `AsyncRateLimiter` (async clients): each
            attempt reserves its worst case first and settles to the real usage.
        budgets: a `BudgetGuard`: each call holds its worst case on every matching budget.
        metrics: a `tokman.integrations.metrics.MetricsSink`.
        tags: labels recorded with (and budgeted under) every call of this client.
        validate: refuse requests the API would reject (context window, parameters) before
            sending them.
        on_error: tokman's own failures before a call (unknown model, store down):
            ``"raise"`` (default) or ``"log"`` (warn once, send unaccounted).
        max_wait: seconds a call may wait for rate-limit admission (``None``: no limit).
        clock: a `tokman.types.Clock` for latencies (tests).

    Raises:
        InvalidRequestError: ``client`` is not an openai client, is already instrumented,
            or an argument is of the wrong kind (a sync limiter for an async client, ...).
        MissingDependencyError: ``openai`` is not installed (``pip install "tokman[openai]"``).

    Refusals raise before any byte is sent, as exceptions of both families: e.g.
    ``tokman.errors.RateLimitExceededError`` *and* ``openai.RateLimitError`` (openai >= 2.31;
    older SDKs raise their own ``RateLimitError`` whose ``code`` is tokman's).
    """
    openai = _openai()
    if not isinstance(client, (openai.OpenAI, openai.AsyncOpenAI)):
        raise InvalidRequestError(
            "client",
            client,
            "an openai.OpenAI, AzureOpenAI, AsyncOpenAI or AsyncAzureOpenAI client",
        )
    asynchronous = isinstance(client, openai.AsyncOpenAI)
    azure = isinstance(client, (openai.AzureOpenAI, openai.AsyncAzureOpenAI))
    options: dict[str, Any] = {
        "ledger": ledger, "limiter": limiter, "budgets": budgets, "metrics": metrics,
        "tags": tags, "validate": validate, "on_error": on_error, "max_wait": max_wait,
        "clock": clock,
    }  # fmt: skip
    guard = AsyncGuard(**options) if asynchronous else Guard(**options)
    http = client._client
    httpx = _http_module(http)
    sync_cls, async_cls = transport_classes(httpx)
    cls = async_cls if asynchronous else sync_cls
    if isinstance(http._transport, cls):
        raise InvalidRequestError(
            "client", client, "a client not instrumented yet (instrument the original once)"
        )
    raise_errors = _version(openai) >= _RAISES_THROUGH

    def wrap(transport: Any) -> Any:
        return cls(transport, guard, azure=azure, raise_errors=raise_errors, owner=http)

    wrapped = copy.copy(http)
    wrapped._transport = wrap(http._transport)
    wrapped._mounts = {k: None if t is None else wrap(t) for k, t in http._mounts.items()}
    instrumented: _Client = client.with_options(http_client=wrapped)
    return instrumented
