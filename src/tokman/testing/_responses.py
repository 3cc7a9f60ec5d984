"""API-shaped response dicts, so tests of code that records or prices responses need no API.

The shapes are the ones `tokman.usage` documents (Chat Completions, Responses, embeddings,
Batch API result lines); a response built with ``usage=False`` is what a stream created without
``stream_options={"include_usage": True}`` leaves you with.
"""

from __future__ import annotations

import uuid
from typing import Any

from tokman._units import check_tokens
from tokman.errors import InvalidRequestError

__all__ = ["batch_line", "fake_response"]

_KINDS = ("chat", "responses", "embeddings")


def fake_response(
    kind: str = "chat",
    *,
    model: str = "gpt-4o-2024-08-06",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
    id: str | None = None,
    usage: bool = True,
) -> dict[str, Any]:
    """A response dict of ``kind`` (``chat``, ``responses`` or ``embeddings``) with this usage.

    ``id`` defaults to a fresh API-style id (``chatcmpl-...``, ``resp_...``); embeddings
    responses have none, as the API's. ``usage=False`` gives ``"usage": None``.

    Raises:
        InvalidRequestError: an unknown ``kind`` or a bad count.
    """
    if kind not in _KINDS:
        raise InvalidRequestError("kind", kind, f"one of {_KINDS}")
    prompt = check_tokens(prompt_tokens, "prompt_tokens")
    completion = check_tokens(completion_tokens, "completion_tokens")
    cached = check_tokens(cached_tokens, "cached_tokens")
    reasoning = check_tokens(reasoning_tokens, "reasoning_tokens")
    body: dict[str, Any]
    if kind == "chat":
        body = {
            "id": id or f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "model": model,
            "choices": [],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached},
                "completion_tokens_details": {"reasoning_tokens": reasoning},
            },
        }
    elif kind == "responses":
        body = {
            "id": id or f"resp_{uuid.uuid4().hex}",
            "object": "response",
            "model": model,
            "output": [],
            "usage": {
                "input_tokens": prompt,
                "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
                "output_tokens": completion,
                "output_tokens_details": {"reasoning_tokens": reasoning},
                "total_tokens": prompt + completion,
            },
        }
    else:
        body = {
            "object": "list",
            "model": model,
            "data": [],
            "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
        }
        if id is not None:
            body["id"] = id
    if not usage:
        body["usage"] = None
    return body


def batch_line(
    body: dict[str, Any], *, custom_id: str = "request-1", status_code: int = 200
) -> dict[str, Any]:
    """A Batch API output-file line wrapping ``body`` (a `fake_response`), as the API writes it.

    A ``status_code`` other than 200 gives a failed line: an ``error`` body and no usage.
    """
    if status_code != 200:
        body = {"error": {"message": "fake failure", "type": "invalid_request_error"}}
    return {
        "id": f"batch_req_{uuid.uuid4().hex[:24]}",
        "custom_id": custom_id,
        "response": {"status_code": status_code, "request_id": uuid.uuid4().hex, "body": body},
        "error": None,
    }
