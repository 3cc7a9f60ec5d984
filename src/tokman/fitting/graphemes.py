"""Extended grapheme cluster boundaries, checked locally instead of segmenting the whole text.

A chunk may only end where a user-perceived character ends (UAX #29). Segmenting a whole
document with ``\\X`` costs a match object per character, so instead each candidate cut is
checked on the two characters around it: for almost every pair no UAX #29 rule can join them,
and only the rare pairs that *might* be joined (combining marks, ZWJ, regional indicators,
Hangul jamo, prepend marks, CR LF) are settled by running ``\\X`` from a nearby position that
is certainly a boundary.
"""

from __future__ import annotations

import regex  # type: ignore[import-untyped]

__all__ = ["ceil_boundary", "floor_boundary", "is_boundary"]

_GRAPHEME = regex.compile(r"\X", regex.DOTALL)

_HANGUL = r"\p{GCB=L}\p{GCB=V}\p{GCB=T}\p{GCB=LV}\p{GCB=LVT}"
# Two characters that some UAX #29 rule (GB3, GB6-GB9c, GB11-GB13) could keep together. When
# this does not match at ``b - 1`` the position ``b`` is certainly a boundary (rule GB999).
_MAYBE_JOINED = regex.compile(
    r"\r\n"
    r"|.[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}]"
    r"|[\p{GCB=Prepend}\p{GCB=ZWJ}\p{GCB=Extend}]."
    r"|\p{GCB=Regional_Indicator}\p{GCB=Regional_Indicator}"
    rf"|[{_HANGUL}][{_HANGUL}]",
    regex.DOTALL,
)


def _certain(text: str, b: int) -> bool:
    """True when ``b`` is a boundary for sure, judged from ``text[b-1:b+1]`` alone."""
    return b <= 0 or b >= len(text) or _MAYBE_JOINED.match(text, b - 1, b + 1) is None


def _anchor(text: str, b: int, lo: int) -> int:
    """The nearest position ``q`` with ``lo <= q <= b`` known to be a boundary (``lo`` is one)."""
    q = b
    while q > lo and not _certain(text, q):
        q -= 1
    return q


def floor_boundary(text: str, b: int, lo: int = 0) -> int:
    """The last grapheme boundary at or before ``b`` and at or after ``lo``.

    ``lo`` must itself be a boundary (0 or the start of a chunk); it bounds the backward scan.

    >>> floor_boundary("e\\u0301x", 1)  # inside "é" written as e + combining acute
    0
    """
    if _certain(text, b):
        return b
    pos = _anchor(text, b, lo)
    last = pos
    while pos < b:
        last = pos
        match = _GRAPHEME.match(text, pos)
        if match is None:  # pragma: no cover - \X matches any character
            break
        pos = match.end()
    return b if pos == b else last


def ceil_boundary(text: str, b: int, lo: int = 0) -> int:
    """The first grapheme boundary at or after ``b`` (``lo <= b`` must be a boundary).

    >>> ceil_boundary("e\\u0301x", 1)
    2
    """
    if _certain(text, b):
        return b
    pos = _anchor(text, b, lo)
    while pos < b:
        match = _GRAPHEME.match(text, pos)
        if match is None:  # pragma: no cover - \X matches any character
            return len(text)
        pos = match.end()
    return pos


def is_boundary(text: str, b: int, lo: int = 0) -> bool:
    """Whether a cut at ``b`` keeps every grapheme cluster whole.

    >>> is_boundary("🇺🇸🇫🇷", 2), is_boundary("🇺🇸🇫🇷", 1)
    (True, False)
    """
    return floor_boundary(text, b, lo) == b
