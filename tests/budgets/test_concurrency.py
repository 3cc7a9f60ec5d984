"""Concurrency proof: twenty processes share one budget on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from servers import drop_tables, unique_prefix
from tokman.budgets import Budget, BudgetGuard
from tokman.ledger import open_ledger

WORKER = Path(__file__).with_name("_worker.py")
PROCESSES, ROUNDS, LIMIT = 20, 15, 1_500  # demand: 300 requests of 5-10 tokens > limit


def _run_together(argvs: Iterable[list[str]]) -> list[str]:
    """Start one Python child per argv, release them at once (a line on stdin), and return
    their stdouts once all exited with status 0."""
    children = [
        subprocess.Popen(
            [sys.executable, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for argv in argvs
    ]
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.close()
    outputs = []
    for child in children:
        assert child.stdout is not None
        outputs.append(child.stdout.read())
        child.stdout.close()
        assert child.wait(timeout=120) == 0
    return outputs


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_twenty_processes_never_overspend_and_lose_nothing(
    kind: str, tmp_path: Path, postgres_url: str
) -> None:
    """Total settled never exceeds the budget, and every settled call is in spend and ledger."""
    url = f"sqlite:///{tmp_path}/ledger.db" if kind == "sqlite" else postgres_url
    prefix = unique_prefix()
    ledger = open_ledger(url, table_prefix=prefix)
    try:
        guard = BudgetGuard(ledger)
        guard.add(Budget("team-a", LIMIT, unit="tokens", tags={"team": "a"}))
        outputs = _run_together(
            [str(WORKER), url, prefix, str(n), str(ROUNDS)] for n in range(PROCESSES)
        )
        results = [json.loads(out) for out in outputs]
        settled = sum(r["settled"] for r in results)
        status = guard.status("team-a")
        assert status.spent == settled <= LIMIT
        assert status.reserved == 0
        assert sum(r["rejected"] for r in results) > 0  # the budget really was contended
        stored = ledger.query(tags={"team": "a"})
        assert sorted(r.id for r in stored) == sorted(i for r in results for i in r["ids"])
        assert sum(r.total_tokens for r in stored) == settled
    finally:
        drop_tables(ledger)


# Each child opens the same fresh database, adds one budget and prints how many CREATE TABLE
# statements it ran: if the migrations are serialized, the sum over all children is exactly the
# number of tables the ledger and budgets schemas create.
OPENER = """
import sys
import sqlalchemy as sa
from tokman.budgets import Budget, BudgetGuard
from tokman.ledger import UsageRecord, open_ledger

url, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3]
created = []


def seen(conn, cursor, sql, *args):
    if sql.lstrip().startswith("CREATE TABLE"):
        created.append(sql)


sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
sys.stdin.readline()
ledger = open_ledger(url, table_prefix=prefix)
guard = BudgetGuard(ledger)
guard.add(Budget("b" + n, 10, unit="tokens"))
ledger.record(UsageRecord(id="r" + n, model="m"))
ledger.close()
print(len(created))
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_twenty_processes_opening_a_new_database_migrate_it_once(
    kind: str, tmp_path: Path, postgres_url: str
) -> None:
    """Ledger and budget tables are created exactly once when twenty processes open at once."""
    import sqlalchemy as sa

    from tokman.budgets._schema import BUDGET_MIGRATIONS, budget_tables
    from tokman.ledger._schema import CURRENT_VERSION, tables

    url = f"sqlite:///{tmp_path}/fresh.db" if kind == "sqlite" else postgres_url
    prefix = unique_prefix()
    outputs = _run_together(["-c", OPENER, url, prefix, str(n)] for n in range(PROCESSES))
    created = [int(out) for out in outputs]
    ledger = open_ledger(url, table_prefix=prefix)
    try:
        # ledger: schema_version, usage; budgets: budgets_schema_version, budgets, reservations
        assert sum(created) == 5
        assert len(ledger.query()) == PROCESSES
        assert len(BudgetGuard(ledger).budgets()) == PROCESSES
        engine = ledger.store.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            for version, current in (
                (tables(prefix).version, CURRENT_VERSION),
                (budget_tables(prefix).version, BUDGET_MIGRATIONS.current),
            ):
                assert conn.execute(sa.select(version.c.version)).all() == [(current,)]
    finally:
        drop_tables(ledger)
