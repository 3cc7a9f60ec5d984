"""Split text into chunks that never exceed a token limit and lose nothing.

Guarantees, for every input: each chunk's exact token count is at most ``max_tokens`` (every
chunk is counted exactly, because a BPE count is not additive across a cut); without overlap
the chunks concatenate to the input; with overlap consecutive chunks share at most ``overlap``
tokens; no cut splits a grapheme cluster. Each chunk ends at the best boundary that fits
(``boundaries``: structure > paragraph > line > sentence > word > grapheme), the furthest one
of that rank.

Cost is about one tokenizer pass to aim the cuts (``_tokenmap``) plus one exact count per chunk;
a few chunks need a second count when the aim was off by a token at the cut.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NoReturn

from tokman._args import find_lone_surrogate, not_utf8
from tokman.counting.text import resolve_encoding
from tokman.errors import InvalidRequestError
from tokman.fitting import graphemes
from tokman.fitting._tokenmap import TokenMap
from tokman.fitting.boundaries import Batch, Level, Scan, levels_for, scan_batches

__all__ = ["Chunk", "TextChunker", "chunk", "iter_chunks"]

_STRUCTURES = ("text", "markdown", "code")
_PROBE = 3  # graphemes tried past a failing one at the grapheme level


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of the input: ``text == input[start:end]``, exactly ``tokens`` tokens."""

    text: str
    start: int
    end: int
    tokens: int


def _check_int(field: str, value: object, low: int, high: int | None, meaning: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
        high is not None and value > high
    ):
        bound = f"an int >= {low}" if high is None else f"an int from {low} to {high}"
        raise InvalidRequestError(field, value, f"expected {bound}: {meaning}")
    return value


class TextChunker:
    """Reusable chunker for one encoding, limit, overlap and kind of text.

    Args:
        max_tokens: the most tokens any chunk may have.
        model: the model whose tokenizer counts (or give ``encoding``).
        encoding: the encoding name, e.g. ``"o200k_base"``, instead of ``model``.
        overlap: the most tokens two consecutive chunks may share (context for retrieval);
            must be less than ``max_tokens`` so every chunk adds new text.
        structure: ``"text"`` (prose), ``"markdown"`` (headings and blocks first) or
            ``"code"`` (top-level definitions and blank lines first).

    Raises:
        InvalidRequestError: a limit out of range or an unknown structure, naming the field.

    >>> chunker = TextChunker(5, encoding="o200k_base")
    >>> [c.text for c in chunker.chunks("One two. Three four five six.")]
    ['One two. ', 'Three four five six.']
    """

    def __init__(
        self,
        max_tokens: int,
        *,
        model: str | None = None,
        encoding: str | None = None,
        overlap: int = 0,
        structure: str = "text",
    ) -> None:
        self.max_tokens = _check_int(
            "max_tokens", max_tokens, 1, None, "the largest number of tokens a chunk may have"
        )
        self.overlap = _check_int(
            "overlap", overlap, 0, self.max_tokens - 1,
            "tokens shared by consecutive chunks must be fewer than max_tokens",
        )
        if structure not in _STRUCTURES:
            raise InvalidRequestError(
                "structure", structure, "expected one of 'text', 'markdown', 'code'"
            )
        self.structure = structure
        self.encoding = resolve_encoding(model, encoding)
        self._levels = levels_for(structure)
        # Aim a little past the estimate (estimates inside a segment are interpolated); a cut
        # aimed short is caught by walking forward while boundaries still fit.
        self._slack = 2 + self.max_tokens // 64

    def chunks(self, text: str) -> list[Chunk]:
        """All chunks of ``text`` (``[]`` for the empty string)."""
        return list(self.iter_chunks(text))

    def iter_chunks(self, text: str) -> Iterator[Chunk]:
        """Chunks of ``text`` one at a time, so a caller can stop early or stream them."""
        if not isinstance(text, str):
            raise InvalidRequestError("text", text, "expected a str; decode bytes first")
        if find_lone_surrogate(text, "text") is not None:  # the tokenizer would fail mid-run
            raise not_utf8("text", text)
        return _Run(self, text).run()


class _Run:
    """The state of chunking one text."""

    def __init__(self, chunker: TextChunker, text: str) -> None:
        self.text = text
        self.max = chunker.max_tokens
        self.overlap = chunker.overlap
        self.slack = chunker._slack
        self.levels = chunker._levels
        self.count: Callable[[str], int] = chunker.encoding.count
        self.map = TokenMap(chunker.encoding, text)
        # forward-scanned levels: their boundaries, found ahead by lazy forward passes (one per
        # source, shared by the levels it feeds)
        self.found: dict[str, list[int]] = {}
        self.passes: dict[object, _Pass] = {}
        for level in self.levels:
            if level.scan is not None:
                self.found[level.name] = []
                feed = self.passes.get(level.scan.source)
                if feed is None:
                    feed = self.passes[level.scan.source] = _Pass(
                        scan_batches(level.scan.source, text)
                    )
                feed.sinks.append((level.scan, self.found[level.name]))

    def run(self) -> Iterator[Chunk]:
        text, n = self.text, len(self.text)
        start = 0
        previous_end = 0
        while previous_end < n:
            found = None
            if start < previous_end:  # overlapping start: the chunk must reach past it
                found = self._end(start, previous_end, self.max)
                if found is None:
                    start = previous_end
            if found is None:
                found = self._end(start, start, self.max)
                if found is None:
                    self._raise_too_big(start)
            end, tokens = found
            yield Chunk(text[start:end], start, end, tokens)
            previous_end = end
            if end < n:
                start = self._overlap_start(start, end) if self.overlap else end
            self.map.forget(start)
            self._forget(start)

    # -- ends ---------------------------------------------------------------------------------

    def _fits(self, start: int, end: int, limit: int) -> int | None:
        tokens = self.map.count(start, end)
        return tokens if tokens <= limit else None

    def _end(self, start: int, after: int, limit: int) -> tuple[int, int] | None:
        """The best chunk end ``b > after`` for a chunk from ``start``, with its count."""
        n = len(self.text)
        horizon = min(n, self.map.forward(start, limit + self.slack))
        if self._reach(start, horizon) >= n:
            tokens = self._fits(start, n, limit)
            if tokens is not None:
                return n, tokens
        reach = min(n, self._reach(start, horizon))
        for level in self.levels:
            found = self._last_fitting(level, start, after, reach, limit)
            if found is not None:
                return found
            # nothing of this rank fits: anything after its first failure would not fit either
        return self._grapheme_end(start, after, horizon, limit)

    @staticmethod
    def _reach(start: int, horizon: int) -> int:
        """How far past the aimed ``horizon`` a fitting boundary is still looked for."""
        return horizon + (horizon - start) // 8 + 16

    # -- forward-scanned levels -----------------------------------------------------------------

    def _scan(self, scan: Scan, upto: int) -> None:
        """Run the pass feeding ``scan`` until it is past ``upto``, sorting each position into
        the levels that keep it."""
        feed = self.passes[scan.source]
        text, items, sinks = self.text, feed.items, feed.sinks
        while feed.scanned <= upto:
            batch = next(items, None)
            if batch is None:
                feed.scanned = len(text)
                return
            ends, blanks = batch
            if not ends:
                continue
            feed.scanned = ends[-1]
            for rule, positions in sinks:
                positions.extend(rule.select(text, ends, blanks))

    def _forget(self, start: int) -> None:
        """Drop found boundaries before ``start``: no later query looks there."""
        for positions in self.found.values():
            k = bisect_left(positions, start)
            if k >= 64:
                del positions[:k]

    # -- boundaries of a level ------------------------------------------------------------------

    def _last(self, level: Level, after: int, upto: int) -> int | None:
        """The last boundary ``b`` of ``level`` with ``after < b <= upto`` keeping graphemes."""
        text = self.text
        if level.scan is not None:
            self._scan(level.scan, upto)
            positions = self.found[level.name]
            i = bisect_right(positions, upto) - 1
            while i >= 0 and positions[i] > after:
                if graphemes.is_boundary(text, positions[i], after):
                    return positions[i]
                i -= 1
            return None
        endpos = min(upto + 1, len(text))
        if level.needles and all(text.find(x, after, endpos) < 0 for x in level.needles):
            return None
        while endpos > after + 1:
            # a reverse search never reports a zero-width match at ``pos`` itself, so start at
            # ``after`` and reject a match there
            match = level.reverse.search(text, after, endpos)
            if match is None or match.start() <= after:
                return None
            b = int(match.start())
            if graphemes.is_boundary(text, b, after):
                return b
            endpos = b
        return None

    def _next(self, level: Level, after: int, before: int) -> int | None:
        """The first boundary ``b`` of ``level`` with ``after < b < before`` keeping graphemes."""
        text = self.text
        if level.scan is not None:
            self._scan(level.scan, before)
            positions = self.found[level.name]
            i = bisect_right(positions, after)
            while i < len(positions) and positions[i] < before:
                if graphemes.is_boundary(text, positions[i], after):
                    return positions[i]
                i += 1
            return None
        pos = after + 1
        while pos < before:
            match = level.pattern.search(text, pos, before)
            if match is None:
                return None
            b = int(match.start())
            if graphemes.is_boundary(text, b, after):
                return b
            pos = b + 1
        return None

    def _last_fitting(
        self, level: Level, start: int, after: int, upto: int, limit: int
    ) -> tuple[int, int] | None:
        b = self._last(level, after, upto)
        failed: int | None = None
        while b is not None:
            tokens = self.map.count(start, b)
            if tokens <= limit:
                if failed is None:  # the rightmost candidate fits: nothing further to try
                    return b, tokens
                return self._furthest(level, start, b, tokens, failed, limit)
            excess = tokens - limit if failed is None else 1
            failed = b
            aim = min(b - 1, self.map.backward(b, excess))
            # the aim may overshoot past every boundary of this rank: then step back one
            b = self._last(level, after, aim) or self._last(level, after, b - 1)
        return None

    def _furthest(
        self, level: Level, start: int, b: int, tokens: int, stop: int, limit: int
    ) -> tuple[int, int]:
        """The furthest boundary of ``level`` in ``[b, stop)`` that fits, given that ``b`` fits.

        After a jump back the boundaries between ``b`` and the failed one were skipped; they
        are tried from the right (a reverse search is far cheaper than a forward one here).
        """
        while True:
            candidate = self._last(level, b, stop - 1)
            if candidate is None:
                return b, tokens
            more = self._fits(start, candidate, limit)
            if more is not None:
                return candidate, more
            stop = candidate

    def _grapheme_end(
        self, start: int, after: int, upto: int, limit: int
    ) -> tuple[int, int] | None:
        text = self.text
        first = graphemes.ceil_boundary(text, after + 1, after)
        b = max(first, graphemes.floor_boundary(text, upto, after))
        while True:
            tokens = self.map.count(start, b)
            if tokens <= limit:
                break
            if b == first:
                return None
            excess = tokens - limit
            b = max(first, graphemes.floor_boundary(
                text, min(b - 1, self.map.backward(b, excess)), after))
        # walk forward grapheme by grapheme while the count still fits (aim may be short); a
        # BPE count can dip back under the limit a character or two later ("\n  " is 2 tokens,
        # "\n  \n" is 1), so look a few graphemes past a failure before stopping
        probe, nxt = 0, b
        while nxt < upto and probe < _PROBE:
            nxt = graphemes.ceil_boundary(text, nxt + 1, b)
            more = self._fits(start, nxt, limit)
            if more is None:
                probe += 1
            else:
                b, tokens, probe = nxt, more, 0
        return b, tokens

    # -- overlap ------------------------------------------------------------------------------

    def _overlap_start(self, start: int, end: int) -> int:
        """The earliest start ``s`` in ``(start, end)`` at a word or better boundary whose text
        up to ``end`` fits ``overlap`` tokens, preferring better ranks; ``end`` if none fits."""
        aim = max(start + 1, self.map.backward(end, self.overlap + self.slack))
        for level in self.levels:
            s = self._next(level, aim - 1, end)
            while s is not None:
                if self.map.count(s, end) <= self.overlap:
                    return s
                s = self._next(level, s, end)
        # never start an overlap mid-word: a chunk opening with half a word is worse context
        # than no overlap at all
        return end

    def _raise_too_big(self, start: int) -> NoReturn:
        text = self.text
        stop = graphemes.ceil_boundary(text, start + 1, start)
        cluster = text[start:stop]
        tokens = self.count(cluster)
        raise InvalidRequestError(
            "max_tokens",
            self.max,
            f"the grapheme cluster {cluster!r} at offset {start} alone is {tokens} tokens and "
            f"cannot be split; use max_tokens >= {tokens}",
        )


class _Pass:
    """One lazy forward pass and the found lists of the levels it feeds."""

    __slots__ = ("items", "scanned", "sinks")

    def __init__(self, items: Iterator[Batch]) -> None:
        self.items = items
        self.scanned = -1  # the last position the pass has reached (n once it is exhausted)
        self.sinks: list[tuple[Scan, list[int]]] = []


def chunk(
    text: str,
    *,
    max_tokens: int,
    model: str | None = None,
    encoding: str | None = None,
    overlap: int = 0,
) -> list[Chunk]:
    """Split ``text`` into chunks of at most ``max_tokens`` tokens each, losing nothing.

    Chunks end at the best boundary that fits (paragraph, line, sentence, word, then grapheme),
    and ``"".join(c.text for c in chunks) == text`` when ``overlap`` is 0. For Markdown or
    source code use ``TextChunker(..., structure="markdown" | "code")``.

    >>> [(c.text, c.start, c.tokens) for c in chunk("Hi there. Bye.", max_tokens=4,
    ...                                           model="gpt-4o")]
    [('Hi there. ', 0, 4), ('Bye.', 10, 2)]
    """
    return TextChunker(max_tokens, model=model, encoding=encoding, overlap=overlap).chunks(text)


def iter_chunks(
    text: str,
    *,
    max_tokens: int,
    model: str | None = None,
    encoding: str | None = None,
    overlap: int = 0,
) -> Iterator[Chunk]:
    """Like :func:`chunk`, but yield chunks one by one (for large inputs or early exit)."""
    return TextChunker(
        max_tokens, model=model, encoding=encoding, overlap=overlap
    ).iter_chunks(text)
