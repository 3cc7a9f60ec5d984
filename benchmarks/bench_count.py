"""Text counting throughput: tokman.count vs tiktoken's encode_ordinary, side by side.

Run: python benchmarks/bench_count.py
Target: ratio >= 1.0 (tokman at least as fast as tiktoken) on prose, code and CJK for
o200k_base and cl100k_base. Both tokenizers run in this one process on the same strings;
each measurement is the best of several repeats to damp noise from the other core.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import corpora

import tokman


def best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    texts = corpora(1_000_000)
    print(
        f"{'encoding':<12} {'corpus':<6} {'MB':>5} {'tiktoken MB/s':>14} {'tokman MB/s':>12} "
        f"{'ratio':>6}"
    )
    worst = float("inf")
    for name in ("o200k_base", "cl100k_base"):
        enc = tokman.get_encoding(name)
        reference = enc.tiktoken
        for corpus, text in texts.items():
            assert enc.count(text) == len(reference.encode_ordinary(text)), "counts differ"
            mb = len(text.encode()) / 1e6
            t_ref = best_of(lambda: len(reference.encode_ordinary(text)))  # noqa: B023
            t_tok = best_of(lambda: tokman.count(text, encoding=name))  # noqa: B023
            ratio = t_ref / t_tok
            worst = min(worst, ratio)
            print(
                f"{name:<12} {corpus:<6} {mb:5.2f} {mb / t_ref:14.1f} {mb / t_tok:12.1f} "
                f"{ratio:5.2f}x"
            )
    print(f"worst ratio tokman/tiktoken: {worst:.2f}x (target >= 1.0x)")

    # Per-call overhead, for scale: many short strings counted one by one.
    lines = [line for line in texts["prose"].splitlines() if line][:20_000]
    enc = tokman.get_encoding("o200k_base").tiktoken
    t_ref = best_of(lambda: [len(enc.encode_ordinary(line)) for line in lines])
    t_model = best_of(lambda: [tokman.count(line, model="gpt-4o") for line in lines])
    t_enc = best_of(lambda: [tokman.count(line, encoding="o200k_base") for line in lines])
    per = 1e6 / len(lines)
    print(
        f"short strings (avg {sum(map(len, lines)) / len(lines):.0f} chars): tiktoken "
        f"{t_ref * per:.2f} us/call, tokman.count(model=) {t_model * per:.2f} us "
        f"({t_ref / t_model:.2f}x), tokman.count(encoding=) {t_enc * per:.2f} us "
        f"({t_ref / t_enc:.2f}x)"
    )


if __name__ == "__main__":
    main()
