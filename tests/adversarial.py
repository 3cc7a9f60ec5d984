"""Long adversarial texts for the differential tests of the counting engines against tiktoken."""

from __future__ import annotations

import random

__all__ = ["adversarial_texts"]


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
