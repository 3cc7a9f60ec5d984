"""Token counting: plain text (``count``), files (``count_file``) and chat requests."""

from __future__ import annotations

from tokman.counting.chat import MessageCount, PromptCount, count_prompt, count_prompt_details
from tokman.counting.text import count, count_file, count_stream

__all__ = [
    "MessageCount",
    "PromptCount",
    "count",
    "count_file",
    "count_prompt",
    "count_prompt_details",
    "count_stream",
]
