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
anyway, marked *forced*; spans across a forced cut are counted whole (or, in CJK prose,
bridged: see ``_bridge``), so counts stay exact and only aiming gets coarser. For exact counts
segments are cut again at CJK safe splits (``_CJK_SPLIT``), so CJK spans re-count short
edges. Segments are built block by block as the chunker advances, so
``iter_chunks`` can stop early without counting the rest.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable

from tokman.counting.text import SAFE_ENCODINGS
from tokman.counting.text import SAFE_SPLIT as _SAFE_SPLIT
from tokman.encodings import Encoding

__all__ = ["SAFE_ENCODINGS", "TokenMap"]

_SEGMENT_CHARS = 256
_FORCED_CHARS = 1024
_BLOCK_CHARS = 1 << 16

_CJK_LETTER = "[\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fa5]"
_CJK_MARK = "[。，、！？；：「」『』（）]"
_CJK_SPLIT = re.compile(f"(?<={_CJK_LETTER})(?={_CJK_MARK})")
"""Before CJK punctuation that follows a kana or a common CJK ideograph: also a safe split (a
letter piece ends at the first non-letter, and no contraction or letter piece starts with
these marks; a punctuation piece holds no letter). The letter ranges hold only code points
assigned since Unicode 3.2, so every tokenizer's Unicode tables agree on them. Used only for
exact counts: fine segments inside a segment, and bridges over forced cuts (the segments that
aim cuts keep to ``_SAFE_SPLIT``, so where a cut is aimed does not depend on it)."""
_CJK_SCAN = re.compile(f"{_CJK_LETTER}(?={_CJK_MARK})")
"""``_CJK_SPLIT`` as a consuming ``re`` pattern (a fast forward scan): the split is its end."""
_FINE_CHARS = 128


class TokenMap:
    """Exact span counts and token-position estimates for one text and encoding."""

    def __init__(self, encoding: Encoding, text: str, segment_chars: int = _SEGMENT_CHARS) -> None:
        self._text = text
        self._count: Callable[[str], int] = encoding.count
        self._safe = encoding.name in SAFE_ENCODINGS
        self._segment = max(1, segment_chars)
        self._cuts = [0]  # segment boundaries
        self._cum = [0]  # tokens before each cut (sum of segment counts)
        # exact counts use finer segments: the segments cut again at CJK safe splits (aiming
        # keeps to the segments above, so where cuts are aimed does not depend on them)
        self._fcuts = [0]
        self._fcum = [0]
        self._forced = [0]  # forced cuts up to and including each fine cut
        self._edge: tuple[int, int, int] = (-1, -1, 0)  # (start, q1, count) memo
        self._forced_at: list[int] = []  # indices of the forced cuts
        # forced cut index -> (s1, s2, correction), see ``_bridge``
        self._bridges: dict[int, tuple[int, int, int] | None] = {}

    # -- building -----------------------------------------------------------------------------

    def _extend(self) -> bool:
        text, n = self._text, len(self._text)
        pos = self._cuts[-1]
        if pos >= n:
            return False
        stop = min(n, pos + _BLOCK_CHARS)
        cuts, cum, forced, count = self._cuts, self._cum, self._forced, self._count
        fcuts, fcum = self._fcuts, self._fcum
        search = _SAFE_SPLIT.search
        fine = _CJK_SCAN.search if self._safe else None
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
            tokens = 0
            sub = pos
            match = fine(text, pos + _FINE_CHARS - 1, nxt) if fine is not None else None
            while match is not None:  # a safe split at match.end(), inside the segment
                q = match.end()
                part = count(text[sub:q])
                tokens += part
                fcum.append(fcum[-1] + part)
                fcuts.append(q)
                forced.append(forced[-1])
                sub = q
                match = fine(text, q + _FINE_CHARS - 1, nxt)  # type: ignore[misc]
            part = count(text[sub:nxt])
            tokens += part
            fcum.append(fcum[-1] + part)
            fcuts.append(nxt)
            forced.append(forced[-1] + is_forced)
            if is_forced:
                self._forced_at.append(len(fcuts) - 1)
            cum.append(cum[-1] + tokens)
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
        cuts = self._fcuts
        i = bisect_left(cuts, start)
        j = bisect_right(cuts, end) - 1
        if i >= j:
            return self._count(self._text[start:end])
        # a forced cut strictly inside the span (the first and last cuts included) is not a
        # safe split: bridge it, or count the span whole
        forced = self._forced
        correction = 0
        if forced[j if cuts[j] < end else j - 1] != forced[i if cuts[i] == start else i - 1]:
            forced_at = self._forced_at
            lo = bisect_left(forced_at, i if cuts[i] > start else i + 1)
            hi = bisect_right(forced_at, j if cuts[j] < end else j - 1)
            for k in forced_at[lo:hi]:
                bridge = self._bridge(k)
                if bridge is None or bridge[0] < start or bridge[1] > end:
                    return self._count(self._text[start:end])
                correction += bridge[2]
        q1, q2 = cuts[i], cuts[j]
        memo = self._edge
        if memo[0] == start and memo[1] == q1:
            head = memo[2]
        else:
            head = self._count(self._text[start:q1])
            self._edge = (start, q1, head)
        tail = self._count(self._text[q2:end])
        return head + self._fcum[j] - self._fcum[i] + tail + correction

    def _bridge(self, k: int) -> tuple[int, int, int] | None:
        """Safe splits ``s1 < f < s2`` around the forced cut ``f = cuts[k]`` (a CJK split inside
        a neighbouring fine segment, else that segment's other end if it is no forced cut), and
        ``count(s1:s2) - count(s1:f) - count(f:s2)``: what the sum of fine segment counts is off
        by across ``f`` (the pieces s1:f and f:s2 each lie inside one fine segment, whose count
        is theirs summed: they meet at a safe split). ``None`` when there are none."""
        if k in self._bridges:
            return self._bridges[k]
        text, cuts, count, forced = self._text, self._fcuts, self._count, self._forced
        f = cuts[k]
        bridge = None
        # a match of ``_CJK_SCAN`` searched in [pos, endpos) ends strictly inside (pos, endpos)
        after = _CJK_SCAN.search(text, f, cuts[k + 1])
        if after is not None:
            s2: int | None = after.end()
        else:  # the end of the text is never forced
            s2 = cuts[k + 1] if forced[k + 1] == forced[k] else None
        s1 = None
        for before in _CJK_SCAN.finditer(text, cuts[k - 1], f):  # the last one: one segment
            s1 = before.end()
        if s1 is None:  # the start of the text is never forced
            s1 = cuts[k - 1] if k == 1 or forced[k - 1] == forced[k - 2] else None
        if s1 is not None and s2 is not None:
            bridge = (s1, s2, count(text[s1:s2]) - count(text[s1:f]) - count(text[f:s2]))
        self._bridges[k] = bridge
        return bridge

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
