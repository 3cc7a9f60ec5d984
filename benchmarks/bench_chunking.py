"""Chunking throughput and quality: tokman vs semantic-text-splitter vs naive tiktoken slicing.

Run: python benchmarks/bench_chunking.py [--mb 1.0]
Targets at 512 tokens, o200k_base: tokman >= 3x semantic-text-splitter's MB/s and >= 0.8x the
naive "encode, slice every 512 ids, decode" baseline; tokman has 0 over-limit chunks and is
lossless. For each tool it prints MB/s, over-limit chunks (exact recount), whether the chunks
re-join to the input, and the share of chunks ending at a sentence or paragraph boundary.
All tools run in this one process on the same strings; each time is the best of a few repeats.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import corpora
from semantic_text_splitter import TextSplitter

import tokman

MAX_TOKENS = 512
ENCODING = "o200k_base"
_SENTENCE_ENDS = (".", "!", "?", "…", "。", "！", "？", "\n")


def best_of(fn: Callable[[], list[str]], repeats: int) -> tuple[float, list[str]]:
    best, result = float("inf"), []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def ends_at_sentence(piece: str) -> bool:
    """True when a chunk ends at a sentence end or a line/paragraph break (closers allowed)."""
    stripped = piece.rstrip(" \t")
    if stripped.endswith("\n"):
        return True
    stripped = stripped.rstrip("\"'’”)]»」』）")
    return stripped.endswith(_SENTENCE_ENDS)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=1.0, help="MB of text per corpus")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    enc = tokman.get_encoding(ENCODING)
    tk = enc.tiktoken
    splitter = TextSplitter.from_tiktoken_model("gpt-4o", MAX_TOKENS, trim=False)
    chunker = tokman.fitting.TextChunker(MAX_TOKENS, encoding=ENCODING)
    code_chunker = tokman.fitting.TextChunker(MAX_TOKENS, encoding=ENCODING, structure="code")

    def naive(text: str) -> list[str]:
        ids = tk.encode_ordinary(text)
        return [tk.decode(ids[i : i + MAX_TOKENS]) for i in range(0, len(ids), MAX_TOKENS)]

    chars = int(args.mb * 1_000_000)
    print(f"{MAX_TOKENS} tokens, {ENCODING}, ~{args.mb} MB per corpus, best of {args.repeats}")
    header = f"{'corpus':7} {'tool':24} {'MB/s':>7} {'chunks':>7} {'over':>5} {'lossless':>8}"
    print(header + f" {'sent/para':>9}")
    for name, text in corpora(chars).items():
        text = text[:chars] if name != "cjk" else text[: chars // 3]
        size_mb = len(text.encode()) / 1e6
        tokman_tool = code_chunker if name == "code" else chunker
        tools: dict[str, Callable[[str], list[str]]] = {
            f"tokman ({tokman_tool.structure})": lambda t, c=tokman_tool: [
                x.text for x in c.iter_chunks(t)
            ],
            "semantic-text-splitter": splitter.chunks,
            "naive tiktoken slice": naive,
        }
        speeds: dict[str, float] = {}
        for tool, fn in tools.items():
            seconds, pieces = best_of(lambda fn=fn, text=text: fn(text), args.repeats)
            speeds[tool] = size_mb / seconds
            over = sum(enc.count(p) > MAX_TOKENS for p in pieces)
            lossless = "yes" if "".join(pieces) == text else "no"
            share = sum(map(ends_at_sentence, pieces[:-1])) / max(len(pieces) - 1, 1)
            print(f"{name:7} {tool:24} {speeds[tool]:7.2f} {len(pieces):7d} {over:5d} "
                  f"{lossless:>8} {share:9.0%}")
        ours = next(iter(speeds.values()))
        print(f"{name:7} ratio tokman / semantic-text-splitter = "
              f"{ours / speeds['semantic-text-splitter']:.2f}x (target >= 3), "
              f"tokman / naive = {ours / speeds['naive tiktoken slice']:.2f}x (target >= 0.8)")


if __name__ == "__main__":
    main()
