"""Overhead of ``tokman.instrument`` per call: the instrumented openai client vs the bare one.

Both clients call the same local fake server (`tokman.testing.FakeOpenAI.serve()`, a real HTTP
server on 127.0.0.1) in the same process, interleaved call by call so that both see the same
machine state. Printed: p50 / p90 per non-streaming chat call for the bare client and for the
instrumented one with (a) nothing but counting and validation, (b) + an in-memory ledger, (c) +
memory rate limiter + budget, (d) + SQLite ledger; and the same for a streaming call. The goal
(issue 12): at most 0.3 ms more than the bare client at p50 for a non-streaming chat call.

Run: ``python benchmarks/bench_instrument.py [--n 2000]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai

import tokman
from tokman.budgets import Budget, BudgetGuard
from tokman.ledger import open_ledger
from tokman.ratelimit import Quota, RateLimiter
from tokman.testing import FakeOpenAI

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant that answers briefly."},
    {"role": "user", "content": "What is the capital of France? Answer in one word."},
]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    fake = FakeOpenAI(reply="Paris.")
    tmp = Path(tempfile.mkdtemp())
    with fake.serve() as server:
        bare = openai.OpenAI(api_key="sk-bench", base_url=server.base_url, max_retries=0)
        memory_ledger = open_ledger("memory://")
        sqlite_ledger = open_ledger(f"sqlite:///{tmp / 'bench.db'}")
        guard = BudgetGuard(open_ledger("memory://"))
        guard.add(Budget("bench", Decimal("1000000")))
        limiter = RateLimiter(Quota(tpm=10**12, rpm=10**9))
        clients: dict[str, Any] = {
            "bare openai client": bare,
            "instrument()": tokman.instrument(bare),
            "+ memory ledger": tokman.instrument(bare, ledger=memory_ledger),
            "+ limiter + budget": tokman.instrument(
                bare, ledger=guard.ledger, limiter=limiter, budgets=guard
            ),
            "+ sqlite ledger": tokman.instrument(bare, ledger=sqlite_ledger),
        }

        def chat(client: Any) -> Callable[[], object]:
            return lambda: client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, max_tokens=20
            )

        def stream(client: Any) -> Callable[[], object]:
            return lambda: list(
                client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
            )

        for title, call in (("non-streaming chat", chat), ("streaming chat", stream)):
            calls = {name: call(client) for name, client in clients.items()}
            for fn in calls.values():  # warm up: connections, caches, vocabularies
                for _ in range(50):
                    fn()
            samples: dict[str, list[float]] = {name: [] for name in calls}
            for _ in range(args.n):
                for name, fn in calls.items():
                    start = time.perf_counter()
                    fn()
                    samples[name].append(time.perf_counter() - start)
            base50, _ = _percentiles(samples["bare openai client"])
            print(f"\n{title}: {args.n} calls each, interleaved, against {server.base_url}")
            print(f"{'client':<22} {'p50 ms':>8} {'p90 ms':>8} {'+p50 ms':>8} {'ratio':>6}")
            for name, values in samples.items():
                p50, p90 = _percentiles(values)
                print(
                    f"{name:<22} {p50 * 1e3:8.3f} {p90 * 1e3:8.3f} "
                    f"{(p50 - base50) * 1e3:8.3f} {p50 / base50:6.2f}"
                )
        print("\ngoal: instrument() + memory ledger adds <= 0.3 ms at p50 (non-streaming chat)")


if __name__ == "__main__":
    main()
