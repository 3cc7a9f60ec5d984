"""Streaming count of a 1 GB file: throughput and peak RSS (target < 200 MB).

Run: python benchmarks/bench_stream.py [SIZE_MB]   (default 1024)
Writes a generated UTF-8 file of SIZE_MB to a temp dir, counts it with ``tokman.count_file``
on all cores, and prints MB/s and the peak resident memory of this process and of the worker
processes (each measured separately, as the OS reports them). For scale it also runs the
naive approach (read the whole file, tiktoken encode_ordinary) on a 64 MB prefix.
"""

from __future__ import annotations

import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import tokman


def write_file(path: Path, size_mb: int) -> None:
    rng = random.Random(1)
    words = [
        "token",
        "budget",
        "Azure",
        "deployment",
        "quota",
        "日本語",
        "中文",
        "naïve",
        "42",
        "1234",
        "🙂",
        "x_y",
        "don't",
        "(a, b)",
        "{}",
        "<|endoftext|>",
    ]
    block = (
        "\n".join(
            " ".join(rng.choice(words) for _ in range(rng.randrange(1, 20))) for _ in range(20_000)
        ).encode()
        + b"\n"
    )
    with path.open("wb") as handle:
        written = 0
        while written < size_mb << 20:
            handle.write(block)
            written += len(block)


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.txt"
        write_file(path, size_mb)
        actual_mb = path.stat().st_size / 1e6
        start = time.perf_counter()
        tokens = tokman.count_file(path, model="gpt-4o")
        elapsed = time.perf_counter() - start
        self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"tokman.count_file: {actual_mb:.0f} MB, {tokens:,} tokens in {elapsed:.1f} s "
            f"({actual_mb / elapsed:.1f} MB/s on {os.cpu_count()} cores)"
        )
        print(
            f"peak RSS: main process {self_rss:.0f} MB, largest worker {child_rss:.0f} MB "
            "(target < 200 MB each)"
        )

        with path.open("rb") as handle:
            prefix = handle.read(64 << 20).decode("utf-8", "ignore")
        enc = tokman.get_encoding("o200k_base").tiktoken
        start = time.perf_counter()
        naive = len(enc.encode_ordinary(prefix))
        naive_s = time.perf_counter() - start
        start = time.perf_counter()
        ours = tokman.count(prefix, model="gpt-4o")
        ours_s = time.perf_counter() - start
        assert naive == ours
        print(
            f"64 MB in memory: tiktoken {64 / naive_s:.1f} MB/s, tokman.count "
            f"{64 / ours_s:.1f} MB/s, ratio {naive_s / ours_s:.2f}x; streaming over all cores "
            f"vs in-memory tiktoken: {(actual_mb / elapsed) / (64 / naive_s):.2f}x"
        )


if __name__ == "__main__":
    main()
