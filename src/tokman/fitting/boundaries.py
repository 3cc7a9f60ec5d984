"""Where a chunk may end, ranked: structure > paragraph > line > sentence > word > grapheme.

A boundary is a position ``b`` (a cut between ``text[b-1]`` and ``text[b]``). Every level but
the grapheme level is a zero-width pattern, so the same definition answers both questions the
chunker asks: "the last boundary of this level in a window" (a reverse regex search, which
stops at the first hit and costs nothing per character in Python) and, for tests and the slow
reference, "what is the level of this position". Whitespace stays with the chunk it ends, so
chunks start at content: ``"One. Two."`` splits as ``"One. "`` + ``"Two."``.

Each pattern tries its one-character lookahead (content follows) before any lookbehind, so a
position inside a whitespace run fails in O(1): otherwise the lookbehind would re-read the run
at every position, quadratic on a long blank run. Levels whose lookbehinds are unbounded are
not searched backwards at all: every line, paragraph, top-level and definition boundary ends a
whitespace run holding a newline, and every sentence boundary follows a terminal, so one lazy
forward pass of a plain ``re`` pattern each (``newline_run_ends``, ``sentence_ends``: C-speed,
greedy classes that never backtrack, each character read a bounded number of times) finds
them all, and ``Scan`` says which of them a level keeps; ``tests/fitting`` checks this against
the patterns. The dense word level stays a reverse search (it stops at the first hit).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Literal

import regex  # type: ignore[import-untyped]

__all__ = [
    "GRAPHEME", "LEVELS", "Level", "Scan", "Structure", "blank_line_ends", "level_at", "levels_for",
    "newline_run_ends", "scan_batches", "sentence_ends",
]

Structure = Literal["text", "markdown", "code"]

GRAPHEME = 0
"""The level of any grapheme boundary no pattern matches: the last resort."""

_CLOSERS = "\"'’”)\\]»」』）"
_TERMINALS = ".!?…"
_CJK_TERMINALS = "。！？"
_CJK_PAUSES = "，、；："


# ``regex``'s ``\s`` spelled out for ``re`` (whose ``\s`` also takes U+001C..U+001F)
_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_INLINE_SPACE = _SPACE.replace("\n", "")
_NEWLINE_RUN = re.compile(f"\n[{_INLINE_SPACE}]*(\n[{_SPACE}]*)?")
"""From the first newline of a whitespace run to the end of the run, group 1 set when the run
holds a second newline (a blank line): the greedy classes never backtrack, so each run is
matched once and the pass is linear."""
_SENTENCE_END = re.compile(
    f"[{_TERMINALS}][{_CLOSERS}]*[{_SPACE}](?=[^{_SPACE}])|([{_CJK_TERMINALS}])[{_CLOSERS}]*"
)
"""A terminal, its closers and the one space before content; or a CJK terminal and its
closers. Only a terminal starts a match and terminals are not closers, so each closer run is
read by at most one attempt: linear."""
_IS_SPACE = re.compile(f"[{_SPACE}]")


def newline_run_ends(text: str) -> Iterator[tuple[int, bool]]:
    """``(b, blank)`` for each whitespace run holding a newline that ends before content, in
    order: ``b`` is where the run ends (a line boundary), ``blank`` whether the run holds a blank
    line (then ``b`` is a paragraph boundary). One lazy forward pass.

    >>> list(newline_run_ends("a\\n\\n  b\\n c\\n \\n"))
    [(5, True), (8, False)]
    """
    n = len(text)
    for match in _NEWLINE_RUN.finditer(text):
        b = match.end()
        if b < n:
            yield b, match.start(1) >= 0


def blank_line_ends(text: str) -> Iterator[int]:
    """Positions ``b`` where a whitespace run holding a blank line ends before content, in order:
    exactly the paragraph boundaries.

    >>> list(blank_line_ends("a\\n\\n  b\\n c\\n \\n"))
    [5]
    """
    return (b for b, blank in newline_run_ends(text) if blank)


def sentence_ends(text: str) -> Iterator[tuple[int, bool]]:
    """``(b, False)`` for each sentence boundary ``b``, in order, by one lazy forward pass:
    after a terminal, its closers and one space before content; or after a CJK terminal and
    after each of its closers, before content.

    >>> [b for b, _ in sentence_ends("Hi. (Yes.) No.  x 好。」y")]
    [4, 11, 20, 21]
    """
    n = len(text)
    is_space = _IS_SPACE.match
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if match.start(1) < 0:
            yield end, False
            continue
        for b in range(match.start() + 1, end):  # before a closer: content
            yield b, False
        if end < n and is_space(text, end) is None:
            yield end, False


_BATCH = 256
"""Matches a pass reads ahead at a time: the chunker asks for boundaries in batches, so the
Python work per boundary is a list comprehension step, not a generator resume."""

Batch = tuple[list[int], list[bool] | None]
"""Positions of one batch, in increasing order, and for each whether it ends a blank-line run
(``None``: none does)."""


def _newline_run_batches(text: str) -> Iterator[Batch]:
    """``newline_run_ends`` in batches."""
    n = len(text)
    matches = _NEWLINE_RUN.finditer(text)
    while batch := list(islice(matches, _BATCH)):
        ends = [m.end() for m in batch]
        blanks = [m.start(1) >= 0 for m in batch]
        if ends[-1] >= n:  # only the last run can end the text
            ends.pop()
            blanks.pop()
        yield ends, blanks


def _sentence_batches(text: str) -> Iterator[Batch]:
    """``sentence_ends`` in batches."""
    n = len(text)
    is_space = _IS_SPACE.match
    matches = _SENTENCE_END.finditer(text)
    while batch := list(islice(matches, _BATCH)):
        ends: list[int] = []
        for match in batch:
            end = match.end()
            if match.start(1) >= 0:
                start = match.start()
                if end > start + 1:
                    ends.extend(range(start + 1, end))
                if end >= n or is_space(text, end) is not None:
                    continue
            ends.append(end)
        yield ends, None


def _generic_batches(items: Iterator[tuple[int, bool]]) -> Iterator[Batch]:
    while batch := list(islice(items, _BATCH)):
        yield [b for b, _ in batch], [blank for _, blank in batch]


_BATCHED: dict[object, Callable[[str], Iterator[Batch]]] = {
    newline_run_ends: _newline_run_batches,
    sentence_ends: _sentence_batches,
}


def scan_batches(source: Callable[[str], Iterator[tuple[int, bool]]], text: str) -> Iterator[Batch]:
    """The items of the pass ``source(text)`` in batches (fast for the passes defined here)."""
    batched = _BATCHED.get(source)
    return batched(text) if batched is not None else _generic_batches(source(text))


@dataclass(frozen=True)
class Scan:
    """A level whose boundaries one lazy forward pass finds (instead of reverse searches, whose
    lookbehinds would re-read long whitespace or closer runs at every position)."""

    source: Callable[[str], Iterator[tuple[int, bool]]]
    """The pass: ``(b, blank)`` in increasing ``b``. Levels with the same source share it."""
    blank: bool = False
    """Keep only ends of runs holding a blank line."""
    line_start: bool = False
    """Keep only positions after a newline (the content starts a line at column 0)."""
    head: regex.Pattern[str] | None = None
    """A pattern the text at the boundary must match, if any."""

    def keeps(self, text: str, b: int, blank: bool) -> bool:
        """Whether the pass's position ``b`` is a boundary of this level."""
        return (
            (blank or not self.blank)
            and (not self.line_start or text[b - 1] == "\n")
            and (self.head is None or self.head.match(text, b) is not None)
        )

    def select(self, text: str, ends: list[int], blanks: list[bool] | None) -> list[int]:
        """The positions of a batch this level keeps: ``keeps`` on each, a comprehension per
        condition instead of a call per position."""
        if self.blank:
            if blanks is None:
                return []
            ends = [b for b, blank in zip(ends, blanks, strict=True) if blank]
        if self.line_start:
            ends = [b for b in ends if text[b - 1] == "\n"]
        if self.head is not None:
            head = self.head.match
            ends = [b for b in ends if head(text, b) is not None]
        return ends


@dataclass(frozen=True)
class Level:
    """One kind of boundary: its rank and the zero-width pattern that defines it.

    ``pattern`` evaluates its one-character lookahead first and ``reverse`` (a reverse search,
    which tries the rightmost item first) last, so at a position that cannot be a boundary a
    failed match costs O(1) instead of a lookbehind over the run before it.
    """

    name: str
    rank: int
    pattern: regex.Pattern[str]
    reverse: regex.Pattern[str]
    needles: tuple[str, ...] = ()
    """Strings one of which a window must contain to hold this level at all: a C-speed
    ``str.find`` then skips the (much slower) regex scan for rare structure levels."""
    scan: Scan | None = None
    """Set when the chunker finds this level's boundaries by a forward pass."""


def _level(
    name: str,
    rank: int,
    behind: str,
    ahead: str = r"(?=\S)",
    needles: tuple[str, ...] = (),
    scan: Scan | None = None,
) -> Level:
    return Level(
        name,
        rank,
        regex.compile(ahead + behind),
        regex.compile(f"(?r){behind}{ahead}"),
        needles,
        scan,
    )


_WORD = _level("word", 1, rf"(?<=[\s{_CJK_PAUSES}])")
_SENTENCE = _level(
    "sentence",
    2,
    rf"(?:(?<=[{_TERMINALS}][{_CLOSERS}]*\s)|(?<=[{_CJK_TERMINALS}][{_CLOSERS}]*))",
    scan=Scan(sentence_ends),
)
_LINE = _level("line", 3, r"(?<=\n\s*)", scan=Scan(newline_run_ends))
_PARAGRAPH = _level(
    "paragraph", 4, r"(?<=\n[^\S\n]*\n\s*)", scan=Scan(newline_run_ends, blank=True)
)

_MARKDOWN = (
    *(_level(f"heading{d}", 11 - d, r"(?<=\n\s*)", rf"(?=[ ]{{0,3}}#{{{d}}}(?:[ \t]|$))",
             ("#" * d,))
      for d in range(1, 7)),
    _level("block", 5, r"(?<=\n\s*)", r"(?=[ ]{0,3}(?:```|~~~|---|\*\*\*|___|<[A-Za-z!]))",
           ("```", "~~~", "---", "***", "___", "<")),
)
_DEFINITION_WORDS = (
    r"@|(?:async\s+)?def\s|class\s|function\s|fn\s|func\s|pub\s|impl\b|struct\s|enum\s"
    r"|interface\s|export\s|type\s|module\s|package\s|template\s|#\s*include\b|namespace\s"
    r"|(?:public|private|protected|static)\s"
)
_CODE = (
    _level(
        "definition", 6, r"(?<=\n[^\S\n]*\n\s*)(?<=\n)", f"(?={_DEFINITION_WORDS})",
        scan=Scan(newline_run_ends, True, True, regex.compile(_DEFINITION_WORDS)),
    ),
    _level(
        "top-level", 5, r"(?<=\n[^\S\n]*\n\s*)(?<=\n)",
        scan=Scan(newline_run_ends, blank=True, line_start=True),
    ),
)
_TEXT = (_PARAGRAPH, _LINE, _SENTENCE, _WORD)

LEVELS: dict[str, tuple[Level, ...]] = {
    "text": _TEXT,
    "markdown": (*_MARKDOWN, *_TEXT),
    "code": (*_CODE, *_TEXT),
}
"""Levels of each structure, best first."""


def levels_for(structure: str) -> Sequence[Level]:
    """The boundary levels of ``structure``, best first (a ``KeyError`` for unknown names)."""
    return LEVELS[structure]


def level_at(text: str, b: int, structure: str = "text") -> int:
    """The rank of position ``b`` as a chunk end: the best level whose pattern matches there.

    The end of the text outranks everything; positions no pattern matches are ``GRAPHEME``.
    Grapheme integrity is checked separately (see ``graphemes``).

    >>> [level_at("One. Two\\n\\nThree", b) for b in (5, 6, 10)]
    [2, 0, 4]
    """
    if b >= len(text):
        return 1 << 30
    for level in LEVELS[structure]:
        if level.pattern.match(text, b) is not None:
            return level.rank
    return GRAPHEME
