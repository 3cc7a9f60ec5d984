"""Ledger write speed: records/s for ``record_many`` and single ``record()`` latency.

Targets (issue 6): >= 50,000 records/s batched into SQLite, >= 20,000/s into local PostgreSQL.
Issue 9: records written without a cost are priced on the way in (``UsageRecord.priced``); a
batch of *unpriced* records must still reach >= 100,000 records/s into SQLite. Each batch size is
timed ``--repeat`` times on fresh ids and the best is printed, with the garbage collector left on
(a batch of 100,000 new records is exactly what makes Python's collector run, and users pay it).
Run: ``python benchmarks/bench_ledger.py [--n 100000] [--postgres URL]``. PostgreSQL tables get a
unique prefix and are dropped afterwards. The batch is one ``record_many`` call, committed (and on
SQLite fsync'd) before the clock stops; on PostgreSQL a batch that large takes the COPY path
(``tokman.ledger.sql``), so ``--n`` below 500 measures pipelined executemany instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tokman.ledger import Ledger, UsageRecord, open_ledger

SQLITE_UNPRICED_TARGET = 100_000


def _records(n: int, tag: str, cost: Decimal | None = Decimal("0.0035")) -> list[UsageRecord]:
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    return [
        UsageRecord(
            id=f"{tag}-{i}",
            time=t0 + timedelta(seconds=i),
            model="gpt-4o" if i % 2 else "gpt-4o-mini",
            prompt_tokens=1000 + i % 500,
            completion_tokens=100 + i % 50,
            cost=cost,
            tags={"user": f"u{i % 10}", "feature": "bench"},
        )
        for i in range(n)
    ]


def _batch_rate(ledger: Ledger, n: int, cost: Decimal | None) -> float:
    records = _records(n, uuid.uuid4().hex[:8], cost)
    start = time.perf_counter()
    ledger.record_many(records)
    return n / (time.perf_counter() - start)


def _bench(name: str, ledger: Ledger, n: int, singles: int, repeat: int = 1) -> None:
    priced = unpriced = 0.0
    for _ in range(repeat):  # alternated, so both kinds meet tables of the same sizes
        priced = max(priced, _batch_rate(ledger, n, Decimal("0.0035")))
        unpriced = max(unpriced, _batch_rate(ledger, n, None))
    print(f"{name:<11} record_many: {n:>7,} records with cost    {priced:>9,.0f} rec/s")
    print(
        f"{name:<11} record_many: {n:>7,} records priced here {unpriced:>9,.0f} rec/s "
        f"({unpriced / priced:.2f}x of given costs)"
    )
    if name == "sqlite":
        verdict = "met" if unpriced >= SQLITE_UNPRICED_TARGET else "MISSED"
        print(f"{name:<11} target unpriced >= {SQLITE_UNPRICED_TARGET:,} rec/s: {verdict}")
    latencies = []
    for r in _records(singles, uuid.uuid4().hex[:8]):
        start = time.perf_counter()
        ledger.record(r)
        latencies.append(time.perf_counter() - start)
    latencies.sort()
    print(
        f"{name:<11} record():    median {statistics.median(latencies) * 1e3:.2f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1e3:.2f} ms over {singles} calls"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--singles", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "TOKMAN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, open_ledger(f"sqlite:///{tmp}/bench.db") as ledger:
        _bench("sqlite", ledger, args.n, args.singles, args.repeat)
    _bench("memory", open_ledger("memory://"), args.n, args.singles, args.repeat)
    if args.postgres:
        prefix = f"bench_{uuid.uuid4().hex[:8]}_"
        ledger = open_ledger(args.postgres, table_prefix=prefix)
        try:
            _bench("postgresql", ledger, args.n, args.singles, args.repeat)
        finally:
            store = ledger.store
            store.tables.metadata.drop_all(store.engine)  # type: ignore[attr-defined]
            ledger.close()


if __name__ == "__main__":
    main()
