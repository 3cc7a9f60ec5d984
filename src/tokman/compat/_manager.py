"""`TokenManager` and `TokenUsage`: the seed's ``core.token_management`` API, on tokman.

Every method keeps the seed's name, arguments and result shape, and hands the work to the
tokman function that does it exactly: counting to `Encoding.count`, validation to
`tokman.check_request`, chunking to `tokman.TextChunker`, pricing to `tokman.cost` /
`tokman.pricing.rates_for`, limits to `tokman.models`, the usage record to `tokman.UsageRecord`
and ``Ledger.record``, metrics to a `MetricsSink`. What this module adds is only the seed's
shapes (dicts with its keys, a ``(bool, dict, str)`` triple, floats where the seed had floats).
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from tokman import models
from tokman._args import not_utf8
from tokman._units import check_tags, check_tokens, check_usd
from tokman.compat._cache import CountCache, text_key
from tokman.compat._collector import as_sink
from tokman.compat._dispatch import Dispatcher
from tokman.compat._profile import Profile, resolve
from tokman.encodings import Encoding, get_encoding
from tokman.errors import InvalidRequestError, TokmanError
from tokman.fitting import TextChunker
from tokman.integrations.metrics import CallEvent
from tokman.ledger import UsageRecord
from tokman.pricing import Cost, rates_for
from tokman.pricing import cost as price_usage
from tokman.validation import RequestCheck, check_request

__all__ = ["TokenManager", "TokenUsage", "chunk_text", "estimate_tokens"]

_log = logging.getLogger("tokman.compat")

_CACHED_DEPRECATION = (
    "calculate_usage(cached=...) is deprecated: cached=True now means cached_tokens="
    "prompt_tokens (every prompt token a prompt-cache hit, billed at the cached-input price; "
    "completion tokens are never cached and are billed at the output price), cached=False "
    "means cached_tokens=0. Pass cached_tokens=usage.prompt_tokens_details.cached_tokens, the "
    "part of the prompt the API reports as cached."
)


def _finite_usd(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise InvalidRequestError(
            "TokenUsage.estimated_cost", value, "a finite USD amount >= 0 (float, int or Decimal)"
        )
    exact = check_usd(Decimal(repr(value)) if isinstance(value, float) else value,
                      "TokenUsage.estimated_cost")  # fmt: skip
    return float(exact)


@dataclass
class TokenUsage:
    """Token usage and cost of one request, in the seed's shape.

    ``estimated_cost`` stays a ``float``, as in the seed, because the seed's callers add it to
    float totals and serialise it with ``json``; it is the exact ``cost`` rounded to the
    nearest float. ``cost`` is the exact ``Decimal`` from the registry (``None`` when the usage
    was built by hand without one) and is what tokman's ledger and budgets use. ``cached_tokens``
    is the part of ``prompt_tokens`` served from the prompt cache, ``reasoning_tokens`` the
    part of ``completion_tokens`` spent on hidden reasoning.

    Raises:
        InvalidRequestError: a count that is not an int >= 0, parts larger than their totals,
            ``total_tokens`` other than prompt plus completion, or a cost that is not a finite
            amount >= 0.
    """

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    estimated_cost: float
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal | None = None

    def __post_init__(self) -> None:
        prompt = check_tokens(self.prompt_tokens, "TokenUsage.prompt_tokens")
        completion = check_tokens(self.completion_tokens, "TokenUsage.completion_tokens")
        total = check_tokens(self.total_tokens, "TokenUsage.total_tokens")
        cached = check_tokens(self.cached_tokens, "TokenUsage.cached_tokens")
        reasoning = check_tokens(self.reasoning_tokens, "TokenUsage.reasoning_tokens")
        if total != prompt + completion:
            raise InvalidRequestError(
                "TokenUsage.total_tokens",
                total,
                f"prompt_tokens + completion_tokens = {prompt + completion}",
            )
        if cached > prompt:
            raise InvalidRequestError(
                "TokenUsage.cached_tokens", cached, f"at most prompt_tokens ({prompt})"
            )
        if reasoning > completion:
            raise InvalidRequestError(
                "TokenUsage.reasoning_tokens",
                reasoning,
                f"at most completion_tokens ({completion})",
            )
        self.estimated_cost = _finite_usd(self.estimated_cost)
        if self.cost is not None:
            self.cost = check_usd(self.cost, "TokenUsage.cost", allow_str=False)


def _check_bool(field: str, value: object) -> bool:
    if value is not True and value is not False:
        raise InvalidRequestError(field, value, "True or False")
    return value


def _ledger(ledger: object) -> Any:
    if ledger is None or callable(getattr(ledger, "record", None)):
        return ledger
    raise InvalidRequestError(
        "ledger",
        ledger,
        "a tokman Ledger or AsyncLedger (tokman.open_ledger(url)), anything with "
        "record(UsageRecord), or None",
    )


class TokenManager:
    """Counts, checks, chunks and prices requests for one model, like the seed's class.

    Args:
        model: the model name (``"gpt-4"``, ``"gpt-4o"``, any spelling tokman knows).
        deployment_name: the Azure deployment; when it is registered
            (`tokman.models.register_deployment` or ``$TOKMAN_DEPLOYMENTS``) its model replaces
            ``model`` and its deployment type prices the calls; an unregistered one is only a
            label on metrics and ledger records.
        config: a `tokman.AzureOpenAIConfig` or any object with a ``model_limits`` mapping in
            the seed's shape (overrides on top of the registry, see `tokman.compat._profile`);
            ``None`` (the default) uses the registry alone and reads no environment.
        metrics_collector: the seed's collector (``track_operation(operation_type, success,
            duration, usage)``, plain or ``async``) or a tokman `MetricsSink`.
        ledger: a tokman ``Ledger``/``AsyncLedger`` (``tokman.open_ledger(url)``);
            `track_request` records each tracked request there.
        tags: labels for the ledger records and metrics events (``{"tenant": "acme"}``).
        cache_size: how many token counts `estimate_tokens` remembers (0: none).

    Raises:
        UnknownModelError: the model is unknown (the seed silently used gpt-4's limits).
        InvalidRequestError: a bad argument, naming it.
    """

    def __init__(
        self,
        model: str = "gpt-4",
        deployment_name: str | None = None,
        config: Any = None,
        metrics_collector: Any = None,
        *,
        ledger: Any = None,
        tags: Mapping[str, str] | None = None,
        cache_size: int = 1024,
    ) -> None:
        profile = resolve(model, deployment_name, config)
        self._profile: Profile = profile
        self.config = config
        self.model: str = profile.model
        self.deployment_name: str | None = deployment_name
        self.metrics_collector = metrics_collector
        self.encoding: Encoding = get_encoding(profile.info.encoding)
        self._dispatch = Dispatcher(f"metrics_collector {type(metrics_collector).__name__}")
        self._sink = as_sink(metrics_collector, self._dispatch)
        self._ledger_dispatch = Dispatcher("ledger")
        self.ledger = _ledger(ledger)
        self._tags = check_tags({} if tags is None else tags, "tags")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise InvalidRequestError("cache_size", cache_size, "an int >= 0 (0: no cache)")
        self._cache = CountCache(cache_size)
        self._lock = threading.Lock()
        self._prompt = self._completion = self._cached = self._reasoning = self._requests = 0
        self._chunker: TextChunker | None = None
        _log.debug(
            "TokenManager for %s (deployment %s, encoding %s)",
            self.model, deployment_name, self.encoding.name,
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"TokenManager(model={self.model!r}, deployment_name={self.deployment_name!r})"

    # -- the seed's attributes ---------------------------------------------------------------

    @property
    def total_prompt_tokens(self) -> int:
        """Prompt tokens tracked so far (read under the lock that `track_request` takes)."""
        with self._lock:
            return self._prompt

    @property
    def total_completion_tokens(self) -> int:
        """Completion tokens tracked so far."""
        with self._lock:
            return self._completion

    @property
    def model_config(self) -> Mapping[str, Any]:
        """The seed's per-model dict, read-only, from the registry and the overrides."""
        limits: dict[str, Any] = {
            "max_tokens": self._profile.max_tokens,
            "chunk_size": self._profile.chunk_size,
        }
        try:
            costs = self.get_token_costs()
            cached = self.get_token_costs(cached=True)
        except TokmanError:  # a model with no price (a fine-tune): the limits still hold
            return MappingProxyType(limits)
        limits["cost_per_1k_prompt"] = costs["prompt_cost_per_1k"]
        limits["cost_per_1k_completion"] = costs["completion_cost_per_1k"]
        limits["cached_cost_per_1k_prompt"] = cached["prompt_cost_per_1k"]
        return MappingProxyType(limits)

    # -- counting ----------------------------------------------------------------------------

    def estimate_tokens(self, text: str) -> int:
        """The exact token count of ``text`` (special-token text counted as plain text).

        Raises:
            InvalidRequestError: ``text`` is not a str, or is not valid UTF-8.
        """
        if not isinstance(text, str):
            raise InvalidRequestError("text", text, "expected a str; decode bytes first")
        key = text_key(text)
        known = self._cache.get(key)
        if known is not None:
            return known
        tokens = self.encoding.count(text)
        self._cache.put(key, tokens)
        return tokens

    def reset_cache(self) -> None:
        """Forget every count `estimate_tokens` remembered."""
        self._cache.clear()
        _log.debug("token count cache of %s cleared", self.model)

    # -- validation --------------------------------------------------------------------------

    async def validate_request(
        self, prompt: str, max_completion_tokens: int | None = None
    ) -> tuple[bool, dict[str, int], str]:
        """The seed's awaitable check; see `validate_request_sync` (the work is CPU-only)."""
        self._dispatch.remember_loop()
        return self.validate_request_sync(prompt, max_completion_tokens)

    def validate_request_sync(
        self, prompt: str, max_completion_tokens: int | None = None
    ) -> tuple[bool, dict[str, int], str]:
        """Whether ``prompt`` (sent as one user message) and the completion fit the model.

        Returns ``(ok, metrics, message)``. ``metrics`` has the seed's keys (``prompt_tokens``:
        what the API will bill, chat framing included; ``max_completion_tokens``: the one given,
        else the most the model can still produce; ``total_tokens``; ``model_limit``;
        ``chunk_size``) plus ``text_tokens`` (the prompt text alone), ``framing_tokens``,
        ``context_window``, ``max_output_tokens`` and ``over_by``. When the request does not
        fit, ``ok`` is False and ``message`` says by how much and what to do.

        Raises:
            InvalidRequestError: ``prompt`` is not a str (or not valid UTF-8), or
                ``max_completion_tokens`` is not an int >= 1 or None.
        """
        if not isinstance(prompt, str):
            raise InvalidRequestError("prompt", prompt, "the prompt text as a str")
        if max_completion_tokens is not None:
            check_tokens(max_completion_tokens, "max_completion_tokens")
            if max_completion_tokens < 1:
                raise InvalidRequestError(
                    "max_completion_tokens", max_completion_tokens, "an int >= 1, or None"
                )
        text_tokens = self._text_tokens(prompt)
        embedding = self._profile.info.kind == "embedding"
        if embedding and max_completion_tokens is not None:
            raise InvalidRequestError(
                "max_completion_tokens",
                max_completion_tokens,
                f"None: {self.model} is an embeddings model and produces no completion",
            )
        request: dict[str, Any] = {"model": self._profile.name}
        if embedding:
            request["input"] = prompt
        else:
            request["messages"] = [{"role": "user", "content": prompt}]
            if max_completion_tokens is not None:
                request["max_completion_tokens"] = max_completion_tokens
        check = check_request(**request)
        return self._verdict(check, prompt, text_tokens, max_completion_tokens)

    def _text_tokens(self, prompt: str) -> int:
        try:
            return self.estimate_tokens(prompt)
        except InvalidRequestError as exc:
            if exc.field == "text":
                raise not_utf8("prompt", prompt) from None
            raise

    def _verdict(
        self, check: RequestCheck, prompt: str, text_tokens: int, completion: int | None
    ) -> tuple[bool, dict[str, int], str]:
        p = self._profile
        prompt_tokens = check.prompt_tokens
        if prompt_tokens is None:  # not countable: only a broken request gets here
            check.raise_for_problems()
            raise AssertionError("a request without a prompt count has a problem")
        room = max(0, min(check.remaining or 0, p.max_tokens - prompt_tokens))
        wanted = completion if completion is not None else room
        total = prompt_tokens + wanted
        metrics = {
            "prompt_tokens": prompt_tokens,
            "max_completion_tokens": wanted,
            "total_tokens": total,
            "model_limit": p.max_tokens,
            "chunk_size": p.chunk_size,
            "text_tokens": text_tokens,
            "framing_tokens": prompt_tokens - text_tokens,
            "context_window": p.info.context_window,
            "max_output_tokens": p.max_completion_tokens,
            "over_by": 0,
        }
        if check.problems:
            problem = check.problems[0]
            over = getattr(problem.error, "over_by", 0)
            metrics["over_by"] = over if isinstance(over, int) else 0
            message = problem.message
            if problem.kind == "context_window":
                message += self._chunk_hint(prompt)
            _log.info("request for %s rejected: %s", self.model, problem.kind)
            return False, metrics, message
        if p.max_tokens_override is not None and total > p.max_tokens:
            metrics["over_by"] = total - p.max_tokens
            message = (
                f"Request for {self.model} does not fit the configured limit: {prompt_tokens:,} "
                f"prompt tokens + {wanted:,} completion tokens = {total:,}, over "
                f"config.model_limits[{p.override_key!r}]['max_tokens'] ({p.max_tokens:,}) by "
                f"{total - p.max_tokens:,}. To fix: lower max_completion_tokens to "
                f"{max(p.max_tokens - prompt_tokens, 0):,}; or shorten the prompt to "
                f"{max(p.max_tokens - wanted, 0):,} tokens;{self._chunk_hint(prompt)} or raise "
                "max_tokens in the config (the model's window is "
                f"{p.info.context_window:,})."
            )
            _log.info("request for %s rejected: over the configured max_tokens", self.model)
            return False, metrics, message
        if prompt_tokens > p.chunk_size:
            chunks = len(self.chunk_text(prompt))
            message = (
                f"Request validated successfully; the prompt's {prompt_tokens:,} tokens are over "
                f"chunk_size ({p.chunk_size:,}): chunk_text(prompt) splits it into {chunks} chunks"
            )
            return True, metrics, message
        _log.debug("request for %s validated: %d prompt tokens", self.model, prompt_tokens)
        return True, metrics, "Request validated successfully"

    def _chunk_hint(self, prompt: str) -> str:
        chunks = len(self.chunk_text(prompt))
        return (
            f" With TokenManager: chunk_text(prompt) splits the prompt into {chunks} chunks of "
            f"at most {self._profile.chunk_size:,} tokens, each of which fits."
        )

    # -- chunking ----------------------------------------------------------------------------

    def chunk_text(self, text: str, max_tokens: int | None = None) -> list[str]:
        """``text`` in pieces of at most ``max_tokens`` (default ``chunk_size``) tokens each,
        cut at the best boundary (paragraph, line, sentence, word, grapheme);
        ``"".join(pieces) == text``.

        Raises:
            InvalidRequestError: ``text`` is not a str, or ``max_tokens`` is not an int >= 1.
        """
        if max_tokens is None:
            chunker = self._chunker
            if chunker is None:
                chunker = self._chunker = TextChunker(
                    self._profile.chunk_size, encoding=self.encoding.name
                )
        else:
            chunker = TextChunker(max_tokens, encoding=self.encoding.name)
        return [c.text for c in chunker.chunks(text)]

    # -- pricing -----------------------------------------------------------------------------

    def _cost(self, prompt: int, completion: int, cached: int, reasoning: int) -> Cost:
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }
        return price_usage(usage, model=self._profile.price_model)

    def calculate_usage(
        self,
        prompt_tokens: int,
        completion_tokens: int,
        cached_tokens: int | bool = 0,
        reasoning_tokens: int = 0,
        *,
        cached: bool | None = None,
    ) -> TokenUsage:
        """The usage and exact cost of a request, at today's registry price.

        ``cached_tokens`` is the part of the prompt the API reports as a cache hit
        (``usage.prompt_tokens_details.cached_tokens``); only that part is billed at the
        cached-input price. The seed's ``cached=True/False`` (also as the third positional
        argument) still works and warns (`DeprecationWarning`): it now means all or none of
        the prompt was cached.

        Raises:
            InvalidRequestError: a count that is not an int >= 0, cached over prompt or
                reasoning over completion, both ``cached`` and ``cached_tokens``, or no price
                recorded for the model.
        """
        if isinstance(cached_tokens, bool):  # the seed's positional calculate_usage(p, c, True)
            if cached is not None:
                raise InvalidRequestError("cached", cached, "pass cached= once")
            cached, cached_tokens = cached_tokens, 0
        prompt = check_tokens(prompt_tokens, "prompt_tokens")
        completion = check_tokens(completion_tokens, "completion_tokens")
        hits = check_tokens(cached_tokens, "cached_tokens")
        reasoning = check_tokens(reasoning_tokens, "reasoning_tokens")
        if cached is not None:
            _check_bool("cached", cached)
            if hits:
                raise InvalidRequestError(
                    "cached", cached, "None when cached_tokens is given (cached_tokens says it)"
                )
            warnings.warn(_CACHED_DEPRECATION, DeprecationWarning, stacklevel=2)
            hits = prompt if cached else 0
        self._check_parts(prompt, completion, hits, reasoning, "prompt_tokens", "completion_tokens")
        exact = self._cost(prompt, completion, hits, reasoning)
        return TokenUsage(
            prompt, completion, prompt + completion, float(exact.total),
            cached_tokens=hits, reasoning_tokens=reasoning, cost=exact.total,
        )  # fmt: skip

    @staticmethod
    def _check_parts(
        prompt: int, completion: int, cached: int, reasoning: int, p_name: str, c_name: str
    ) -> None:
        if cached > prompt:
            raise InvalidRequestError(
                "cached_tokens", cached, f"at most {p_name} ({prompt}): cached is part of it"
            )
        if reasoning > completion:
            raise InvalidRequestError(
                "reasoning_tokens", reasoning, f"at most {c_name} ({completion}): part of it"
            )

    def get_token_costs(self, cached: bool = False) -> dict[str, float]:
        """USD per 1,000 tokens at today's price: ``prompt_cost_per_1k`` (the cached-input
        price when ``cached``; the input price where none is published) and
        ``completion_cost_per_1k`` (the output price either way: completions are never cached).

        Floats, as in the seed (its callers multiply them by float token fractions); the exact
        ``Decimal`` rates are `tokman.pricing.rates_for`.

        Raises:
            InvalidRequestError: ``cached`` is not a bool, or no price is recorded.
        """
        _check_bool("cached", cached)
        rates = rates_for(self._profile.price_model)
        prompt = rates.cached_input if cached else rates.input
        return {
            "prompt_cost_per_1k": float(prompt.scaleb(-3)),
            "completion_cost_per_1k": float(rates.output.scaleb(-3)),
        }

    def get_model_limits(self) -> dict[str, int]:
        """``max_tokens`` (the window), ``chunk_size``, ``max_prompt_tokens`` (the input limit)
        and ``max_completion_tokens`` (the maximum output), from the registry and overrides."""
        p = self._profile
        return {
            "max_tokens": p.max_tokens,
            "chunk_size": p.chunk_size,
            "max_prompt_tokens": p.max_prompt_tokens,
            "max_completion_tokens": p.max_completion_tokens,
        }

    # -- tracking ----------------------------------------------------------------------------

    def track_request(
        self,
        request_tokens: int,
        response_tokens: int,
        *,
        cached_tokens: int = 0,
        reasoning_tokens: int = 0,
    ) -> None:
        """Add one request's usage to the totals, the metrics collector and the ledger.

        Safe from any thread and from sync or async code (an async collector is run to
        completion, see `tokman.compat._dispatch`). A failing collector is logged, never
        raised; a ledger that cannot store the record raises its `StorageError`.

        Raises:
            InvalidRequestError: a count that is not an int >= 0, or a part over its total.
        """
        prompt = check_tokens(request_tokens, "request_tokens")
        completion = check_tokens(response_tokens, "response_tokens")
        cached = check_tokens(cached_tokens, "cached_tokens")
        reasoning = check_tokens(reasoning_tokens, "reasoning_tokens")
        self._check_parts(prompt, completion, cached, reasoning, "request_tokens",
                          "response_tokens")  # fmt: skip
        self._dispatch.remember_loop()
        with self._lock:
            self._prompt += prompt
            self._completion += completion
            self._cached += cached
            self._reasoning += reasoning
            self._requests += 1
        _log.debug("tracked %d prompt, %d completion tokens for %s", prompt, completion, self.model)
        exact: Cost | None = None
        if self._sink is not None or (self.ledger is not None and self._profile.priced_by_config):
            try:
                exact = self._cost(prompt, completion, cached, reasoning)
            except TokmanError:  # no price for this model: usage is still worth recording
                exact = None
        if self._sink is not None:
            self._sink.record_call(self._event(prompt, completion, cached, reasoning, exact))
        if self.ledger is not None:
            record = UsageRecord(
                model=self.model,
                deployment=self.deployment_name,
                prompt_tokens=prompt,
                cached_tokens=cached,
                completion_tokens=completion,
                reasoning_tokens=reasoning,
                # configured prices are recorded as given; otherwise the ledger prices the
                # record itself (at a registered deployment's Azure type)
                cost=exact.total if exact is not None and self._profile.priced_by_config else None,
                price_id=exact.price_id if exact is not None and self._profile.priced_by_config
                else None,
                tags=self._tags,
            )  # fmt: skip
            self._ledger_dispatch.run(self.ledger.record(record))

    def _event(
        self, prompt: int, completion: int, cached: int, reasoning: int, exact: Cost | None
    ) -> CallEvent:
        return CallEvent(
            api="chat",
            provider="azure.ai.openai" if self.deployment_name else "openai",
            outcome="ok",
            model=self.model,
            request_model=self.deployment_name or self.model,
            deployment=self.deployment_name,
            input_tokens=prompt,
            cached_input_tokens=cached,
            output_tokens=completion,
            reasoning_tokens=reasoning,
            cost_usd=None if exact is None else exact.total,
            tags=dict(self._tags),
        )

    async def flush(self) -> None:
        """Wait until every async metrics or ledger call scheduled on this loop has finished
        (before a test's assertions or an application's shutdown)."""
        await self._dispatch.flush()
        await self._ledger_dispatch.flush()

    def get_usage_stats(self) -> dict[str, int]:
        """The seed's ``total_prompt_tokens`` and ``total_completion_tokens``, plus
        ``total_tokens``, ``total_cached_tokens``, ``total_reasoning_tokens`` and ``requests``,
        read together (one consistent snapshot)."""
        with self._lock:
            return {
                "total_prompt_tokens": self._prompt,
                "total_completion_tokens": self._completion,
                "total_tokens": self._prompt + self._completion,
                "total_cached_tokens": self._cached,
                "total_reasoning_tokens": self._reasoning,
                "requests": self._requests,
            }


# -- the seed's module-level helpers -----------------------------------------------------------


def _shared(model: object) -> TokenManager:
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError("model", model, "the model name as a non-empty str")
    # one manager per model (the seed built one per call), dropped when the registry changes
    return models.memo("compat.manager", model, lambda: TokenManager(model))


def estimate_tokens(text: str, model: str = "gpt-4") -> int:
    """The exact token count of ``text`` for ``model`` (one shared manager per model).

    >>> estimate_tokens("<|endoftext|>")  # plain text, as the API counts it
    7

    Raises:
        InvalidRequestError: ``text`` is not a str; UnknownModelError: the model is unknown.
    """
    return _shared(model).estimate_tokens(text)


def chunk_text(text: str, model: str = "gpt-4") -> list[str]:
    """``text`` in pieces of at most the model's ``chunk_size`` tokens, losing nothing.

    Raises:
        InvalidRequestError: ``text`` is not a str; UnknownModelError: the model is unknown.
    """
    return _shared(model).chunk_text(text)
