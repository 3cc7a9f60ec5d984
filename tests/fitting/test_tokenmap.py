"""The safe splits behind exact span counts: BPE never merges across them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokman
from tokman.fitting._tokenmap import _SAFE_SPLIT, TokenMap

_PIECES = st.sampled_from([" ", "  ", "\n", "\r\n", "\t", ".", "!\n", "'s ", "’", "42", "x",
                           "Word", "é", "e\u0301", "日本", "👍🏽", "\u00a0", "-- ", "/", "\x1c"])
TEXT = st.one_of(st.text(max_size=80),
                 st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=30).map("".join))


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_counts_add_up_across_every_safe_split(name: str, text: str) -> None:
    """Splitting at any safe split never changes the total count."""
    enc = tokman.get_encoding(name)
    total = enc.count(text)
    for match in _SAFE_SPLIT.finditer(text):
        q = match.start()
        assert enc.count(text[:q]) + enc.count(text[q:]) == total, (text, q)


@settings(max_examples=100, deadline=None)
@given(text=TEXT, data=st.data())
def test_span_counts_are_exact(text: str, data: st.DataObject) -> None:
    """``TokenMap.count`` equals counting the span directly, with tiny segments."""
    enc = tokman.get_encoding("o200k_base")
    token_map = TokenMap(enc, text, segment_chars=3)
    for _ in range(5):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, len(text)))
        assert token_map.count(start, end) == enc.count(text[start:end])


@pytest.mark.parametrize("text", ["\n " * 3000, " \n\t\r\n \u3000\n\n" * 700, "，" * 5000])
def test_spans_starting_or_ending_next_to_a_forced_cut_are_exact(text: str) -> None:
    """A span that starts one character before a forced cut is not split there (the cut is no
    safe split): it used to be counted as head + segments, one token too many."""
    enc = tokman.get_encoding("o200k_base")
    token_map = TokenMap(enc, text)
    token_map.count(0, len(text))
    n = len(text)
    for q in token_map._cuts:
        for start, end in ((q - 1, n), (q, n), (q + 1, n), (0, q - 1), (0, q + 1), (q - 1, q + 1)):
            if 0 <= start <= end <= n:
                assert token_map.count(start, end) == enc.count(text[start:end]), (start, end)
