"""Where a chunk may end, ranked: structure > paragraph > line > sentence > word > grapheme.

A boundary is a position ``b`` (a cut between ``text[b-1]`` and ``text[b]``). Every level but
the grapheme level is a zero-width pattern, so the same definition answers both questions the
chunker asks: "the last boundary of this level in a window" (a reverse regex search, which
stops at the first hit and costs nothing per character in Python) and, for tests and the slow
reference, "what is the level of this position". Whitespace stays with the chunk it ends, so
chunks start at content: ``"One. Two."`` splits as ``"One. "`` + ``"Two."``.

The blank-line levels (paragraph, and code's top-level and definition) are sparse: a reverse
search for one crosses thousands of characters, each paying for a lookbehind. Every boundary
of theirs ends a whitespace run holding a blank line, so one forward pass of a plain ``re``
pattern (``blank_line_ends``, C-speed, no lookaround) finds them all, and ``BlankLine`` says
which of those run ends each level keeps; ``tests/fitting`` checks this against the pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import regex  # type: ignore[import-untyped]

__all__ = [
    "GRAPHEME", "LEVELS", "BlankLine", "Level", "Structure", "blank_line_ends", "level_at",
    "levels_for",
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
_BLANK_LINE_RUN = re.compile(f"\n[{_SPACE.replace(chr(10), '')}]*\n[{_SPACE}]*")
"""From the first newline of a whitespace run holding a blank line to the end of the run: the
greedy tail never backtracks, so each run is matched once and the pass is linear."""


def blank_line_ends(text: str) -> Iterator[int]:
    """Positions ``b`` where a whitespace run holding a blank line ends before content, in order:
    exactly the paragraph boundaries, found lazily by one forward pass.

    >>> list(blank_line_ends("a\\n\\n  b\\n c\\n \\n"))
    [5]
    """
    n = len(text)
    for match in _BLANK_LINE_RUN.finditer(text):
        b = match.end()
        if b < n:
            yield b


@dataclass(frozen=True)
class BlankLine:
    """Which ends of blank-line runs (``blank_line_ends``) are boundaries of a level."""

    line_start: bool
    """Only where the run ends with a newline (the content starts a line at column 0)."""
    head: regex.Pattern[str] | None = None
    """A pattern the text at the boundary must match, if any."""


@dataclass(frozen=True)
class Level:
    """One kind of boundary: its rank and the zero-width pattern that finds it."""

    name: str
    rank: int
    pattern: regex.Pattern[str]
    reverse: regex.Pattern[str]
    needles: tuple[str, ...] = ()
    """Strings one of which a window must contain to hold this level at all: a C-speed
    ``str.find`` then skips the (much slower) regex scan for rare structure levels."""
    blank_line: BlankLine | None = None
    """Set when every boundary of this level ends a blank-line run: the chunker then finds
    them with one forward pass (``blank_line_ends``) instead of reverse searches."""


def _level(
    name: str,
    rank: int,
    source: str,
    needles: tuple[str, ...] = (),
    blank_line: BlankLine | None = None,
) -> Level:
    return Level(
        name, rank, regex.compile(source), regex.compile("(?r)" + source), needles, blank_line
    )


_WORD = _level("word", 1, rf"(?=\S)(?<=\s)|(?<=[{_CJK_PAUSES}])(?=\S)")
_SENTENCE = _level(
    "sentence",
    2,
    rf"(?=\S)(?<=[{_TERMINALS}][{_CLOSERS}]*\s)|(?<=[{_CJK_TERMINALS}][{_CLOSERS}]*)(?=\S)",
)
_LINE = _level("line", 3, r"(?=\S)(?<=\n\s*)")
_PARAGRAPH = _level(
    "paragraph", 4, r"(?=\S)(?<=\n[^\S\n]*\n\s*)", blank_line=BlankLine(False)
)

_MARKDOWN = (
    *(_level(f"heading{d}", 11 - d, rf"(?<=\n\s*)(?=[ ]{{0,3}}#{{{d}}}(?:[ \t]|$))", ("#" * d,))
      for d in range(1, 7)),
    _level("block", 5, r"(?<=\n\s*)(?=[ ]{0,3}(?:```|~~~|---|\*\*\*|___|<[A-Za-z!]))",
           ("```", "~~~", "---", "***", "___", "<")),
)
_DEFINITION_WORDS = (
    r"@|(?:async\s+)?def\s|class\s|function\s|fn\s|func\s|pub\s|impl\b|struct\s|enum\s"
    r"|interface\s|export\s|type\s|module\s|package\s|template\s|#\s*include\b|namespace\s"
    r"|(?:public|private|protected|static)\s"
)
_CODE = (
    _level(
        "definition", 6, rf"(?<=\n[^\S\n]*\n\s*)(?<=\n)(?={_DEFINITION_WORDS})",
        blank_line=BlankLine(True, regex.compile(_DEFINITION_WORDS)),
    ),
    _level(
        "top-level", 5, r"(?<=\n[^\S\n]*\n\s*)(?<=\n)(?=\S)", blank_line=BlankLine(True)
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
