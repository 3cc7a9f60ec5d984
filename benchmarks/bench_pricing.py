"""Pricing speed: µs per ``tokman.cost()`` and per ``UsageRecord.priced()``, beside tokencost.

Target (issue 9): ``cost()`` <= 5 µs per call for a registered model. The peer is tokencost's
``calculate_cost_by_tokens`` (LiteLLM's price table, float per-token prices turned into
Decimal): one request's cost there is three calls (uncached input, cached input, output), so
that is what is timed against one ``tokman.cost`` of the same usage; tokencost has no dates,
no Azure deployment types and no batch prices, so its numbers answer a smaller question.
tokencost works offline (it reads its bundled ``model_prices.json``; only ``refresh_prices()``
goes to the network, and this script never calls it).

Run: ``python benchmarks/bench_pricing.py [--n 20000] [--repeat 25]``. Each figure is the best of
``--repeat`` runs of ``--n`` calls, with the garbage collector off while timing (as ``timeit``
does); the rows take turns run by run, so a burst of load on a shared machine cannot fall on
one row's every run.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import tokman
from tokman import models
from tokman.ledger import UsageRecord

TARGET_US = 5.0
USAGE = {
    "prompt_tokens": 1_200,
    "completion_tokens": 350,
    "total_tokens": 1_550,
    "prompt_tokens_details": {"cached_tokens": 1_024},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
AT = datetime(2025, 6, 1, tzinfo=timezone.utc)


def _best_us(fns: dict[str, Callable[[], Any]], n: int, repeat: int) -> dict[str, float]:
    for fn in fns.values():
        fn()  # warm: registry loaded, rates resolved
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            best[name] = min(best[name], timeit.timeit(fn, number=n))
    return {name: t / n * 1e6 for name, t in best.items()}


def _tokencost() -> Callable[[], Decimal] | str:
    try:
        from tokencost import calculate_cost_by_tokens
    except ImportError:
        return "not installed (pip install tokencost)"
    uncached, cached, out = 1_200 - 1_024, 1_024, 350

    def one_request() -> Decimal:
        return (
            calculate_cost_by_tokens(uncached, "gpt-4o", "input")
            + calculate_cost_by_tokens(cached, "gpt-4o", "cached")
            + calculate_cost_by_tokens(out, "gpt-4o", "output")
        )

    return one_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=25)
    args = parser.parse_args()
    n, repeat = args.n, args.repeat
    models.register_deployment("bench-dz", model="gpt-4o", deployment_type="DataZoneStandard")

    from openai.types import CompletionUsage
    from openai.types.completion_usage import PromptTokensDetails

    sdk = CompletionUsage(
        prompt_tokens=1_200,
        completion_tokens=350,
        total_tokens=1_550,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=1_024),
    )
    record = UsageRecord(
        model="gpt-4o", prompt_tokens=1_200, cached_tokens=1_024, completion_tokens=350, time=AT
    )
    on_dz = record.replace(deployment="bench-dz")
    rows = [
        ("tokman.cost(dict, model='gpt-4o')", lambda: tokman.cost(USAGE, model="gpt-4o")),
        ("tokman.cost(dict, at=datetime)", lambda: tokman.cost(USAGE, model="gpt-4o", at=AT)),
        ("tokman.cost(openai CompletionUsage)", lambda: tokman.cost(sdk, model="gpt-4o")),
        ("tokman.cost(dict, Azure deployment)", lambda: tokman.cost(USAGE, model="bench-dz")),
        ("UsageRecord.priced()", record.priced),
        ("UsageRecord.priced() via deployment", on_dz.priced),
    ]
    peer = _tokencost()
    fns = dict(rows)
    peer_name = "tokencost 3 x calculate_cost_by_tokens"
    if not isinstance(peer, str):
        fns[peer_name] = peer
    print(f"pricing, µs per call (best of {repeat} x {n:,}; GC off while timing)")
    times = _best_us(fns, n, repeat)
    for name, us in times.items():
        print(f"  {name:<40} {us:7.2f} µs")
    main_us = times["tokman.cost(dict, model='gpt-4o')"]
    if isinstance(peer, str):
        print(f"  tokencost: {peer}")
    else:
        print(f"  ratio tokman.cost / tokencost: {main_us / times[peer_name]:.2f}x")
    verdict = "met" if main_us <= TARGET_US else "MISSED"
    print(f"  target cost() <= {TARGET_US:.0f} µs: {verdict} ({main_us:.2f} µs)")


if __name__ == "__main__":
    main()
