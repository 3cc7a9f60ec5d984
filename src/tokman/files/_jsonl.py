"""JSONL read one line at a time, with line numbers, so a multi-GB file needs constant memory.

A line that is not UTF-8 or not JSON is not an exception here: Batch and fine-tuning checks
report every bad line with its number (as the upload would reject them), so a bad line is a
value with an ``error`` and the reader goes on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tokman.counting.text import open_binary

__all__ = ["JsonLine", "iter_jsonl"]

#: Called with the bytes read since the last call (drives a progress bar).
Progress = Callable[[int], None]


@dataclass(frozen=True)
class JsonLine:
    """One non-blank line: its 1-based ``number`` and either ``value`` or ``error``."""

    number: int
    value: Any = None
    error: str | None = None


def iter_jsonl(
    path: str | os.PathLike[str], progress: Progress | None = None
) -> Iterator[JsonLine]:
    """Each non-blank line of ``path`` parsed as JSON; blank lines are skipped (numbers count them).

    Raises:
        InvalidRequestError: the file is missing, a directory or unreadable (field ``path``).
    """
    _, handle = open_binary(path)
    with handle:
        for number, raw in enumerate(handle, start=1):
            if progress is not None:
                progress(len(raw))
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield JsonLine(number, error=f"not valid UTF-8 at byte {exc.start} of the line")
                continue
            try:
                yield JsonLine(number, json.loads(text))
            except json.JSONDecodeError as exc:
                yield JsonLine(number, error=f"not JSON: {exc.msg} at column {exc.colno}")
