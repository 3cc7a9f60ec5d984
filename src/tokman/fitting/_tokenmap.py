"""Token counts of a text's spans from one tokenizer pass: exact via safe splits, or aimed.

The chunker asks two things many times per chunk: "about where does the ``k``-th token after
here end" (to aim a cut) and "exactly how many tokens is ``text[a:b]``" (to accept it).
Re-encoding each candidate would cost a pass per candidate. Instead the text is cut once into
short segments at *safe splits* and each segment is counted once; then

    count(text[a:b]) == count(text[a:q1]) + sum of the segments between q1 and q2
                        + count(text[q2:b])

for the first safe split ``q1 >= a`` and the last ``q2 <= b``: only the two short edges are
counted again. A position is a safe split when no pre-token of the encoding's pattern can
span it, in any text containing the two characters around it, so BPE cannot merge across it:

* before a space that follows a non-space character: no pre-token of the cl100k/o200k
  patterns contains a non-space followed by U+0020 (letters, digits and punctuation runs end
  before it; whitespace pieces start with it);
* after a newline that precedes a letter (the rule ``tokman.counting.text`` streams on).

``tests/fitting/test_tokenmap.py`` checks both against the tokenizer on arbitrary Unicode.
Where a text has no safe split for a long stretch (CJK without line breaks) a segment is cut
anyway, marked *forced*; spans across a forced cut are counted whole, so counts stay exact
and only aiming gets coarser. Segments are built block by block as the chunker advances, so
``iter_chunks`` can stop early without counting the rest.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable

from tokman.counting.text import SAFE_ENCODINGS
from tokman.counting.text import SAFE_SPLIT as _SAFE_SPLIT
from tokman.encodings import Encoding

__all__ = ["SAFE_ENCODINGS", "TokenMap"]

_SEGMENT_CHARS = 256
_FORCED_CHARS = 1024
_BLOCK_CHARS = 1 << 16


class TokenMap:
    """Exact span counts and token-position estimates for one text and encoding."""

    def __init__(self, encoding: Encoding, text: str, segment_chars: int = _SEGMENT_CHARS) -> None:
        self._text = text
        self._count: Callable[[str], int] = encoding.count
        self._safe = encoding.name in SAFE_ENCODINGS
        self._segment = max(1, segment_chars)
        self._cuts = [0]  # segment boundaries
        self._cum = [0]  # tokens before each cut (sum of segment counts)
        self._forced = [0]  # forced cuts up to and including each cut
        self._edge: tuple[int, int, int] = (-1, -1, 0)  # (start, q1, count) memo

    # -- building -----------------------------------------------------------------------------

    def _extend(self) -> bool:
        text, n = self._text, len(self._text)
        pos = self._cuts[-1]
        if pos >= n:
            return False
        stop = min(n, pos + _BLOCK_CHARS)
        cuts, cum, forced, count = self._cuts, self._cum, self._forced, self._count
        search = _SAFE_SPLIT.search
        while pos < stop:
            nxt = pos + self._segment
            is_forced = 0
            if nxt >= n:
                nxt = n
            else:
                match = search(text, nxt, min(n, pos + _FORCED_CHARS)) if self._safe else None
                if match is not None:
                    nxt = match.start()
                else:
                    nxt = min(n, pos + _FORCED_CHARS)
                    is_forced = int(nxt < n)
            cum.append(cum[-1] + count(text[pos:nxt]))
            forced.append(forced[-1] + is_forced)
            cuts.append(nxt)
            pos = nxt
        return True

    def _cover(self, pos: int) -> None:
        while self._cuts[-1] < pos and self._extend():
            pass

    # -- exact counts -------------------------------------------------------------------------

    def count(self, start: int, end: int) -> int:
        """Exactly ``count(text[start:end])``, re-counting only the edges when it can."""
        self._cover(end)
        cuts = self._cuts
        i = bisect_left(cuts, start)
        j = bisect_right(cuts, end) - 1
        if i >= j:
            return self._count(self._text[start:end])
        # a forced cut strictly inside the span (the first and last cuts included) is not a
        # safe split: count the span whole
        forced = self._forced
        if forced[j if cuts[j] < end else j - 1] != forced[i if cuts[i] == start else i - 1]:
            return self._count(self._text[start:end])
        q1, q2 = cuts[i], cuts[j]
        memo = self._edge
        if memo[0] == start and memo[1] == q1:
            head = memo[2]
        else:
            head = self._count(self._text[start:q1])
            self._edge = (start, q1, head)
        return head + self._cum[j] - self._cum[i] + self._count(self._text[q2:end])

    # -- aiming -------------------------------------------------------------------------------

    def _tokens_at(self, pos: int) -> float:
        """Estimated tokens before ``pos`` (exact at cuts, interpolated inside a segment)."""
        cuts, cum = self._cuts, self._cum
        i = bisect_right(cuts, pos) - 1
        if i + 1 >= len(cuts):
            return float(cum[i])
        width = cuts[i + 1] - cuts[i]
        return cum[i] + (cum[i + 1] - cum[i]) * (pos - cuts[i]) / width

    def _position_of(self, tokens: float) -> int:
        """Estimated position where ``tokens`` tokens have passed (``len(text)`` if past)."""
        cuts, cum = self._cuts, self._cum
        i = bisect_right(cum, tokens) - 1
        if i + 1 >= len(cuts):
            return cuts[-1]
        span = cum[i + 1] - cum[i]
        if span <= 0:
            return cuts[i + 1]
        return cuts[i] + int((cuts[i + 1] - cuts[i]) * (tokens - cum[i]) / span)

    def forward(self, pos: int, tokens: int) -> int:
        """About where the ``tokens``-th token counted from ``pos`` ends."""
        self._cover(pos + 1)
        target = self._tokens_at(pos) + tokens
        while self._cum[-1] < target and self._extend():
            pass
        return max(pos, min(len(self._text), self._position_of(target)))

    def backward(self, pos: int, tokens: int) -> int:
        """About where a span of ``tokens`` tokens ending at ``pos`` starts (0 if before)."""
        self._cover(pos)
        target = self._tokens_at(pos) - tokens
        return 0 if target <= 0 else min(pos, self._position_of(target))

    def forget(self, pos: int) -> None:
        """Nothing to drop: the map holds one entry per segment, a few per chunk."""
