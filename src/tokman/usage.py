"""The one reader of the usage an API reports: SDK objects and dicts, every OpenAI/Azure shape.

Pricing (`tokman.cost`), the ledger (`UsageRecord.from_response`) and budgets all read usage
here, so they cannot disagree about what a response used. Fields are read by attribute or key,
so tokman never imports ``openai``. Understood shapes:

* Chat Completions usage: ``prompt_tokens``, ``completion_tokens``,
  ``prompt_tokens_details.cached_tokens`` (and ``cache_write_tokens`` in newer SDKs),
  ``completion_tokens_details.reasoning_tokens``;
* Responses usage: ``input_tokens``, ``output_tokens``, ``input_tokens_details.cached_tokens`` /
  ``cache_write_tokens``, ``output_tokens_details.reasoning_tokens``;
* embeddings usage: ``prompt_tokens`` (and ``total_tokens``), no completion;
* a whole response (object or dict) holding ``.usage``, a Responses stream's terminal event
  (``{"type": "response.completed", "response": {...}}``), and a Batch API result line
  (``{"custom_id": ..., "response": {"status_code": 200, "body": {... "usage": ...}}}``).

Parts are included in their totals, as the API reports them: cached and cache-write tokens are
parts of the prompt tokens, reasoning tokens a part of the completion tokens. A response without
usage (a stream created without ``stream_options={"include_usage": True}``, an interrupted
stream, a failed batch line) is an error, never zero tokens; a caller that knows it has no usage
and wants an estimate says so with ``read_response(..., estimate=...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tokman._units import check_tokens
from tokman.errors import InvalidRequestError

__all__ = ["OPERATION_OF_OBJECT", "Usage", "UsageReport", "read_response", "read_usage"]

#: The API's ``object`` field -> the ledger's operation name.
OPERATION_OF_OBJECT = {
    "chat.completion": "chat",
    "chat.completion.chunk": "chat",
    "response": "responses",
    "list": "embeddings",
    "text_completion": "completions",
}

_NO_USAGE = (
    "the response has no usage, so its tokens are unknown (tokman never assumes zero): for a "
    "Chat Completions stream pass stream_options={'include_usage': True} and read the last "
    "chunk; for a Responses stream read the response.completed event; or, to record an "
    "estimate, pass estimate={'prompt_tokens': ..., 'completion_tokens': ...} "
    "(UsageRecord.from_response(..., estimate=...), stored with status='estimated')"
)
_NO_COUNTS = (
    "expected an API usage object or dict with prompt_tokens (Chat Completions, embeddings) or "
    "input_tokens (Responses), or the response that holds it"
)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts read from an API usage object; every part is included in its total.

    ``cached_tokens`` (read from the prompt cache) and ``cache_write_tokens`` (written to it)
    are parts of ``prompt_tokens``; ``reasoning_tokens`` is a part of ``completion_tokens``.
    """

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """``prompt_tokens + completion_tokens``."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class UsageReport:
    """What a response says about itself: its usage plus the id, model and kind that carry it.

    ``operation`` is ``chat``, ``responses``, ``embeddings``, ``completions`` or ``batch`` (a
    Batch API result line), or ``None`` when only a bare usage was given; ``estimated`` is true
    when the usage is the caller's estimate because the response had none.
    """

    usage: Usage
    id: str | None = None
    model: str | None = None
    operation: str | None = None
    estimated: bool = False


def _get(obj: Any, name: str) -> Any:
    kind = type(obj)
    if kind is dict:  # the common case first
        return obj.get(name)
    if obj is None:
        return None
    mapping = _IS_MAPPING.get(kind)
    if mapping is None:  # an ABC isinstance check costs more than the read: once per type
        if len(_IS_MAPPING) >= 256:
            _IS_MAPPING.clear()
        mapping = _IS_MAPPING[kind] = isinstance(obj, Mapping)
    return obj.get(name) if mapping else getattr(obj, name, None)


_IS_MAPPING: dict[type, bool] = {}


def _count(value: Any, path: str) -> int:
    if type(value) is int and value >= 0:  # the common case, without a call
        return value
    return 0 if value is None else check_tokens(value, path)


class _Shape:
    """The keys of one usage shape and the error paths built from them (once, not per call)."""

    __slots__ = (
        "cached",
        "completion",
        "completion_path",
        "details_in",
        "details_out",
        "prompt_path",
        "reasoning",
    )

    def __init__(self, prompt: str, completion: str, details_in: str, details_out: str) -> None:
        self.completion = completion
        self.prompt_path, self.completion_path = f"usage.{prompt}", f"usage.{completion}"
        self.details_in, self.details_out = details_in, details_out
        self.cached = f"usage.{details_in}.cached_tokens"
        self.reasoning = f"usage.{details_out}.reasoning_tokens"


_CHAT = _Shape(
    "prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details"
)
_RESPONSES = _Shape(
    "input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"
)


def _counts(usage: Any) -> Usage:
    """Counts of a bare usage (Chat, Responses or embeddings), checked."""
    get: Any = usage.get if type(usage) is dict else lambda name: _get(usage, name)
    shape = _CHAT
    prompt = get("prompt_tokens")
    if prompt is None:
        shape = _RESPONSES
        prompt = get("input_tokens")
        if prompt is None:
            raise InvalidRequestError("usage", usage, _NO_COUNTS)
    prompt = _count(prompt, shape.prompt_path)
    completion = get(shape.completion)
    completion = 0 if completion is None else _count(completion, shape.completion_path)
    cached = reasoning = written = 0
    p_details = get(shape.details_in)
    if p_details is not None:
        cached = _count(_get(p_details, "cached_tokens"), shape.cached)
        written = _get(p_details, "cache_write_tokens")
        if written is not None:
            written = _count(written, f"usage.{shape.details_in}.cache_write_tokens")
        else:
            written = 0
        if _get(p_details, "audio_tokens"):
            _audio(p_details, "usage." + shape.details_in)
    c_details = get(shape.details_out)
    if c_details is not None:
        reasoning = _count(_get(c_details, "reasoning_tokens"), shape.reasoning)
        if _get(c_details, "audio_tokens"):
            _audio(c_details, "usage." + shape.details_out)
    if cached > prompt:
        raise InvalidRequestError(
            shape.cached, cached, f"cached tokens are part of the {prompt} prompt tokens"
        )
    if written > prompt:
        raise InvalidRequestError(
            f"usage.{shape.details_in}.cache_write_tokens",
            written,
            f"cache-write tokens are part of the {prompt} prompt tokens",
        )
    if reasoning > completion:
        raise InvalidRequestError(
            shape.reasoning,
            reasoning,
            f"reasoning tokens are part of the {completion} output tokens",
        )
    return Usage(prompt, completion, cached, reasoning, written)


def _audio(details: Any, path: str) -> None:
    audio = _count(_get(details, "audio_tokens"), f"{path}.audio_tokens")
    if audio:
        raise InvalidRequestError(
            f"{path}.audio_tokens",
            audio,
            "tokman ships no audio-token prices and will not count audio as text; price and "
            "record audio requests from the vendor's audio rates",
        )


def _is_usage(obj: Any) -> bool:
    return any(_get(obj, key) is not None for key in _COUNT_KEYS)


_COUNT_KEYS = ("prompt_tokens", "input_tokens", "completion_tokens", "output_tokens")


def read_usage(usage: Any) -> Usage:
    """Token counts from a Chat, Responses or embeddings usage (object or dict), or a response.

    >>> read_usage({"prompt_tokens": 1566, "completion_tokens": 100,
    ...             "prompt_tokens_details": {"cached_tokens": 1408}})
    Usage(prompt_tokens=1566, completion_tokens=100, cached_tokens=1408, reasoning_tokens=0, \
cache_write_tokens=0)

    Raises:
        InvalidRequestError: no usage (``None``, a stream without usage), a count that is
            missing, not an int or negative, a part that exceeds its total (cached > prompt,
            reasoning > completion), or audio tokens (no audio prices).
    """
    if type(usage) is dict and "prompt_tokens" in usage:  # the hot path: a bare Chat usage
        return _counts(usage)
    return read_response(usage).usage


def _operation(obj: Any) -> str | None:
    kind = _get(obj, "object")
    return OPERATION_OF_OBJECT.get(kind) if isinstance(kind, str) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _batch_line(line: Any, estimate: Any) -> UsageReport:
    custom_id = _get(line, "custom_id")
    response = _get(line, "response")
    status = _get(response, "status_code")
    body = _get(response, "body")
    if response is None or status != 200 or _get(body, "usage") is None:
        if estimate is not None:
            return UsageReport(read_usage(estimate), _text(_get(line, "id")), None, "batch", True)
        error = _get(line, "error") or _get(body, "error")
        raise InvalidRequestError(
            "response.status_code" if response is not None else "response",
            status if response is not None else None,
            f"batch result line {custom_id!r} has no usage (status {status!r}, error "
            f"{error!r}); a failed batch request is not billed, so there is nothing to record",
        )
    report = read_response(body)
    rid = report.id or _text(_get(line, "id"))
    return UsageReport(report.usage, rid, report.model, "batch", False)


def read_response(response: Any, *, estimate: Any = None) -> UsageReport:
    """The usage, id, model and operation of a response, a bare usage or a batch result line.

    ``estimate`` (a usage dict such as ``{"prompt_tokens": 812, "completion_tokens": 95}``, or a
    `Usage`) is used only when the response carries no usage, and the report then says
    ``estimated=True``; without it a missing usage is an error.

    >>> r = read_response({"id": "resp_1", "object": "response", "model": "gpt-4.1",
    ...                    "usage": {"input_tokens": 40, "output_tokens": 9}})
    >>> r.id, r.model, r.operation, r.usage.total_tokens
    ('resp_1', 'gpt-4.1', 'responses', 49)

    Raises:
        InvalidRequestError: no usage and no ``estimate`` (the message says how to get usage
            from a stream), or bad counts (see `read_usage`).
    """
    if isinstance(estimate, Usage):
        estimate = {
            "prompt_tokens": estimate.prompt_tokens,
            "completion_tokens": estimate.completion_tokens,
            "prompt_tokens_details": {
                "cached_tokens": estimate.cached_tokens,
                "cache_write_tokens": estimate.cache_write_tokens,
            },
            "completion_tokens_details": {"reasoning_tokens": estimate.reasoning_tokens},
        }
    if _is_usage(response):
        return UsageReport(_counts(response))
    if _get(response, "custom_id") is not None:
        return _batch_line(response, estimate)
    usage = _get(response, "usage")
    if usage is not None and not _is_usage(usage) and not _get(usage, "total_tokens"):
        usage = None  # an empty usage ({} or all None) says no more than a missing one
    if usage is None:
        inner = _get(response, "response")  # a Responses stream event: {"type", "response"}
        if inner is not None and _get(response, "type") is not None:
            return read_response(inner, estimate=estimate)
    rid = _text(_get(response, "id"))
    model = _text(_get(response, "model"))
    if usage is None:
        if estimate is None:
            raise InvalidRequestError("usage", None, _NO_USAGE)
        return UsageReport(read_usage(estimate), rid, model, _operation(response), True)
    return UsageReport(_counts(usage), rid, model, _operation(response))
