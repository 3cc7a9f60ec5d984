"""Approximate token positions of a text from one tokenizer pass, used only to *aim* cuts.

The chunker needs to know roughly where the ``k``-th token after a position ends. Encoding the
text once and summing each token's character width gives that for every position at the cost
of one pass; the chunker then verifies every chunk with an exact count, so an estimate that is
off by a token near a cut (BPE merges across the cut differ) costs a recount, never a wrong
chunk. The text is encoded in blocks as the chunker advances, so memory stays bounded for
large inputs and ``iter_chunks`` can stop early without encoding the rest.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate

from tokman.encodings import Encoding

__all__ = ["TokenMap"]

_BLOCK_CHARS = 1 << 16
_CONTINUATION = bytes(range(0x80, 0xC0))
_widths: dict[str, list[int]] = {}
_widths_lock = threading.Lock()


def _char_widths(encoding: Encoding) -> list[int]:
    """Characters each token id starts (UTF-8 lead bytes), by id; built once per encoding."""
    found = _widths.get(encoding.name)
    if found is not None:
        return found
    with _widths_lock:
        found = _widths.get(encoding.name)
        if found is None:
            tk = encoding.tiktoken
            found = [1] * tk.n_vocab
            # without tiktoken's private table every width stays 1: aims get worse, counts
            # (always exact) do not
            ranks: dict[bytes, int] = getattr(tk, "_mergeable_ranks", {})
            for token, rank in ranks.items():
                found[rank] = len(token.translate(None, _CONTINUATION))
            _widths[encoding.name] = found
    return found


class TokenMap:
    """Where tokens of ``text`` end (character offsets), encoded lazily block by block."""

    def __init__(self, encoding: Encoding, text: str) -> None:
        self._text = text
        self._encode: Callable[[str], list[int]] = encoding.tiktoken.encode_ordinary
        self._width = _char_widths(encoding).__getitem__
        self._ends: list[int] = []
        self._covered = 0  # text[:_covered] has been encoded

    def _extend(self) -> bool:
        text = self._text
        if self._covered >= len(text):
            return False
        stop = min(len(text), self._covered + _BLOCK_CHARS)
        if stop < len(text):  # end the block at a space so blocks rarely split a token
            space = text.rfind(" ", self._covered + _BLOCK_CHARS // 2, stop)
            stop = space if space > 0 else stop
        ids = self._encode(text[self._covered : stop])
        start = self._covered
        self._ends.extend(accumulate(map(self._width, ids), initial=start))
        self._ends.pop(len(self._ends) - len(ids) - 1)  # drop the ``initial`` entry
        self._covered = stop
        return True

    def forward(self, pos: int, tokens: int) -> int:
        """About where the ``tokens``-th token counted from ``pos`` ends (``len(text)`` if past)."""
        while True:
            ends = self._ends
            index = bisect_right(ends, pos) + tokens - 1
            if index < len(ends):
                return max(ends[index], pos)
            if not self._extend():
                return len(self._text)

    def backward(self, pos: int, tokens: int) -> int:
        """About where a span of ``tokens`` tokens ending at ``pos`` starts (0 if before)."""
        while self._covered < min(pos + 1, len(self._text)) and self._extend():
            pass
        index = bisect_right(self._ends, pos) - 1 - tokens
        return self._ends[index] if index >= 0 else 0

    def forget(self, pos: int) -> None:
        """Drop positions before ``pos`` once they are far behind, to bound memory."""
        ends = self._ends
        if len(ends) > 1 << 16 and ends[1 << 15] < pos:
            keep = bisect_right(ends, pos) - 1 - 4096
            if keep > 0:
                del ends[:keep]
