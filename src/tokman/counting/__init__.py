"""Token counting: plain text (``count``), files (``count_file``), many texts (``count_batch``,
``count_column``) and chat requests."""

from __future__ import annotations

from tokman.counting._pool import shutdown_workers
from tokman.counting.batch import count_batch, iter_count_batch
from tokman.counting.chat import MessageCount, PromptCount, count_prompt, count_prompt_details
from tokman.counting.columns import count_column
from tokman.counting.text import count, count_file, count_stream

__all__ = [
    "MessageCount",
    "PromptCount",
    "count",
    "count_batch",
    "count_column",
    "count_file",
    "count_prompt",
    "count_prompt_details",
    "count_stream",
    "iter_count_batch",
    "shutdown_workers",
]
