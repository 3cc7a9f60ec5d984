"""tokman's refusals as the SDK's own errors, so ``except openai.RateLimitError`` catches them.

A call tokman refuses before sending (rate limit, budget, a request the API would reject)
raises an exception that is *both* tokman's error (``tokman.errors.RateLimitExceededError``,
with ``retry_after``) and the ``openai`` error the API itself would have caused for that HTTP
status (``openai.RateLimitError``, with ``status_code``, ``response`` carrying the OpenAI
error body from `TokmanError.to_openai_error`, ``code``, ``type``). The status, code and body
come from the tokman error class: nothing is mapped here but status -> SDK class.

openai >= 2.31 lets an ``OpenAIError`` raised inside the transport through unchanged (no retry,
no ``APIConnectionError`` wrapping). Older SDKs retry and wrap anything raised there, so for
them the transport answers with the same error as an HTTP response marked
``x-should-retry: false``, which the SDK turns into its own ``RateLimitError`` (etc.) whose
``code`` is tokman's.
"""

from __future__ import annotations

import json
import math
from types import ModuleType
from typing import Any

from tokman.errors import RateLimitExceededError, TokmanError

__all__ = ["refusal_response", "sdk_error"]

# status -> the openai exception class the SDK raises for it (openai's _make_status_error)
_BY_STATUS = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    409: "ConflictError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
}
_classes: dict[tuple[type[TokmanError], type[Exception]], type[Exception]] = {}


def _sdk_class(openai: ModuleType, status: int) -> type[Exception]:
    name = _BY_STATUS.get(status, "InternalServerError" if status >= 500 else "APIStatusError")
    cls: type[Exception] = getattr(openai, name)
    return cls


def _combined(kind: type[TokmanError], base: type[Exception]) -> type[Exception]:
    """``class X(kind, base)``, made once per pair and reachable as a module attribute (so
    tracebacks and ``repr`` name it)."""
    key = (kind, base)
    cls = _classes.get(key)
    if cls is None:
        name = kind.__name__ if kind.__name__ != base.__name__ else f"Tokman{kind.__name__}"
        cls = type(name, (kind, base), {"__module__": __name__, "__qualname__": name})
        _classes[key] = cls
    return cls


def headers_for(error: TokmanError) -> dict[str, str]:
    """The response headers the API would send with ``error``."""
    headers = {"content-type": "application/json", "x-should-retry": "false"}
    retry = getattr(error, "retry_after", None)
    if isinstance(error, RateLimitExceededError) and retry is not None:
        headers["retry-after-ms"] = str(math.ceil(retry * 1000))
        headers["retry-after"] = str(max(1, math.ceil(retry)))
    return headers


def refusal_response(error: TokmanError, request: Any, httpx: ModuleType) -> Any:
    """``error`` as the HTTP response the API would send (for SDKs older than 2.31)."""
    return httpx.Response(
        error.http_status,
        headers=headers_for(error),
        content=json.dumps(error.to_openai_error()).encode(),
        request=request,
    )


def sdk_error(error: TokmanError, request: Any, httpx: ModuleType) -> Exception:
    """``error`` as an exception of both tokman's and the SDK's error families."""
    import openai

    response = refusal_response(error, request, httpx)
    body = error.to_openai_error()["error"]
    combined = _combined(type(error), _sdk_class(openai, error.http_status))
    exc = combined.__new__(combined)
    exc.args = error.args
    exc.__dict__.update(error.__dict__)
    # what openai.APIStatusError.__init__ sets; ``code`` and ``param`` are tokman's already
    exc.__dict__.update(
        message=str(error),
        request=request,
        body=body,
        type=body["type"],
        response=response,
        status_code=error.http_status,
        request_id=None,
    )
    exc.__cause__ = error.__cause__
    return exc
