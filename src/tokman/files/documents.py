"""Count a file the way it will be sent: chat-request JSON/JSONL as prompts, anything else as text.

A ``.json`` file holding a chat request (or a list of them, or Batch API lines) and a ``.jsonl``
file whose lines are requests cost what ``count_prompt`` says, not the tokens of their JSON
text; everything else is counted with ``count_file`` (constant memory, all cores). Requests
need a chat framing, so they are counted as prompts only when a model is given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tokman._args import file_path
from tokman.counting import count_file, count_prompt
from tokman.errors import InvalidRequestError
from tokman.files._jsonl import iter_jsonl

__all__ = ["DocumentCount", "count_document", "may_hold_requests", "request_body"]

_JSON_LIMIT = 256 << 20  # a .json file bigger than this is counted as text, never loaded whole


@dataclass(frozen=True)
class DocumentCount:
    """The tokens of one file; ``kind`` says how it was read (``requests``: how many prompts)."""

    path: str
    tokens: int
    kind: Literal["text", "requests"] = "text"
    requests: int = 0


def request_body(value: object) -> Mapping[str, Any] | None:
    """The chat/Responses request in ``value`` (itself, or a Batch line's ``body``), else None."""
    if isinstance(value, Mapping) and isinstance(value.get("body"), Mapping):
        value = value["body"]
    if isinstance(value, Mapping) and (isinstance(value.get("messages"), list) or "input" in value):
        return value
    return None


def may_hold_requests(
    path: str | os.PathLike[str], *, model: str | None = None, encoding: str | None = None
) -> bool:
    """Whether :func:`count_document` may count ``path`` as chat requests (a ``.json`` or
    ``.jsonl`` file, with a model); when False it counts the file as text, as ``count_file``.

    >>> may_hold_requests("a.jsonl", model="gpt-4o"), may_hold_requests("a.md", model="gpt-4o")
    (True, False)
    """
    return (
        model is not None and encoding is None and Path(path).suffix.lower() in (".json", ".jsonl")
    )


def _prompt(body: Mapping[str, Any], model: str, where: str) -> int:
    try:
        return count_prompt(**{**body, "model": model})
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"{where}.{exc.field}", exc.value, exc.expected) from exc


def count_document(
    path: str | os.PathLike[str],
    *,
    model: str | None = None,
    encoding: str | None = None,
    workers: int | None = None,
    errors: str = "strict",
) -> DocumentCount:
    """Tokens of ``path``: prompts for chat-request JSON/JSONL (with ``model``), else text.

    >>> import tempfile, json, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "req.json"
    >>> _ = p.write_text(json.dumps({"messages": [{"role": "user", "content": "hello"}]}))
    >>> found = count_document(p, model="gpt-4o")
    >>> found.tokens, found.kind, found.requests
    (8, 'requests', 1)

    Raises:
        InvalidRequestError: the file cannot be read, is not UTF-8 (``errors="strict"``), or a
            request line that follows other requests is not one (field ``<path>:<line>``).
        UnknownModelError: the model is unknown.
    """
    where = file_path(path)
    shown = str(path)
    suffix = where.suffix.lower()
    if model is not None and may_hold_requests(where, model=model, encoding=encoding):
        if suffix == ".json" and where.is_file() and where.stat().st_size <= _JSON_LIMIT:
            found = _json_requests(where, model, shown)
            if found is not None:
                return found
        if suffix == ".jsonl":
            found = _jsonl_requests(where, model, shown)
            if found is not None:
                return found
    tokens = count_file(where, model=model, encoding=encoding, workers=workers, errors=errors)
    return DocumentCount(shown, tokens)


def _json_requests(where: Path, model: str, shown: str) -> DocumentCount | None:
    try:
        value = json.loads(where.read_bytes())
    except (ValueError, OSError):
        return None  # not JSON (or not UTF-8): it is counted as the text it is
    items = value if isinstance(value, list) else [value]
    bodies = [request_body(item) for item in items]
    if not bodies or any(body is None for body in bodies):
        return None
    total = sum(_prompt(b, model, f"{shown}[{i}]") for i, b in enumerate(bodies) if b is not None)
    return DocumentCount(shown, total, "requests", len(bodies))


def _jsonl_requests(where: Path, model: str, shown: str) -> DocumentCount | None:
    total = requests = 0
    for line in iter_jsonl(where):
        body = request_body(line.value) if line.error is None else None
        if body is None:
            if requests == 0:
                return None  # the first line is no request: the file is text
            raise InvalidRequestError(
                f"{shown}:{line.number}",
                line.value if line.error is None else line.error,
                "expected a chat request (an object with messages) like the lines before it",
            )
        total += _prompt(body, model, f"{shown}:{line.number}")
        requests += 1
    return DocumentCount(shown, total, "requests", requests) if requests else None
