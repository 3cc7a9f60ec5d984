"""Fitting text and chat history into token limits: chunking and trimming.

``chunk``/``iter_chunks``/``TextChunker`` split text into pieces that never exceed a token limit
and lose nothing; ``trim_messages`` drops (or shortens) old chat turns until a request fits.
"""

from __future__ import annotations

from tokman.fitting.chunking import Chunk, TextChunker, chunk, iter_chunks

__all__ = ["Chunk", "TextChunker", "TrimResult", "chunk", "iter_chunks", "trim_messages"]


def __getattr__(name: str) -> object:
    # trimming depends on chat counting; load it only when asked for
    if name in ("TrimResult", "trim_messages"):
        from tokman.fitting import trimming

        return getattr(trimming, name)
    raise AttributeError(f"module 'tokman.fitting' has no attribute {name!r}")
