"""Where a chunk may end, ranked: structure > paragraph > line > sentence > word > grapheme.

A boundary is a position ``b`` (a cut between ``text[b-1]`` and ``text[b]``). Every level but
the grapheme level is a zero-width pattern, so the same definition answers both questions the
chunker asks: "the last boundary of this level in a window" (a reverse regex search, which
stops at the first hit and costs nothing per character in Python) and, for tests and the slow
reference, "what is the level of this position". Whitespace stays with the chunk it ends, so
chunks start at content: ``"One. Two."`` splits as ``"One. "`` + ``"Two."``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import regex  # type: ignore[import-untyped]

__all__ = ["GRAPHEME", "LEVELS", "Level", "Structure", "level_at", "levels_for"]

Structure = Literal["text", "markdown", "code"]

GRAPHEME = 0
"""The level of any grapheme boundary no pattern matches: the last resort."""

_CLOSERS = "\"'’”)\\]»」』）"
_TERMINALS = ".!?…"
_CJK_TERMINALS = "。！？"
_CJK_PAUSES = "，、；："


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


def _level(name: str, rank: int, source: str, needles: tuple[str, ...] = ()) -> Level:
    return Level(name, rank, regex.compile(source), regex.compile("(?r)" + source), needles)


_WORD = _level("word", 1, rf"(?=\S)(?<=\s)|(?<=[{_CJK_PAUSES}])(?=\S)")
_SENTENCE = _level(
    "sentence",
    2,
    rf"(?=\S)(?<=[{_TERMINALS}][{_CLOSERS}]*\s)|(?<=[{_CJK_TERMINALS}][{_CLOSERS}]*)(?=\S)",
)
_LINE = _level("line", 3, r"(?=\S)(?<=\n\s*)")
_PARAGRAPH = _level("paragraph", 4, r"(?=\S)(?<=\n[^\S\n]*\n\s*)")

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
    _level("definition", 6, rf"(?<=\n[^\S\n]*\n\s*)(?<=\n)(?={_DEFINITION_WORDS})"),
    _level("top-level", 5, r"(?<=\n[^\S\n]*\n\s*)(?<=\n)(?=\S)"),
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
