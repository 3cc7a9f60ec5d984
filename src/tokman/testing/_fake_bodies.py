"""The JSON bodies and SSE messages `FakeOpenAI` sends, shaped as OpenAI and Azure send them.

Only shapes live here: a :class:`Completion` (the text and the token numbers already decided by
the core in ``_fake_openai``) goes in, dicts and ``bytes`` come out. The shapes follow the
openai-python 3.57.0 types (``ChatCompletion``, ``ChatCompletionChunk``, ``Response`` and the
Responses stream events, ``CreateEmbeddingResponse``) and Azure's content-filter annotations
(the prompt annotation first in a stream, chunks with ``content_filter_results``, annotation
chunks with ``content_filter_offsets`` and no ``delta``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Completion",
    "chat_body",
    "chat_events",
    "embeddings_body",
    "error_body",
    "responses_body",
    "responses_events",
    "sse",
    "to_json",
]

_FINGERPRINT = "fp_fake0tokman"
_WORDS = re.compile(r"\s*\S+|\s+$")


@dataclass(frozen=True)
class Completion:
    """One generated answer and the usage the API bills for it.

    ``text`` is what every choice says; ``truncated`` is true when a completion limit cut it
    (``finish_reason`` ``length`` / status ``incomplete``); ``usage`` is the API's usage dict
    for the endpoint, as sent.
    """

    model: str
    text: str
    truncated: bool
    usage: dict[str, Any]
    azure: bool
    choices: int = 1


def _id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def to_json(data: Any) -> bytes:
    """Compact JSON, as the API sends it (non-ASCII raw; escaped when a lone surrogate, echoed
    from a bad request, could not be UTF-8)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(data, separators=(",", ":")).encode()


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event: ``event:`` line (Responses API) and one ``data:`` line."""
    payload = data if isinstance(data, bytes) else to_json(data)
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + payload + b"\n\n"


def error_body(
    message: str, *, type: str = "invalid_request_error", param: str | None = None,
    code: str | None = None,
) -> bytes:  # fmt: skip
    """OpenAI's error shape, ``{"error": {"message", "type", "param", "code"}}``, as bytes."""
    return to_json({"error": {"message": message, "type": type, "param": param, "code": code}})


def _pieces(text: str) -> list[str]:
    """The text in word-sized pieces (the API streams about a token per chunk)."""
    return _WORDS.findall(text) or ([text] if text else [])


def _filters(*, prompt: bool = False) -> dict[str, Any]:
    """Azure's content-filter verdicts, all clear."""
    safe = {"filtered": False, "severity": "safe"}
    verdicts: dict[str, Any] = {k: dict(safe) for k in ("hate", "self_harm", "sexual", "violence")}
    if prompt:
        verdicts["jailbreak"] = {"filtered": False, "detected": False}
    return verdicts


def _prompt_filters() -> list[dict[str, Any]]:
    return [{"prompt_index": 0, "content_filter_results": _filters(prompt=True)}]


def chat_body(done: Completion) -> bytes:
    """A non-streamed ``chat.completion`` (Azure's carries the filter results too)."""
    choices = []
    for index in range(done.choices):
        choice: dict[str, Any] = {
            "index": index,
            "message": {"role": "assistant", "content": done.text, "refusal": None,
                        "annotations": []},
            "logprobs": None,
            "finish_reason": "length" if done.truncated else "stop",
        }  # fmt: skip
        if done.azure:
            choice["content_filter_results"] = _filters()
        choices.append(choice)
    body: dict[str, Any] = {
        "id": _id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": done.model,
        "choices": choices,
        "usage": done.usage,
        "system_fingerprint": _FINGERPRINT,
    }
    if done.azure:
        body["prompt_filter_results"] = _prompt_filters()
    else:
        body["service_tier"] = "default"
    return to_json(body)


def chat_events(done: Completion, *, include_usage: bool) -> list[bytes]:
    """A chat stream: role, content pieces and finish chunk per choice, the usage chunk when
    asked for, then ``[DONE]``; on Azure the prompt annotation first and an offsets annotation
    (no ``delta``) after the finish."""
    head = {"id": _id("chatcmpl-"), "object": "chat.completion.chunk",
            "created": int(time.time()), "model": done.model,
            "system_fingerprint": _FINGERPRINT}  # fmt: skip
    tail = {"usage": None} if include_usage else {}
    events: list[bytes] = []

    def chunk(choice: dict[str, Any]) -> None:
        if done.azure:
            choice = {**choice, "content_filter_results": _filters() if choice["delta"] else {}}
        events.append(sse({**head, "choices": [choice], **tail}))

    if done.azure:
        events.append(sse({"id": "", "object": "", "created": 0, "model": "",
                           "prompt_filter_results": _prompt_filters(), "choices": [],
                           "usage": None}))  # fmt: skip
    for index in range(done.choices):
        first = {"index": index, "logprobs": None, "finish_reason": None}
        chunk({**first, "delta": {"role": "assistant", "content": "", "refusal": None}})
        for piece in _pieces(done.text):
            chunk({**first, "delta": {"content": piece}})
        reason = "length" if done.truncated else "stop"
        chunk({**first, "delta": {}, "finish_reason": reason})
        if done.azure:
            offsets = {"check_offset": 0, "start_offset": 0, "end_offset": len(done.text)}
            events.append(sse({"id": "", "object": "", "created": 0, "model": "",
                               "choices": [{"index": index, "finish_reason": None,
                                            "content_filter_results": _filters(),
                                            "content_filter_offsets": offsets}],
                               **tail}))  # fmt: skip
    if include_usage:
        events.append(sse({**head, "choices": [], "usage": done.usage}))
    events.append(sse(b"[DONE]"))
    return events


def _response(done: Completion, rid: str, created: int, status: str) -> dict[str, Any]:
    """A ``response`` object in ``status``; its message and usage only once it is done."""
    finished = status != "in_progress"
    message = {
        "id": "msg_" + rid[5:],
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": done.text, "annotations": [],
                     "logprobs": []}],
    }  # fmt: skip
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if done.truncated else None,
        "instructions": None,
        "max_output_tokens": None,
        "model": done.model,
        "output": [message] if finished else [],
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "truncation": "disabled",
        "usage": done.usage if finished else None,
    }


def responses_body(done: Completion) -> bytes:
    """A non-streamed Responses API ``response`` (``incomplete`` when a limit cut it)."""
    status = "incomplete" if done.truncated else "completed"
    return to_json(_response(done, _id("resp_"), int(time.time()), status))


def responses_events(done: Completion) -> list[bytes]:
    """The Responses stream: created, in_progress, item and part added, text deltas, text and
    part and item done, then ``response.completed`` (or ``response.incomplete``) with usage."""
    rid, created = _id("resp_"), int(time.time())
    item_id = "msg_" + rid[5:]
    status = "incomplete" if done.truncated else "completed"
    at = {"item_id": item_id, "output_index": 0, "content_index": 0}
    empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    final = _response(done, rid, created, status)
    message = final["output"][0]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": _response(done, rid, created, "in_progress")}),
        ("response.in_progress", {"response": _response(done, rid, created, "in_progress")}),
        ("response.output_item.added",
         {"output_index": 0, "item": {**message, "status": "in_progress", "content": []}}),
        ("response.content_part.added", {**at, "part": empty}),
        *(("response.output_text.delta", {**at, "delta": piece, "logprobs": []})
          for piece in _pieces(done.text)),
        ("response.output_text.done", {**at, "text": done.text, "logprobs": []}),
        ("response.content_part.done", {**at, "part": message["content"][0]}),
        ("response.output_item.done", {"output_index": 0, "item": message}),
        (f"response.{status}", {"response": final}),
    ]  # fmt: skip
    return [
        sse({"type": kind, "sequence_number": n, **data}, event=kind)
        for n, (kind, data) in enumerate(steps)
    ]


def _vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit-free vector for an input (the same input, the same vector)."""
    seed = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    while len(seed) < dimensions:
        seed += hashlib.sha256(seed).digest()
    return [round(b / 255 - 0.5, 6) for b in seed[:dimensions]]


def embeddings_body(
    inputs: Sequence[str | Sequence[int]], *, model: str, usage: dict[str, Any],
    dimensions: int, base64_format: bool,
) -> bytes:  # fmt: skip
    """A ``list`` of embeddings: floats, or little-endian float32 in base64 when asked (the
    SDK asks for base64 unless the caller sets ``encoding_format``)."""
    data = []
    for index, item in enumerate(inputs):
        vector = _vector(item if isinstance(item, str) else repr(list(item)), dimensions)
        embedding: Any = vector
        if base64_format:
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return to_json({"object": "list", "data": data, "model": model, "usage": usage})
