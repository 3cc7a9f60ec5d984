"""Chunking throughput and quality: tokman vs semantic-text-splitter vs naive tiktoken slicing.

Run: python benchmarks/bench_chunking.py [--mb 1.0]
Targets at 512 tokens, o200k_base: tokman >= 3x semantic-text-splitter's MB/s and >= 0.8x the
naive "encode, slice every 512 ids, decode" baseline; tokman has 0 over-limit chunks and is
lossless. For each tool it prints MB/s, over-limit chunks (exact recount), whether the chunks
re-join to the input, and the share of chunks ending at a sentence or paragraph boundary.
All tools run in this one process on the same strings; each time is the best of a few repeats.

A second section times pathological inputs of ~1 MB (huge blank runs, no boundary at all, CJK
without punctuation, one endless sentence, thousands of "def"), tokman vs the naive slice side
by side: tokman must stay linear there (a blank run once made it quadratic: minutes per MB).
tiktoken itself overflows its regex stack on long runs of spaces or tabs ("crash").
Run only that section with --pathological.
"""

from __future__ import annotations

import argparse
import gc
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
    """Best wall time of ``repeats`` runs, with the garbage collector off while timing (as
    ``timeit`` does), so a collection triggered by one tool's garbage is not billed to another."""
    best, result = float("inf"), []
    for _ in range(repeats):
        result = []
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best, result


def ends_at_sentence(piece: str) -> bool:
    """True when a chunk ends at a sentence end or a line/paragraph break (closers allowed)."""
    stripped = piece.rstrip(" \t")
    if stripped.endswith("\n"):
        return True
    stripped = stripped.rstrip("\"'’”)]»」』）")
    return stripped.endswith(_SENTENCE_ENDS)


PATHOLOGICAL: dict[str, Callable[[int], str]] = {
    "newlines": lambda n: "\n" * n,
    "spaces": lambda n: " " * n,
    "crlf": lambda n: "\r\n" * (n // 2),
    "mixed blank": lambda n: (" \n\t\r\n \u3000\n\n" * (n // 9 + 1))[:n],
    "ab, no boundary": lambda n: "ab" * (n // 2),
    "digits": lambda n: ("1234567890" * (n // 10 + 1))[:n],
    "zwj emoji": lambda n: "\U0001f469\u200d\U0001f469\u200d\U0001f467" * (n // 5),
    "cjk, no punct": lambda n: ("日本語の文章です漢字仮名交じり文" * (n // 16 + 1))[: n // 3],
    "one sentence": lambda n: ("lorem ipsum dolor sit amet " * (n // 27 + 1))[:n],
    "def def def": lambda n: "def " * (n // 4),
}


def pathological(chars: int, repeats: int, naive: Callable[[str], list[str]]) -> None:
    """MB/s of tokman (text and code structure) and the naive slice on pathological inputs."""
    enc = tokman.get_encoding(ENCODING)
    print(
        f"\npathological inputs, ~{chars / 1e6:.1f} MB each, {MAX_TOKENS} tokens, best of {repeats}"
    )
    print(
        f"{'input':16} {'tokman text':>12} {'tokman code':>12} {'naive slice':>12} {'over':>5} "
        f"{'lossless':>8}"
    )
    for name, make in PATHOLOGICAL.items():
        text = make(chars)
        size_mb = len(text.encode()) / 1e6
        cells, over, lossless = [], 0, True
        for structure in ("text", "code"):
            chunker = tokman.fitting.TextChunker(MAX_TOKENS, encoding=ENCODING, structure=structure)
            seconds, pieces = best_of(
                lambda c=chunker, t=text: [x.text for x in c.iter_chunks(t)], repeats
            )
            cells.append(f"{size_mb / seconds:12.2f}")
            over += sum(enc.count(p) > MAX_TOKENS for p in pieces)
            lossless = lossless and "".join(pieces) == text
        try:
            seconds, _ = best_of(lambda t=text: naive(t), repeats)
            cells.append(f"{size_mb / seconds:12.2f}")
        except BaseException as error:  # tiktoken panics (a pyo3 PanicException) on long runs
            if isinstance(error, KeyboardInterrupt):
                raise
            cells.append(f"{'crash':>12}")
        print(f"{name:16} {' '.join(cells)} {over:5d} {'yes' if lossless else 'no':>8}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=1.0, help="MB of text per corpus")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pathological", action="store_true", help="only pathological inputs")
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
    if args.pathological:
        pathological(chars, args.repeats, naive)
        return
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
            print(
                f"{name:7} {tool:24} {speeds[tool]:7.2f} {len(pieces):7d} {over:5d} "
                f"{lossless:>8} {share:9.0%}"
            )
        ours = next(iter(speeds.values()))
        print(
            f"{name:7} ratio tokman / semantic-text-splitter = "
            f"{ours / speeds['semantic-text-splitter']:.2f}x (target >= 3), "
            f"tokman / naive = {ours / speeds['naive tiktoken slice']:.2f}x (target >= 0.8)"
        )
    pathological(chars, args.repeats, naive)


if __name__ == "__main__":
    main()
