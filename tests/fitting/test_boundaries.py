"""The forward pass behind the blank-line levels finds exactly what their patterns match."""

from __future__ import annotations

import re
import sys

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from tokman.fitting.boundaries import _SPACE, LEVELS, blank_line_ends

_PIECES = st.sampled_from([
    "\n", "\n\n", " \n", "\n \n", "\n\t\n  ", "\r\n", "\r\n\r\n", "\t", " ", "\u3000", "\u2028",
    "\x1c", "\x85", "\xa0", "def f():", "class A:", "@dec", "async  def g", "#include", "# x",
    "x = 1", "e\u0301", "\u0301", "word", "日本語。",
])
TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=40).map("".join),
)


def test_space_class_is_regex_whitespace() -> None:
    """``_SPACE`` (for ``re``) is exactly the ``\\s`` of ``regex`` over every code point."""
    everything = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    assert re.findall(f"[{_SPACE}]", everything) == regex.findall(r"\s", everything)


@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_blank_line_levels_match_their_patterns(text: str) -> None:
    """For each blank-line level, the run ends its rule keeps are where its pattern matches."""
    ends = list(blank_line_ends(text))
    assert ends == sorted(set(ends))
    for structure, levels in LEVELS.items():
        for level in levels:
            rule = level.blank_line
            if rule is None:
                continue
            expected = [b for b in range(len(text) + 1) if level.pattern.match(text, b)]
            kept = [
                b for b in ends
                if (not rule.line_start or text[b - 1] == "\n")
                and (rule.head is None or rule.head.match(text, b))
            ]
            assert kept == expected, (structure, level.name)
