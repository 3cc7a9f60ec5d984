"""The forward passes behind the scanned levels find exactly what their patterns match."""

from __future__ import annotations

import re
import sys

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from tokman.fitting.boundaries import _SPACE, LEVELS, blank_line_ends, newline_run_ends

_PIECES = st.sampled_from([
    "\n", "\n\n", " \n", "\n \n", "\n\t\n  ", "\r\n", "\r\n\r\n", "\t", " ", "\u3000", "\u2028",
    "\x1c", "\x85", "\xa0", "def f():", "class A:", "@dec", "async  def g", "#include", "# x",
    "x = 1", "e\u0301", "\u0301", "word", "日本語。", ". ", ".", "!) ", "。」", "」", ")", "？",
    "…\n", "，", "# h", "## ", "   #", "```", "\u2029",
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
def test_scanned_levels_match_their_patterns(text: str) -> None:
    """For each forward-scanned level, the positions its rule keeps are where its pattern
    matches; the blank-line run ends are a sorted subset of the newline run ends."""
    runs = list(newline_run_ends(text))
    assert [b for b, _ in runs] == sorted({b for b, _ in runs})
    assert list(blank_line_ends(text)) == [b for b, blank in runs if blank]
    for structure, levels in LEVELS.items():
        for level in levels:
            rule = level.scan
            if rule is None:
                continue
            expected = [b for b in range(len(text) + 1) if level.pattern.match(text, b)]
            kept = [b for b, blank in rule.source(text) if rule.keeps(text, b, blank)]
            assert kept == expected, (structure, level.name)


_CLOSERS = "\"'’”)\\]»」』）"
_DEFINITION = (
    r"@|(?:async\s+)?def\s|class\s|function\s|fn\s|func\s|pub\s|impl\b|struct\s|enum\s"
    r"|interface\s|export\s|type\s|module\s|package\s|template\s|#\s*include\b|namespace\s"
    r"|(?:public|private|protected|static)\s"
)
ORIGINAL = {  # the patterns as first written (lookbehind first): the definitions to keep
    "word": r"(?=\S)(?<=\s)|(?<=[，、；：])(?=\S)",
    "sentence": rf"(?=\S)(?<=[.!?…][{_CLOSERS}]*\s)|(?<=[。！？][{_CLOSERS}]*)(?=\S)",
    "line": r"(?=\S)(?<=\n\s*)",
    "paragraph": r"(?=\S)(?<=\n[^\S\n]*\n\s*)",
    **{f"heading{d}": rf"(?<=\n\s*)(?=[ ]{{0,3}}#{{{d}}}(?:[ \t]|$))" for d in range(1, 7)},
    "block": r"(?<=\n\s*)(?=[ ]{0,3}(?:```|~~~|---|\*\*\*|___|<[A-Za-z!]))",
    "definition": rf"(?<=\n[^\S\n]*\n\s*)(?<=\n)(?={_DEFINITION})",
    "top-level": r"(?<=\n[^\S\n]*\n\s*)(?<=\n)(?=\S)",
}


@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_reordered_patterns_keep_every_boundary(text: str) -> None:
    """Trying the lookahead first changed no boundary: each level's pattern matches where the
    original did, and its reverse search (one-character lookahead levels) at the same places."""
    for levels in LEVELS.values():
        for level in levels:
            original = regex.compile(ORIGINAL[level.name])
            expected = [b for b in range(len(text) + 1) if original.match(text, b)]
            assert [b for b in range(len(text) + 1) if level.pattern.match(text, b)] == expected
            if level.scan is not None or level.needles:  # not searched backwards / long lookahead
                continue
            found = []
            for b in range(1, len(text)):  # never at ``pos`` itself: search from b - 1
                match = level.reverse.search(text, b - 1, b + 1)
                if match is not None and match.start() == b:
                    found.append(b)
            assert found == [b for b in expected if 0 < b < len(text)], level.name
