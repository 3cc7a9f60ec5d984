"""Large inputs: safe split points keep totals exact; files stream on all cores."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokman
from tokman.counting.text import count_stream, safe_split_points
from tokman.errors import InvalidRequestError

ENCODINGS = ["o200k_base", "cl100k_base", "o200k_harmony"]

mixed_text = st.lists(
    st.sampled_from(
        [
            "\n",
            "\n\n",
            "\r\n",
            " \n",
            "a",
            "Hello",
            " world",
            "'s",
            "\u00e9",
            "e\u0301",
            "\u4e2d",
            "7",
            "123",
            "!",
            ".\n",
            "  ",
            "\t",
            "\U0001f642",
            "\u0301",
            "/",
            "_",
            "x",
        ]
    ),
    max_size=120,
).map("".join)


@pytest.mark.parametrize("name", ENCODINGS)
@settings(max_examples=300, deadline=None)
@given(text=mixed_text | st.text(max_size=200))
def test_splitting_at_safe_points_keeps_the_count_exact(name: str, text: str) -> None:
    """Cutting at every safe split point, the parts' counts add up to the whole's count."""
    enc = tokman.get_encoding(name)
    cuts = [0, *safe_split_points(text), len(text)]
    parts = [text[a:b] for a, b in itertools.pairwise(cuts)]
    assert sum(enc.count(p) for p in parts) == enc.count(text)


@settings(max_examples=100, deadline=None)
@given(text=mixed_text, chunk=st.integers(1, 7), piece=st.integers(1, 20))
def test_count_stream_equals_count_for_any_chunking(text: str, chunk: int, piece: int) -> None:
    """However the input arrives, the streamed total equals the count of the joined text."""
    chunks = [text[i : i + chunk] for i in range(0, len(text), chunk)]
    streamed = count_stream(chunks, encoding="o200k_base", workers=1, piece_chars=piece)
    assert streamed == tokman.count(text, encoding="o200k_base")


def test_count_file_uses_worker_processes_and_stays_exact(tmp_path: Path) -> None:
    """A multi-piece file counted on 2 processes gives the exact single-pass count."""
    rng = random.Random(7)
    words = ["alpha", "Beta", "gamma", "δέλτα", "中文", "123", "🙂", "x_y", "'s"]
    lines = [
        " ".join(rng.choice(words) for _ in range(rng.randrange(1, 30))) for _ in range(20_000)
    ]
    text = "\n".join(lines)
    path = tmp_path / "big.txt"
    path.write_text(text, encoding="utf-8", newline="")
    expected = tokman.count(text, model="gpt-4o")
    assert tokman.count_file(path, model="gpt-4o", workers=2) == expected
    pieces_total = count_stream([text], model="gpt-4o", workers=2, piece_chars=10_000)
    assert pieces_total == expected


def test_crlf_is_kept_when_reading_files(tmp_path: Path) -> None:
    """Files are read without newline translation, so CRLF counts as the API sees it."""
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"one\r\ntwo\r\n\r\nthree")
    assert tokman.count_file(path, encoding="cl100k_base", workers=1) == tokman.count(
        "one\r\ntwo\r\n\r\nthree", encoding="cl100k_base"
    )


def test_invalid_utf8_file_is_an_error_naming_the_fix(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are refused, never silently altered."""
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\u00e9".encode("latin-1"))
    with pytest.raises(
        InvalidRequestError, match=r"not valid UTF-8 at byte 3; pass errors='replace'"
    ):
        tokman.count_file(path, encoding="o200k_base", workers=1)
    assert tokman.count_file(path, encoding="o200k_base", workers=1, errors="replace") == 2


@pytest.mark.parametrize(
    "text",
    ["a" * 300_000, "x y " * 100_000, "\u4e2d\u6587" * 100_000, " " * 300_000, "1" * 300_000],
    ids=["one-letter-run", "words", "cjk-no-breaks", "spaces", "digits"],
)
def test_streaming_pathological_inputs_stays_exact(text: str) -> None:
    """Long runs with few or no safe splits are still counted exactly (in linear time)."""
    chunks = [text[i : i + 4096] for i in range(0, len(text), 4096)]
    streamed = count_stream(chunks, encoding="cl100k_base", workers=1, piece_chars=10_000)
    assert streamed == tokman.count(text, encoding="cl100k_base")
