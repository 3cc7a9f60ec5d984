"""End to end: 50 concurrent calls of an instrumented AsyncAzureOpenAI through a shared Redis
limiter, a budget and a SQLite ledger, against tokman's fake server over real HTTP."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import tokman
from tokman import models
from tokman.budgets import Budget, BudgetGuard
from tokman.integrations.metrics import PrometheusSink
from tokman.ledger import open_ledger
from tokman.ratelimit import AsyncRateLimiter, Quota
from tokman.testing import FakeOpenAI

CALLS = 50
# 1-s windows so that the quota binds within a short test: about 8 worst cases fit at once
QUOTA = Quota(tpm=1_000, rpm=1_200, token_window=1, request_window=1)


def _samples(registry: CollectorRegistry, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = generate_latest(registry).decode()
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


@pytest.mark.slow
def test_fifty_concurrent_azure_calls(redis_url: str, name: str, tmp_path: Path) -> None:
    """One ledger row per call equal to the served usage; no 1-s window over the quota; the
    budget's spend equals the ledger's sum; Prometheus shows the same totals."""
    models.register_deployment("chat-prod", model="gpt-4o-mini", tpm=QUOTA.tpm, rpm=QUOTA.rpm)
    fake = FakeOpenAI(
        reply="A short answer, counted exactly.", deployments={"chat-prod": "gpt-4o-mini"}
    )
    ledger = open_ledger(f"sqlite:///{tmp_path / 'usage.db'}")
    guard = BudgetGuard(ledger)
    guard.add(Budget("e2e", Decimal("5")))
    registry = CollectorRegistry()
    arrivals: list[float] = []

    async def main() -> list[Any]:
        limiter = AsyncRateLimiter(QUOTA, redis_url, name=name)
        with fake.serve() as server:
            raw = openai.AsyncAzureOpenAI(
                api_key="azure-key-never-stored",
                api_version="2024-10-21",
                azure_endpoint=server.azure_endpoint,
                max_retries=0,
            )
            client = tokman.instrument(
                raw, ledger=ledger, limiter=limiter, budgets=guard,
                metrics=PrometheusSink(registry), max_wait=30,
            )  # fmt: skip

            async def one(i: int) -> Any:
                response = await client.chat.completions.with_raw_response.create(
                    model="chat-prod",
                    messages=[{"role": "user", "content": f"Question number {i}: why?"}],
                    max_tokens=100,
                )
                arrivals.append(time.monotonic())  # served: admitted a moment before
                return response.parse()

            results = await asyncio.gather(*(one(i) for i in range(CALLS)))
            await raw.close()
        await limiter.aclose()
        return results

    started = time.monotonic()
    responses = asyncio.run(main())
    elapsed = time.monotonic() - started
    rows = {row.id: row for row in ledger.query()}
    assert len(rows) == CALLS and {r.status for r in rows.values()} == {"ok"}
    for response in responses:
        row = rows[response.id]
        assert (row.prompt_tokens, row.completion_tokens) == (
            response.usage.prompt_tokens, response.usage.completion_tokens,
        )  # fmt: skip
        assert row.deployment == "chat-prod"
    served = sorted(u["prompt_tokens"] + u["completion_tokens"] for u in fake.served)
    assert served == sorted(r.total_tokens for r in rows.values())

    # the quota bound: the run took several windows, and no window held more than the quota
    # (served tokens, by the time each call came back; 0.9 s windows absorb clock skew)
    assert elapsed > 1.0
    finished = sorted(zip(arrivals, (r.usage.total_tokens for r in responses), strict=True))
    for i, (t, _) in enumerate(finished):
        window = [n for (u, n) in finished[: i + 1] if u > t - 0.9]
        assert sum(window) <= QUOTA.tpm

    status = guard.status("e2e")
    total_cost = sum((r.cost or Decimal(0) for r in rows.values()), Decimal(0))
    assert total_cost > 0
    assert status.spent == total_cost and status.reserved == 0

    tokens = _samples(registry, "tokman_tokens_total")
    by_type: dict[str, float] = {}
    for labels, value in tokens.items():
        kind = dict(labels)["type"]
        by_type[kind] = by_type.get(kind, 0) + value
    assert by_type["input"] == sum(r.prompt_tokens for r in rows.values())
    assert by_type["output"] == sum(r.completion_tokens for r in rows.values())
    requests = _samples(registry, "tokman_requests_total")
    assert sum(v for k, v in requests.items() if dict(k)["outcome"] == "ok") == CALLS
    cost = sum(_samples(registry, "tokman_cost_usd_total").values())
    assert cost == pytest.approx(float(total_cost))
    assert "azure-key-never-stored" not in generate_latest(registry).decode()
    ledger.close()
