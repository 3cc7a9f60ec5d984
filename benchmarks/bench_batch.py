"""Corpus-scale counting: tokman.count_batch vs tiktoken and tokie, and the Ray path.

Run: python benchmarks/bench_batch.py            (the full run: ~1 GB for the Ray part)
     python benchmarks/bench_batch.py --ray-gb 0.05 --mb 2 --rounds 2   (a quick run)

Part 1, MB/s on prose, code and CJK documents (``_corpus.unique_documents``: distinct
documents, in disjoint rounds) side by side in one process: ``tokman.count_batch`` (with its
corpus backend, built first and timed separately), tiktoken's ``encode_ordinary_batch`` (its
thread pool) and tokie's ``count_tokens_batch`` (its own threads; tokenizer files from
../shared/bench/tokie), with each one's count of documents that differ from tiktoken's
``encode_ordinary`` (the reference). ``--mb`` sets the size of each call. ``count_batch``'s
worker processes stay warm between calls, as they would in a pipeline that counts batch after
batch; the warm-up round forks them. Goals on 2 cores: >= 0.9x tokie on prose and code, >= 2x
tokie on CJK, >= 3x tiktoken everywhere, 0 miscounts.

Part 2, the same corpus mix as a dataset of ``--ray-gb`` GB: ``count_batch`` on it vs
``tokman.ray.summarize_dataset`` on a local Ray (``num_cpus`` = the cores), Ray's start-up
(``ray.init``, loading the data into the object store, a tiny job's fixed cost) printed
separately. Goal: Ray >= 0.8x count_batch's MB/s.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import unique_documents

import tokman
from tokman.counting._pool import cpu_count

_TOKIE_DIR = Path(__file__).resolve().parents[2] / "shared" / "bench" / "tokie"


def edge_documents(n: int = 3_000) -> list[str]:
    """Where fast pre-tokenizers drift: control characters before CJK punctuation, ZWJ emoji
    runs, symbols + combining marks, random code points (the cases in shared/bench/tokie)."""
    rng = random.Random(16)
    fixed = ["\t。", "\x0b、", "\x0c「", "\n\t\n", "🧑\u200d🤝\u200d🧑" * 200, "→\u0301"]
    ranges = [(0x09, 0x0D), (0x20, 0x7E), (0x300, 0x36F), (0x3000, 0x30FF), (0x4E00, 0x4FFF),
              (0x1F300, 0x1F6FF), (0x200B, 0x200D), (0x2190, 0x21FF)]  # fmt: skip
    out = list(fixed)
    while len(out) < n:
        picks = (rng.choice(ranges) for _ in range(rng.randrange(1, 40)))
        out.append("".join(chr(rng.randint(lo, hi)) for lo, hi in picks))
    return out


def documents(mb: float, rounds: int) -> dict[str, list[list[str]]]:
    """Each corpus as ``rounds + 1`` disjoint parts of ~``mb`` MB of distinct documents
    (paragraphs of prose and code, ~700-character CJK runs), and the edge cases as one part.

    Disjoint, because the engines cache: gigatoken keeps each distinct pre-token's encoding,
    tokie warms up on first use. Counting the same text twice would time a cache, not a
    tokenizer; counting unseen documents of the same kind is what a corpus pass does.
    """
    out: dict[str, list[list[str]]] = {}
    for kind in ("prose", "code", "cjk"):
        docs = unique_documents(kind, int(mb * 1_000_000 * (rounds + 1)))
        out[kind] = [docs[i :: rounds + 1] for i in range(rounds + 1)]
    out["edge"] = [edge_documents()] * 2  # the hard cases: counted for miscounts, not speed
    return out


def miscounts(counts: Sequence[int], reference: Sequence[int]) -> int:
    return sum(a != b for a, b in zip(counts, reference, strict=True))


def part_one(docs: dict[str, list[list[str]]], encoding: str, tokie_dir: Path) -> None:
    import statistics

    import tokie

    enc = tokman.get_encoding(encoding)
    reference = enc.tiktoken
    peer = tokie.Tokenizer.from_file(str(tokie_dir / f"{encoding}.tkz"))
    start = time.perf_counter()
    ready = enc.prepare_corpus()
    built = time.perf_counter() - start
    backend = "gigatoken (tokman[fast])" if ready else "none: bpe-openai on processes"
    print(f"\n{encoding}, {cpu_count()} cores; tokman's corpus backend: {backend}, built in "
          f"{built:.2f} s (once per process, not in the rates below)")  # fmt: skip
    print(f"MB/s: the median of {len(docs['prose']) - 1} rounds, each on documents no engine has "
          "seen (a first round warms every engine up and is not counted)")  # fmt: skip
    print(
        f"{'corpus':<6} {'docs':>7} {'MB':>5} | {'tokman':>7} {'tiktoken':>8} {'tokie':>7} MB/s"
        f" | {'vs tokie':>8} {'vs tiktoken':>11} | miscounts: tokman tiktoken-batch tokie"
    )
    for name, parts in docs.items():
        rounds = len(parts) - 1
        engines: dict[str, Callable[[list[str]], Sequence[int]]] = {
            "tokman": lambda texts: tokman.count_batch(texts, encoding=encoding),
            "tiktoken": lambda texts: [len(t) for t in reference.encode_ordinary_batch(texts)],
            "tokie": lambda texts: list(peer.count_tokens_batch(texts)),
        }
        rates: dict[str, list[float]] = {engine: [] for engine in engines}
        wrong = dict.fromkeys(engines, 0)
        n_docs = mb_total = 0.0
        for round_, texts in enumerate(parts):
            truth = [len(reference.encode_ordinary(t)) for t in texts]
            mb = sum(len(t.encode()) for t in texts) / 1e6
            for engine, fn in engines.items():
                t0 = time.perf_counter()
                counts = fn(texts)
                seconds = time.perf_counter() - t0
                wrong[engine] += miscounts(counts, truth)
                if round_:
                    rates[engine].append(mb / seconds)
            if round_:
                n_docs += len(texts)
                mb_total += mb
        ours, tik, tok = (statistics.median(rates[e]) for e in ("tokman", "tiktoken", "tokie"))
        print(
            f"{name:<6} {n_docs / rounds:>7.0f} {mb_total / rounds:5.1f} | {ours:7.1f} {tik:8.1f} "
            f"{tok:7.1f}      | {ours / tok:7.2f}x {ours / tik:10.2f}x | "
            f"{wrong['tokman']:>17} {wrong['tiktoken']:>14} {wrong['tokie']:>5}"
        )
    cold = docs["cjk"][1]
    tokman.shutdown_workers()
    t0 = time.perf_counter()
    tokman.count_batch(cold, encoding=encoding)
    seconds = time.perf_counter() - t0
    print(f"cjk, a cold call (its workers forked inside it, as in a process's first call): "
          f"{sum(len(t.encode()) for t in cold) / 1e6 / seconds:.1f} MB/s")  # fmt: skip


def part_two(docs: dict[str, list[list[str]]], encoding: str, gb: float) -> None:
    import pyarrow as pa
    import ray

    import tokman.ray

    corpora_only = [
        list(itertools.chain.from_iterable(docs[name])) for name in ("prose", "code", "cjk")
    ]
    mixed = [d for d in itertools.chain.from_iterable(itertools.zip_longest(*corpora_only)) if d]
    per_round = sum(len(d.encode()) for d in mixed)
    rounds = max(1, round(gb * 1e9 / per_round))
    print(f"\nRay vs count_batch: {rounds} x {per_round / 1e6:.1f} MB = "
          f"{rounds * per_round / 1e9:.2f} GB, {rounds * len(mixed)} documents")  # fmt: skip
    mb = rounds * per_round / 1e6
    texts = mixed * rounds

    start = time.perf_counter()
    local = tokman.count_batch(texts, encoding=encoding)
    t_local = time.perf_counter() - start
    print(f"count_batch (list of str):      {t_local:6.1f} s  {mb / t_local:6.1f} MB/s")

    table = pa.table({"text": pa.array(texts, type=pa.large_string())})
    del texts
    start = time.perf_counter()
    column = tokman.count_column(table["text"], encoding=encoding)
    t_column = time.perf_counter() - start
    assert column.to_pylist() == local, "count_column differs from count_batch"
    print(f"count_column (Arrow column):    {t_column:6.1f} s  {mb / t_column:6.1f} MB/s")

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    start = time.perf_counter()
    ray.init(num_cpus=cpu_count(), include_dashboard=False, log_to_driver=False)
    t_init = time.perf_counter() - start
    try:
        import ray.data

        ray.data.DataContext.get_current().enable_progress_bars = False
        blocks = max(4 * cpu_count(), int(mb // 16))  # ~16 MB blocks, a few per actor
        step = -(-table.num_rows // blocks)
        start = time.perf_counter()
        ds = ray.data.from_arrow([table.slice(i, step) for i in range(0, table.num_rows, step)])
        ds = ds.materialize()
        t_load = time.perf_counter() - start
        tiny = ray.data.from_items([{"text": "hello"}] * 4, override_num_blocks=cpu_count())
        start = time.perf_counter()
        tokman.ray.summarize_dataset(tiny, encoding=encoding)
        t_tiny = time.perf_counter() - start
        start = time.perf_counter()
        summary = tokman.ray.summarize_dataset(ds, encoding=encoding)
        t_ray = time.perf_counter() - start
    finally:
        ray.shutdown()
    assert summary.tokens == sum(local) and summary.documents == len(local), "Ray differs"
    print(f"Ray start-up: ray.init {t_init:.1f} s, data into the object store {t_load:.1f} s, "
          f"a 4-row job {t_tiny:.1f} s (actor start + vocabulary: a job's fixed cost)")  # fmt: skip
    print(f"tokman.ray.summarize_dataset:   {t_ray:6.1f} s  {mb / t_ray:6.1f} MB/s "
          f"= {t_local / t_ray:.2f}x count_batch (goal >= 0.80x)")  # fmt: skip
    if t_ray > t_tiny:
        print(f"  less the 4-row job's fixed cost: {mb / (t_ray - t_tiny):.1f} MB/s "
              f"= {t_local / (t_ray - t_tiny):.2f}x count_batch")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=6.0, help="MB of each corpus per round")
    parser.add_argument("--ray-gb", type=float, default=1.0, help="GB of the Ray dataset")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (after a warm-up)")
    parser.add_argument("--encoding", default="o200k_base")
    parser.add_argument("--tokie-dir", type=Path, default=_TOKIE_DIR)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-rates", action="store_true", help="only part 2 (Ray)")
    args = parser.parse_args()
    docs = documents(args.mb, args.rounds)
    if not args.skip_rates:
        part_one(docs, args.encoding, args.tokie_dir)
    if not args.skip_ray:
        part_two(docs, args.encoding, args.ray_gb)


if __name__ == "__main__":
    main()
