"""One behavioural suite for every ledger store (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from tokman.errors import InvalidRequestError
from tokman.ledger import AsyncLedger, Ledger, SummaryRow, UsageRecord, open_async_ledger

T0 = datetime(2025, 3, 30, 22, 0, tzinfo=timezone.utc)


def _rec(i: int, **kw: Any) -> UsageRecord:
    values: dict[str, Any] = {
        "id": f"r{i}",
        "time": T0 + timedelta(hours=i),
        "model": "gpt-4o" if i % 2 else "gpt-4o-mini",
        "prompt_tokens": 100 + i,
        "completion_tokens": 10,
        "cost": Decimal("0.000125") * (i + 1),
        "tags": {"user": f"u{i % 3}", "tenant": "acme"},
    }
    values.update(kw)
    return UsageRecord(**values)


def test_record_round_trips_every_field(ledger: Ledger) -> None:
    """A stored record reads back equal, field by field."""
    r = UsageRecord(
        id="chatcmpl-9",
        time=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc),
        model="o3-mini",
        deployment="prod-o3",
        operation="responses",
        prompt_tokens=1200,
        cached_tokens=1024,
        completion_tokens=300,
        reasoning_tokens=256,
        cost=Decimal("0.001234567891"),
        price_id="o3-mini@2025-01-31",
        status="estimated",
        latency=1.25,
        tags={"user": "ann", "feature": "search"},
    )
    assert ledger.record(r) == r
    assert ledger.query() == [r]


def test_same_id_is_stored_once(ledger: Ledger) -> None:
    """Writing an id again (one by one or in a batch) keeps the first record unchanged."""
    first = _rec(1)
    assert ledger.record(first).duplicate is False
    ledger.record(_rec(1, prompt_tokens=999))
    assert ledger.record_many([_rec(1, model="other"), _rec(2), _rec(2)]) == 1  # only r2 is new
    assert [r.id for r in ledger.query()] == ["r1", "r2"]
    assert ledger.query(model="gpt-4o")[0] == first


def test_query_filters_time_range_model_deployment_and_tags(ledger: Ledger) -> None:
    """since is inclusive, until exclusive; model, deployment and every tag must match."""
    ledger.record_many(_rec(i, deployment="d1" if i < 3 else None) for i in range(6))
    ids = lambda rs: [r.id for r in rs]  # noqa: E731
    assert ids(ledger.query(since=T0 + timedelta(hours=2), until=T0 + timedelta(hours=4))) == [
        "r2",
        "r3",
    ]
    assert ids(ledger.query(model="gpt-4o")) == ["r1", "r3", "r5"]
    assert ids(ledger.query(deployment="d1")) == ["r0", "r1", "r2"]
    assert ids(ledger.query(tags={"user": "u1"})) == ["r1", "r4"]
    assert ids(ledger.query(tags={"user": "u1", "tenant": "acme", "x": "y"})) == []
    assert ids(ledger.query(limit=2)) == ["r0", "r1"]
    naive = (T0 + timedelta(hours=5)).replace(tzinfo=None)
    assert ids(ledger.query(since=naive)) == ["r5"]


def test_summary_by_model_and_tag(ledger: Ledger) -> None:
    """Sums of tokens, requests and exact Decimal cost per group, groups sorted."""
    ledger.record_many(_rec(i) for i in range(6))
    rows = ledger.summary(group_by=["model"])
    assert [(r.group["model"], r.requests, r.prompt_tokens, r.cost) for r in rows] == [
        ("gpt-4o", 3, 309, Decimal("0.001500")),
        ("gpt-4o-mini", 3, 306, Decimal("0.001125")),
    ]
    rows = ledger.summary(["tag:user", "tag:missing"], model="gpt-4o")
    assert [(r.group, r.requests) for r in rows] == [
        ({"tag:user": "u0", "tag:missing": None}, 1),
        ({"tag:user": "u1", "tag:missing": None}, 1),
        ({"tag:user": "u2", "tag:missing": None}, 1),
    ]
    (total,) = ledger.summary([])
    assert total == SummaryRow({}, 6, 615, 0, 60, 0, Decimal("0.002625"), 0)
    assert total.total_tokens == 675


def test_summary_by_hour_day_and_month_in_utc(ledger: Ledger) -> None:
    """Time buckets are UTC calendar hours, days and months (crossing a month boundary)."""
    ledger.record_many(_rec(i) for i in range(3))  # 22:00, 23:00 on Mar 30, 00:00 on Mar 31
    ledger.record(_rec(9, time=datetime(2025, 4, 1, 0, 30, tzinfo=timezone.utc)))
    assert [(r.group["day"], r.requests) for r in ledger.summary("day")] == [
        ("2025-03-30", 2),
        ("2025-03-31", 1),
        ("2025-04-01", 1),
    ]
    assert [(r.group["month"], r.requests) for r in ledger.summary(["month"])] == [
        ("2025-03", 3),
        ("2025-04", 1),
    ]
    assert [r.group["hour"] for r in ledger.summary(["hour"])][:2] == [
        "2025-03-30T22:00",
        "2025-03-30T23:00",
    ]


def test_summary_counts_unpriced_records_apart(ledger: Ledger) -> None:
    """Records without a cost are counted as unpriced, never as zero-cost."""
    ledger.record(_rec(0, model="no-such-model-xyz", cost=None))
    ledger.record(_rec(1, model="no-such-model-xyz"))
    (row,) = ledger.summary(["model", "operation", "status", "deployment"])
    assert row.group == {
        "model": "no-such-model-xyz",
        "operation": "chat",
        "status": "ok",
        "deployment": None,
    }
    assert (row.requests, row.unpriced, row.cost) == (2, 1, Decimal("0.00025"))
    assert ledger.query(limit=1)[0].cost is None


def test_large_batch_is_stored_whole(ledger: Ledger) -> None:
    """A batch larger than one statement's chunk is committed completely."""
    n = 12_345
    ledger.record_many(
        UsageRecord(id=f"b{i}", time=T0, model="m", prompt_tokens=1, cost=Decimal(0))
        for i in range(n)
    )
    (row,) = ledger.summary([])
    assert (row.requests, row.prompt_tokens) == (n, n)


def test_cost_sums_do_not_overflow(ledger: Ledger) -> None:
    """Sums far beyond 2**63 picodollars (9.2 million USD) stay exact."""
    ledger.record_many(_rec(i, cost=Decimal("5000000.000000000001")) for i in range(4))
    assert ledger.summary([])[0].cost == Decimal("20000000.000000000004")


def test_bad_arguments_name_the_field(ledger: Ledger) -> None:
    """Wrong group keys, times and record types raise InvalidRequestError."""
    with pytest.raises(InvalidRequestError, match="group_by"):
        ledger.summary(["week"])
    with pytest.raises(InvalidRequestError, match="since"):
        ledger.query(since="2025-01-01")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="record"):
        ledger.record({"id": "x"})  # type: ignore[arg-type]


@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
def test_records_survive_reopening(make_ledger: Callable[..., Ledger]) -> None:
    """A SQL ledger opened again (as another process would) sees every committed record."""
    first = make_ledger()
    first.record_many(_rec(i) for i in range(3))
    first.close()
    assert [r.id for r in make_ledger().query()] == ["r0", "r1", "r2"]


def test_async_ledger_shares_the_store(ledger_url: str, table_prefix: str) -> None:
    """AsyncLedger records, queries and summarises through the same store as Ledger."""

    async def main() -> tuple[list[UsageRecord], list[SummaryRow]]:
        async with open_async_ledger(ledger_url, table_prefix=table_prefix) as aledger:
            assert isinstance(aledger, AsyncLedger)
            await aledger.record(_rec(0))
            await aledger.record_many([_rec(1), _rec(2)])
            try:
                return await aledger.query(model="gpt-4o"), await aledger.summary(["model"])
            finally:
                from servers import drop_tables

                drop_tables(aledger.sync)

    found, summary = asyncio.run(main())
    assert [r.id for r in found] == ["r1"]
    assert [r.requests for r in summary] == [1, 2]


def test_record_prices_from_the_registry(ledger: Ledger) -> None:
    """A record without a cost is priced with the model's price (and the price id kept)."""
    stored = ledger.record(
        UsageRecord(id="p1", model="gpt-4o", prompt_tokens=1000, completion_tokens=500)
    )
    assert stored.cost is not None and stored.cost > 0
    assert stored.price_id and "gpt-4o" in stored.price_id
    assert ledger.query()[0].cost == stored.cost


@pytest.mark.parametrize("n", [3, 1_500])  # 1,500: PostgreSQL's COPY bulk path
def test_batches_keep_the_first_record_of_each_id_exactly(ledger: Ledger, n: int) -> None:
    """Small and bulk batches alike: already-stored ids stay unchanged, the first record of an id
    repeated within the batch wins, and every field (Decimal cost, unicode tags) reads back exact.
    """
    stored = ledger.record(_rec(0))
    full = UsageRecord(
        id="full",
        time=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc),
        model="o3-mini",
        deployment="prod-o3",
        operation="batch",
        prompt_tokens=1200,
        cached_tokens=1024,
        completion_tokens=300,
        reasoning_tokens=256,
        cost=Decimal("0.001234567891"),
        price_id="o3-mini@2025-01-31",
        status="estimated",
        latency=0.1,
        tags={"user": 'ann "the" \\ admin\t\n', "ünï": "日本 😀 \u2028"},
    )
    bare = UsageRecord(id="bare", time=T0, model="unpriced-model")
    others = [_rec(i) for i in range(1, n)]
    batch = [_rec(0, model="changed"), full, full.replace(model="second"), bare, *others]
    assert ledger.record_many(batch) == n + 1  # not r0 (stored) nor full's repeat
    by_id = {r.id: r for r in ledger.query()}
    assert len(by_id) == n + 2
    assert by_id["r0"] == stored
    assert by_id["full"] == full
    assert by_id["bare"] == bare and bare.cost is None and by_id["bare"].tags == {}
    assert [by_id[r.id] for r in others] == others
    (row,) = ledger.summary([])
    assert row.cost == sum((r.cost or Decimal(0) for r in [stored, full, *others]), Decimal(0))
    assert row.unpriced == 1
