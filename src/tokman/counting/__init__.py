"""Token counting: plain text (``count``), files (``count_file``) and chat requests."""

from __future__ import annotations

from tokman.counting.text import count, count_file, count_stream

__all__ = ["count", "count_file", "count_stream"]
