"""Literal chunking cases with exact chunks and offsets, and the exact error messages."""

from __future__ import annotations

import pytest

import tokman
from tokman.errors import InvalidRequestError
from tokman.fitting import Chunk, TextChunker, chunk, iter_chunks

E = "o200k_base"


def spans(text: str, max_tokens: int, **kwargs: object) -> list[tuple[str, int, int, int]]:
    return [(c.text, c.start, c.end, c.tokens)
            for c in chunk(text, max_tokens=max_tokens, encoding=E, **kwargs)]  # type: ignore[arg-type]


def test_multibyte_text_splits_at_sentences() -> None:
    """Accented prose splits after punctuation, with character (not byte) offsets."""
    assert spans("Grüße, Zoë! Ça va? Très bien.", 6) == [
        ("Grüße, ", 0, 7, 5), ("Zoë! ", 7, 12, 4), ("Ça va? Très bien.", 12, 29, 6),
    ]


def test_zwj_family_and_flags_stay_whole() -> None:
    """A ZWJ family emoji and a pair of flags are never cut, even at a grapheme-level cut."""
    assert spans("Family: 👩\u200d👩\u200d👧 and flags 🇺🇸🇫🇷 done.", 8) == [
        ("Family: ", 0, 8, 3),
        ("👩\u200d👩\u200d👧", 8, 13, 8),
        (" and flags ", 13, 24, 3),
        ("🇺🇸🇫🇷", 24, 28, 8),
        (" done.", 28, 34, 2),
    ]


def test_crlf_lines_keep_their_line_endings() -> None:
    """CRLF stays whole and travels with the line it ends; blank lines end a paragraph."""
    assert spans("line one\r\nline two\r\n\r\nline three", 4) == [
        ("line one\r\n", 0, 10, 3), ("line two\r\n\r\n", 10, 22, 3), ("line three", 22, 32, 2),
    ]


def test_cjk_splits_after_full_stops() -> None:
    """Japanese without spaces splits after 。 and, when a sentence is too long, inside it."""
    assert spans("日本語の文章です。短い文。もう一つの文です。", 6) == [
        ("日本語の文章です。", 0, 9, 6), ("短い文。", 9, 13, 4),
        ("もう一つの文です", 13, 21, 6), ("。", 21, 22, 1),
    ]


def test_a_50k_token_sentence_without_spaces_is_cut_exactly() -> None:
    """100,000 characters with no boundary at all become full chunks, quickly and exactly."""
    text = "ab" * 100_000
    chunks = chunk(text, max_tokens=1000, encoding=E)
    assert tokman.count(text, encoding=E) == 50_000
    assert [c.tokens for c in chunks] == [1000] * 50
    assert [c.start for c in chunks] == list(range(0, 200_000, 4000))
    assert "".join(c.text for c in chunks) == text


def test_overlap_starts_at_a_word_and_shares_few_tokens() -> None:
    """With overlap, each chunk after the first repeats at most ``overlap`` tokens, from a word."""
    text = "Alpha beta gamma. Delta epsilon zeta eta. Theta iota kappa."
    assert spans(text, 8, overlap=3) == [
        ("Alpha beta gamma. ", 0, 18, 5),
        ("gamma. Delta epsilon zeta ", 11, 37, 7),
        ("zeta eta. ", 32, 42, 5),
        ("eta. Theta iota kappa.", 37, 59, 8),
    ]
    # when no word-or-better start fits the overlap, chunks simply do not overlap
    assert spans("Alpha beta. Gamma delta epsilon.", 4, overlap=2) == [
        ("Alpha beta. ", 0, 12, 4), ("Gamma delta epsilon.", 12, 32, 4),
    ]


def test_markdown_prefers_headings() -> None:
    """In Markdown a chunk ends before a heading rather than at a later paragraph."""
    text = "# Title\n\nIntro text here.\n\n## Part\n\nBody one.\n\nBody two.\n"
    chunker = TextChunker(14, encoding=E, structure="markdown")
    assert [c.text for c in chunker.chunks(text)] == [
        "# Title\n\nIntro text here.\n\n", "## Part\n\nBody one.\n\nBody two.\n",
    ]


def test_code_prefers_top_level_definitions() -> None:
    """In code a chunk ends before a top-level ``def`` rather than at a later blank line."""
    text = "import os\n\n\ndef f():\n    x = 1\n\n    return x\n\n\ndef g():\n    return 2\n"
    chunker = TextChunker(20, encoding=E, structure="code")
    assert [c.text for c in chunker.chunks(text)] == [
        "import os\n\n\ndef f():\n    x = 1\n\n    return x\n\n\n", "def g():\n    return 2\n",
    ]


def test_empty_text_has_no_chunks_and_iteration_is_lazy() -> None:
    """The empty string gives no chunks; the iterator yields the same chunks as the list."""
    assert chunk("", max_tokens=5, encoding=E) == []
    text = "One. Two. Three. " * 50
    assert list(iter_chunks(text, max_tokens=7, encoding=E)) == chunk(text, max_tokens=7,
                                                                       encoding=E)
    first = next(iter_chunks(text, max_tokens=7, encoding=E))
    assert first == Chunk("One. Two. Three. ", 0, 17, 7)


def test_model_and_top_level_names() -> None:
    """``tokman.chunk`` resolves the model's encoding; the result is exact per chunk."""
    chunks = tokman.chunk("Hi there. Bye.", max_tokens=4, model="gpt-4o")
    assert [(c.text, c.tokens) for c in chunks] == [("Hi there. ", 4), ("Bye.", 2)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_tokens": 0}, "max_tokens=0 is invalid: expected an int >= 1: the largest number "
                            "of tokens a chunk may have"),
        ({"max_tokens": 5, "overlap": 5}, "overlap=5 is invalid: expected an int from 0 to 4: "
                                          "tokens shared by consecutive chunks must be fewer "
                                          "than max_tokens"),
        ({"max_tokens": 5, "structure": "html"}, "structure='html' is invalid: expected one of "
                                                 "'text', 'markdown', 'code'"),
    ],
    ids=["max_tokens", "overlap", "structure"],
)
def test_bad_arguments_name_field_value_and_fix(kwargs: dict[str, object], message: str) -> None:
    """A bad limit is refused with the field, the value and what is expected."""
    max_tokens = kwargs.pop("max_tokens")
    with pytest.raises(InvalidRequestError) as info:
        TextChunker(max_tokens, encoding=E, **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_a_grapheme_over_the_limit_cannot_fit() -> None:
    """A single cluster larger than the limit is reported with its offset and the fix."""
    with pytest.raises(InvalidRequestError) as info:
        chunk("ab 👩\u200d👩\u200d👧", max_tokens=3, encoding=E)
    assert str(info.value) == (
        "max_tokens=3 is invalid: the grapheme cluster '👩\\u200d👩\\u200d👧' at offset 3 alone "
        "is 8 tokens and cannot be split; use max_tokens >= 8"
    )
