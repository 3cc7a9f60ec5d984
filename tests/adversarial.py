"""Texts for the differential tests of the counting engines against tiktoken."""

from __future__ import annotations

import random

from hypothesis import strategies as st

__all__ = ["adversarial_texts", "unicode_text"]


def adversarial_texts(seed: int) -> list[str]:
    """Long runs of whitespace, digits, letters, emoji and random bytes, and many distinct
    words (which fill a pre-token cache)."""
    rng = random.Random(seed)
    pieces = [" ", "\n", "\t", "7", "a", "A", "é", "中", "🙂", "'", "'s", ".", "\r\n", "\u0301"]
    return [
        " " * 100_000,
        "\n" * 50_000 + "x",
        "9" * 100_000,
        "a" * 100_000,
        "🙂" * 20_000,
        "".join(rng.choice(pieces) for _ in range(200_000)),
        "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(100_000)),
        bytes(rng.randrange(256) for _ in range(100_000)).decode("utf-8", "replace"),
        "".join(rng.choice("abcdefghij ") for _ in range(300_000)),
    ]


#: Any UTF-8 text, and runs of the pieces where pre-tokenizers differ.
unicode_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.lists(
    st.sampled_from(
        [
            " ",
            "  ",
            "\n",
            "\r\n",
            "\t",
            "0",
            "123",
            "4567",
            "'s",
            "'LL",
            "é",
            "e\u0301",
            "👨‍👩‍👧",
            "🇫🇷",
            "中文",
            "日本語",
            "한국어",
            "ٱلْعَرَبِيَّة",
            "Ǆ",
            "ǅ",
            "hello",
            "HELLO",
            "!",
            "?!.",
            "/",
            "<|endoftext|>",
            "\u200d",
            "\ufe0f",
            "𝔘𝔫𝔦",
            "\U000323b0",  # Unicode 17 letters: drift characters (encodings/_drift.py)
            "\u088f",
        ]
    ),
    max_size=80,
).map("".join)
