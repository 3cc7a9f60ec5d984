"""Million-character pathological inputs: every guarantee holds and the chunker stays linear.

Long whitespace runs once made the line/sentence/word levels quadratic (a reverse search whose
lookbehind re-read the run at every position: ``"\\n" * 300_000`` took minutes). No timing is
asserted, but each case here runs in a fraction of a second; a regression makes the suite hang.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

import tokman
from tokman.fitting import Chunk, TextChunker, graphemes

ENC = tokman.get_encoding("o200k_base")
N = 1_000_000
MAX = 512

INPUTS = {
    "newlines": "\n" * N,
    "spaces": " " * N,
    "crlf": "\r\n" * (N // 2),
    "mixed whitespace": (" \n\t\r\n \u3000\n\n" * (N // 10))[:N],
    "one blank run between words": "x" + " \n" * (N // 2) + "x",
    "newline-space run": "\n " * (N // 2),
    "no boundary at all": "a" * N,
    "two letters, no boundary": "ab" * (N // 2),
    "digits": "1234567890" * (N // 10),
    "zwj emoji": "👩\u200d👩\u200d👧" * (N // 5),
    "cjk without punctuation": "日本語の文章です漢字仮名交じり文" * (N // 16),
    "one sentence of words": "lorem ipsum dolor sit amet " * (N // 27),
    "closers without terminal": ")" * N,
    "blank run then a heading": "\n" * N + "   # heading\n",
    "def after def": "def " * (N // 4),
}


def check(text: str, chunks: list[Chunk], overlap: int = 0) -> None:
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for c in chunks:
        assert c.text == text[c.start : c.end] and c.text
        assert c.tokens == ENC.count(c.text) <= MAX
        assert graphemes.is_boundary(text, c.start) and graphemes.is_boundary(text, c.end)
    for a, b in pairwise(chunks):
        assert a.start < b.start <= a.end < b.end
        if overlap:
            assert ENC.count(text[b.start : a.end]) <= overlap
        else:
            assert b.start == a.end
    if not overlap:
        assert "".join(c.text for c in chunks) == text


@pytest.mark.parametrize("name", list(INPUTS))
def test_million_character_inputs_keep_every_guarantee(name: str) -> None:
    text = INPUTS[name]
    check(text, TextChunker(MAX, encoding="o200k_base").chunks(text))


@pytest.mark.parametrize("structure", ["markdown", "code"])
@pytest.mark.parametrize("name", ["mixed whitespace", "blank run then a heading"])
def test_structures_on_million_character_inputs(name: str, structure: str) -> None:
    text = INPUTS[name]
    check(text, TextChunker(MAX, encoding="o200k_base", structure=structure).chunks(text))


@pytest.mark.parametrize("name", ["one blank run between words", "newline-space run"])
def test_overlap_on_million_character_whitespace(name: str) -> None:
    text = INPUTS[name]
    check(text, TextChunker(MAX, encoding="o200k_base", overlap=64).chunks(text), overlap=64)


def test_a_blank_run_ends_where_the_content_starts() -> None:
    """The exact cut after a million newlines: the run is cut into full chunks, and the chunk
    reaching its end stops there (a paragraph boundary outranks the sentences after it)."""
    text = "x" + "\n" * N + "Word one. " * 1000
    chunks = TextChunker(MAX, encoding="o200k_base").chunks(text)
    check(text, chunks)
    assert all(c.tokens == MAX for c in chunks if c.end < N)
    assert N + 1 in [c.end for c in chunks]
    after = next(c for c in chunks if c.start == N + 1)
    assert after.text.startswith("Word one. ") and after.text.endswith("Word one. ")
