"""Reading a streamed response as it passes: usage, id, model and the text received.

`StreamTap` is fed the raw bytes of a Server-Sent Events response in whatever pieces the network
delivers and returns the bytes to hand on to the caller, whole events at a time. It reads each
event once:

* Chat Completions chunks: the first non-empty ``id``/``model`` (Azure's first chunk is a
  prompt annotation with ``"id": ""``, ``"model": ""`` and no choices; its later annotation
  chunks carry no ``delta``), the text of every delta (content, refusal, tool-call arguments:
  what the completion tokens are spent on), and the usage chunk (``choices: []``), which is
  dropped when tokman asked for it on the caller's behalf (``hide_usage``);
* Responses events: ``response.created`` for the id, the ``*.delta`` text events, and the
  terminal ``response.completed`` / ``response.incomplete`` / ``response.failed`` event whose
  ``response.usage`` is the call's usage.

When the stream ends without usage (cut, or closed early by the caller), the shell records an
estimate from `text`. Pure: no I/O, no clock.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from tokman.errors import InvalidRequestError
from tokman.integrations.metrics._event import Api
from tokman.usage import Usage, read_response

__all__ = ["StreamTap"]

_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
# the delta events whose text the model's output tokens are spent on (audio deltas are bytes)
_TEXT_DELTAS = ("text.delta", "arguments.delta", "refusal.delta", "input.delta")
_SEPARATORS = (b"\r\n\r\n", b"\n\n", b"\r\r")


class StreamTap:
    """Reads an SSE byte stream on its way to the caller (see the module docstring).

    Attributes:
        usage: the usage the stream reported (``None`` until, and unless, it does).
        response_id, response_model: the first non-empty ``id`` / ``model`` seen.
        events: how many events have passed.
        failed: a Responses stream ended with ``response.failed`` (or a chunk carried
            ``error``).
    """

    def __init__(self, api: Api, *, hide_usage: bool = False) -> None:
        self.api = api
        self.hide_usage = hide_usage
        self.usage: Usage | None = None
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.events = 0
        self.failed = False
        self._text: list[str] = []
        self._buffer = b""

    @property
    def text(self) -> str:
        """Everything the model produced so far, as text (to count an estimate from)."""
        return "".join(self._text)

    def feed(self, data: bytes) -> bytes:
        """Take the next bytes; return the complete events among them to pass on."""
        buffer = self._buffer + data if self._buffer else data
        out: list[bytes] = []
        start = 0
        while True:
            end, size = _next_separator(buffer, start)
            if end < 0:
                break
            event = buffer[start : end + size]
            if self._read(buffer[start:end]):
                out.append(event)
            start = end + size
        self._buffer = buffer[start:]
        return b"".join(out)

    def flush(self) -> bytes:
        """The stream ended: what is left (an event without its final blank line)."""
        rest, self._buffer = self._buffer, b""
        if rest.strip() and not self._read(rest):
            return b""
        return rest

    # -- one event ------------------------------------------------------------------------

    def _read(self, event: bytes) -> bool:
        """Read one event; whether to pass it on."""
        self.events += 1
        name, data = _parse(event)
        if data is None or data == "[DONE]":
            return True
        try:
            payload = json.loads(data)
        except ValueError:
            return True  # not ours to judge: the SDK reports it
        if not isinstance(payload, dict):
            return True
        if self.api == "responses":
            self._responses_event(name or payload.get("type"), payload)
            return True
        return self._chat_chunk(payload)

    def _chat_chunk(self, chunk: dict[str, Any]) -> bool:
        if chunk.get("error") is not None:
            self.failed = True
            return True
        self._identify(chunk)
        choices = chunk.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                delta = choice.get("delta") if isinstance(choice, dict) else None
                if isinstance(delta, dict):  # Azure's annotation chunks have none
                    self._delta(delta)
        if chunk.get("usage"):
            try:
                self.usage = read_response(chunk).usage
            except InvalidRequestError:
                return True
            if self.hide_usage and not choices:
                return False
        return True

    def _delta(self, delta: dict[str, Any]) -> None:
        for key in ("content", "refusal"):
            value = delta.get(key)
            if isinstance(value, str):
                self._text.append(value)
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for call in calls:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    for key in ("name", "arguments"):
                        value = function.get(key)
                        if isinstance(value, str):  # arguments=None happens (#4350)
                            self._text.append(value)

    def _responses_event(self, name: object, event: dict[str, Any]) -> None:
        if name == "response.created" or name in _TERMINAL:
            response = event.get("response")
            if isinstance(response, dict):
                self._identify(response)
        if name in _TERMINAL:
            self.failed = name == "response.failed"
            # a failed response may carry no usage: the shell estimates then
            with contextlib.suppress(InvalidRequestError):
                self.usage = read_response(event).usage
        elif name == "error":
            self.failed = True
        elif isinstance(name, str) and name.endswith(_TEXT_DELTAS):
            delta = event.get("delta")
            if isinstance(delta, str):
                self._text.append(delta)

    def _identify(self, obj: dict[str, Any]) -> None:
        if self.response_id is None:
            rid = obj.get("id")
            if isinstance(rid, str) and rid:
                self.response_id = rid
        if self.response_model is None:
            model = obj.get("model")
            if isinstance(model, str) and model:
                self.response_model = model


def _next_separator(buffer: bytes, start: int) -> tuple[int, int]:
    """Where the next event ends (index of its blank line) and the separator's length."""
    best, size = -1, 0
    for separator in _SEPARATORS:
        at = buffer.find(separator, start)
        if at >= 0 and (best < 0 or at < best):
            best, size = at, len(separator)
    return best, size


def _parse(event: bytes) -> tuple[str | None, str | None]:
    """An event's ``event:`` name and its ``data:`` lines joined (SSE rules)."""
    name: str | None = None
    data: list[str] = []
    for raw in event.decode("utf-8", "replace").splitlines():
        if raw.startswith("data:"):
            data.append(raw[5:].removeprefix(" "))
        elif raw.startswith("event:"):
            name = raw[6:].strip()
    return name, "\n".join(data) if data else None
