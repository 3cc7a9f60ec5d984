"""The safe splits behind exact span counts: BPE never merges across them."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokman
from tokman.fitting import _tokenmap
from tokman.fitting._tokenmap import _CJK_SPLIT, _SAFE_SPLIT, TokenMap

_PIECES = st.sampled_from([" ", "  ", "\n", "\r\n", "\t", ".", "!\n", "'s ", "’", "42", "x",
                           "Word", "é", "e\u0301", "日本", "👍🏽", "\u00a0", "-- ", "/", "\x1c",
                           "。", "、", "！", "「", "』", "（", "ー", "・", "カナ", "ゝ", "\u9fff",
                           "\u3099", "\ufe0f"])
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


_CJK = st.lists(st.sampled_from(["日本", "語", "カナ", "ー", "・", "ゝ", "。", "、", "，", "！",
                                 "「", "』", "（", "\u9fff", "\u3099", " ", "\n", "x", "'s"]),
                max_size=60).map("".join)


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
@settings(max_examples=300, deadline=None)
@given(text=st.one_of(TEXT, _CJK))
def test_counts_add_up_across_every_cjk_split(name: str, text: str) -> None:
    """The CJK safe split (fine segments, bridges over forced cuts) never changes the count."""
    enc = tokman.get_encoding(name)
    total = enc.count(text)
    for match in _CJK_SPLIT.finditer(text):
        q = match.start()
        assert enc.count(text[:q]) + enc.count(text[q:]) == total, (text, q)


# the fixture only sets constants, the same for every example
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_CJK, data=st.data())
def test_span_counts_are_exact_with_fine_segments_and_forced_cuts(
    text: str, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fine segments and bridged forced cuts keep ``TokenMap.count`` exact."""
    monkeypatch.setattr(_tokenmap, "_FORCED_CHARS", 6)
    monkeypatch.setattr(_tokenmap, "_FINE_CHARS", 2)
    enc = tokman.get_encoding("o200k_base")
    token_map = TokenMap(enc, text, segment_chars=3)
    for _ in range(8):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, len(text)))
        assert token_map.count(start, end) == enc.count(text[start:end]), (start, end)


def test_aiming_ignores_the_fine_segments() -> None:
    """CJK text is cut finer for counting, but aiming keeps to the coarse segments."""
    text = "日本語の文章です。漢字、仮名交じり文！" * 200
    token_map = TokenMap(tokman.get_encoding("o200k_base"), text)
    token_map.count(0, len(text))
    assert len(token_map._fcuts) > len(token_map._cuts)
    assert set(token_map._cuts) <= set(token_map._fcuts)
    assert token_map._cum[-1] == token_map._fcum[-1]


@pytest.mark.parametrize("forced_chars", [7, 10, 23])
def test_spans_across_bridged_forced_cuts_are_exact(
    forced_chars: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CJK prose with a forced cut every few characters (inside words): spans across them are
    summed from fine segments plus each bridge's correction, never counted whole, and exact."""
    monkeypatch.setattr(_tokenmap, "_FORCED_CHARS", forced_chars)
    monkeypatch.setattr(_tokenmap, "_FINE_CHARS", 2)
    enc = tokman.get_encoding("o200k_base")
    text = "日本語の文章です。漢字、仮名交じり文！東京都「大阪」に行きました。" * 8
    token_map = TokenMap(enc, text, segment_chars=3)
    n = len(text)
    for start in range(0, n, 5):
        for end in range(start, n + 1, 7):
            assert token_map.count(start, end) == enc.count(text[start:end]), (start, end)
    bridges = [b for b in token_map._bridges.values() if b is not None]
    assert bridges and any(b[2] for b in bridges)
