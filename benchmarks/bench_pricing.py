"""Pricing speed: µs per ``tokman.cost()`` and per ``UsageRecord.priced()``, beside tokencost.

Target (issue 9): ``cost()`` <= 5 µs per call for a registered model. The peer is tokencost's
``calculate_cost_by_tokens`` (LiteLLM's price table, float per-token prices turned into
Decimal): one request's cost there is three calls (uncached input, cached input, output), so
that is what is timed against one ``tokman.cost`` of the same usage; tokencost has no dates,
no Azure deployment types and no batch prices, so its numbers answer a smaller question.
tokencost works offline (it reads its bundled ``model_prices.json``; only ``refresh_prices()``
goes to the network, and this script never calls it).

Run: ``python benchmarks/bench_pricing.py [--n 200000] [--repeat 5]``. Each figure is the best
of ``--repeat`` runs with the garbage collector off while timing (as ``timeit`` does).
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


def _us(fn: Callable[[], Any], n: int, repeat: int) -> float:
    fn()  # warm: registry loaded, rates resolved
    return min(timeit.repeat(fn, number=n, repeat=repeat)) / n * 1e6


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
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
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
    print(f"pricing, µs per call (best of {repeat} x {n:,}; GC off while timing)")
    times = {}
    for name, fn in rows:
        times[name] = _us(fn, n, repeat)
        print(f"  {name:<40} {times[name]:7.2f} µs")
    peer = _tokencost()
    main_us = times["tokman.cost(dict, model='gpt-4o')"]
    if isinstance(peer, str):
        print(f"  tokencost: {peer}")
    else:
        peer_us = _us(peer, n, repeat)
        print(f"  {'tokencost 3 x calculate_cost_by_tokens':<40} {peer_us:7.2f} µs")
        print(f"  ratio tokman.cost / tokencost: {main_us / peer_us:.2f}x")
    verdict = "met" if main_us <= TARGET_US else "MISSED"
    print(f"  target cost() <= {TARGET_US:.0f} µs: {verdict} ({main_us:.2f} µs)")


if __name__ == "__main__":
    main()
