"""Chunking guarantees on arbitrary Unicode, and agreement with a slow obvious reference."""

from __future__ import annotations

from itertools import pairwise

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokman
from tokman.fitting import Chunk, TextChunker
from tokman.fitting.boundaries import level_at

ENC = tokman.get_encoding("o200k_base")
GRAPHEME = regex.compile(r"\X", regex.DOTALL)

_PIECES = st.sampled_from([
    " ", "  ", "\n", "\n\n", "\r\n", "\t", ". ", "! ", "? ", "。", "，", "e\u0301", "\u0301",
    "👩\u200d👩\u200d👧", "🇺🇸", "🇫🇷", "👍🏽", "❤\ufe0f", "\u200d", "각", "\u1100\u1161",
    "word", "Hello", "x", "1234", "日本語", "<|endoftext|>", "\r", "\u0915\u094d\u0937",
])
TEXT = st.one_of(
    st.text(max_size=120),
    st.lists(st.one_of(_PIECES, st.text(max_size=6)), max_size=40).map("".join),
)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def boundaries(text: str) -> set[int]:
    """Every extended grapheme cluster boundary of ``text`` by segmenting it whole."""
    out, pos = {0}, 0
    for match in GRAPHEME.finditer(text):
        pos = match.end()
        out.add(pos)
    return out


def check_invariants(text: str, chunks: list[Chunk], max_tokens: int, overlap: int) -> None:
    cuts = boundaries(text)
    for c in chunks:
        assert c.text == text[c.start : c.end]
        assert c.text
        assert c.tokens == ENC.count(c.text) <= max_tokens
        assert c.start in cuts and c.end in cuts
    if not text:
        assert chunks == []
        return
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for a, b in pairwise(chunks):
        assert a.start < b.start <= a.end < b.end
        assert ENC.count(text[b.start : a.end]) <= overlap
        if overlap == 0:
            assert b.start == a.end
    rebuilt = "".join(text[a.start : b.start] for a, b in pairwise(chunks)) + chunks[-1].text
    assert rebuilt == text


@SETTINGS
@given(text=TEXT, max_tokens=st.integers(1, 12))
def test_chunks_fit_lose_nothing_and_keep_graphemes(text: str, max_tokens: int) -> None:
    """Every chunk fits, offsets are right, the chunks re-join to the input, no cluster is cut."""
    chunker = TextChunker(max_tokens, encoding="o200k_base")
    try:
        chunks = chunker.chunks(text)
    except tokman.errors.InvalidRequestError:
        # allowed only when some grapheme cluster alone is over the limit
        assert any(ENC.count(m.group()) > max_tokens for m in GRAPHEME.finditer(text))
        return
    check_invariants(text, chunks, max_tokens, 0)
    assert "".join(c.text for c in chunks) == text


@SETTINGS
@given(text=TEXT, max_tokens=st.integers(2, 12), data=st.data())
def test_overlap_is_bounded_and_offsets_reconstruct(
    text: str, max_tokens: int, data: st.DataObject
) -> None:
    """Consecutive chunks share at most ``overlap`` tokens and every chunk still fits."""
    overlap = data.draw(st.integers(1, max_tokens - 1))
    chunker = TextChunker(max_tokens, encoding="o200k_base", overlap=overlap)
    try:
        chunks = chunker.chunks(text)
    except tokman.errors.InvalidRequestError:
        assert any(ENC.count(m.group()) > max_tokens for m in GRAPHEME.finditer(text))
        return
    check_invariants(text, chunks, max_tokens, overlap)


@SETTINGS
@given(text=TEXT, structure=st.sampled_from(["markdown", "code"]), max_tokens=st.integers(3, 20))
def test_structures_keep_the_same_guarantees(text: str, structure: str, max_tokens: int) -> None:
    """Markdown and code splitting rank boundaries differently but keep every guarantee."""
    chunker = TextChunker(max_tokens, encoding="o200k_base", structure=structure)
    try:
        chunks = chunker.chunks(text)
    except tokman.errors.InvalidRequestError:
        return
    check_invariants(text, chunks, max_tokens, 0)


def reference_chunks(text: str, max_tokens: int, structure: str = "text") -> list[tuple[int, int]]:
    """Slow and obvious: from each start, the best-ranked, then furthest, cut that fits."""
    cuts = sorted(boundaries(text))
    out, start = [], 0
    while start < len(text):
        fitting = [b for b in cuts if b > start and ENC.count(text[start:b]) <= max_tokens]
        end = max(fitting, key=lambda b: (level_at(text, b, structure), b))
        out.append((start, end))
        start = end
    return out


_WORDS = st.sampled_from(["The", "cat", "sat", "on", "a", "mat", "tokens", "fit", "budget",
                          "étoile", "naïve", "日本", "42", "x"])
_SEPARATORS = st.sampled_from([" ", " ", " ", ". ", ", ", "! ", "? ", "\n", "\n\n", ".\n\n"])
PROSE = st.lists(st.tuples(_WORDS, _SEPARATORS), min_size=1, max_size=40).map(
    lambda pairs: "".join(w + s for w, s in pairs)
)


@settings(max_examples=120, deadline=None)
@given(text=PROSE, max_tokens=st.integers(4, 30))
def test_prose_matches_the_reference(text: str, max_tokens: int) -> None:
    """On prose, the fast chunker picks exactly the cuts of the exhaustive reference."""
    chunks = TextChunker(max_tokens, encoding="o200k_base").chunks(text)
    assert [(c.start, c.end) for c in chunks] == reference_chunks(text, max_tokens)


_LINES = st.sampled_from([
    "def f(x):", "    return x", "class A:", "    pass", "@decorator", "async def g():",
    "import os", "x = 1  # note", "    if x:", "        y = 2", "", "", "  ", "# comment",
])
CODE = st.lists(_LINES, min_size=1, max_size=30).map("\n".join)


@settings(max_examples=120, deadline=None)
@given(text=CODE, max_tokens=st.integers(4, 40))
def test_code_matches_the_reference(text: str, max_tokens: int) -> None:
    """On code, the fast chunker picks exactly the cuts of the exhaustive reference."""
    chunks = TextChunker(max_tokens, encoding="o200k_base", structure="code").chunks(text)
    assert [(c.start, c.end) for c in chunks] == reference_chunks(text, max_tokens, "code")


@settings(max_examples=200, deadline=None)
@given(text=TEXT)
def test_grapheme_helpers_match_whole_text_segmentation(text: str) -> None:
    """The local boundary check agrees with segmenting the whole text with ``\\X``."""
    from tokman.fitting import graphemes

    cuts = boundaries(text)
    for b in range(len(text) + 1):
        assert graphemes.is_boundary(text, b) == (b in cuts)
        assert graphemes.floor_boundary(text, b) == max(c for c in cuts if c <= b)
        assert graphemes.ceil_boundary(text, b) == min(c for c in cuts if c >= b)
