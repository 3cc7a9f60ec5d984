"""Budgets in the ledger's SQL database (SQLite or PostgreSQL), on the ledger's engine.

Atomicity: every operation is one transaction that first locks the budgets it touches. On
PostgreSQL that is ``SELECT ... FOR UPDATE`` in id order (so two reservations over the same pair
of budgets cannot deadlock); on SQLite the transaction starts with ``BEGIN IMMEDIATE``, which
takes the database's single write lock before reading. Within the lock the store reads spend and
live reservations, applies the shared decision (`_core.check`) and writes the reservation, so no
two processes can both see the same room.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tokman.budgets._core import (
    Budget,
    BudgetState,
    BudgetStatus,
    BudgetStore,
    _us,
    check,
    roll,
    status_of,
    unknown_budget,
)
from tokman.budgets._schema import BUDGET_MIGRATIONS, budget_tables
from tokman.ledger._schema import migrate
from tokman.ledger.sql import SqlStore

__all__ = ["SqlBudgetStore"]


def _budget(row: Any) -> Budget:
    scope = row.scope or {}
    if isinstance(scope, str):  # a driver-level row: SQLite hands JSON back as text
        scope = json.loads(scope)
    unit = row.unit
    limit: Any = row.limit_amount
    if unit == "usd":
        from tokman.budgets._core import from_units

        limit = from_units(unit, int(row.limit_amount))
    return Budget(
        id=row.id,
        limit=limit,
        unit=unit,
        period=row.period,
        model=scope.get("model"),
        deployment=scope.get("deployment"),
        tags=scope.get("tags") or {},
    )


class SqlBudgetStore(BudgetStore):
    """Budgets beside a `SqlStore`'s tables: same database and prefix, own schema version
    (`tokman.budgets._schema`, created or migrated on first use)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.t = budget_tables(store.table_prefix)
        self._ready = False
        quote = store.engine.dialect.identifier_preparer.quote
        self._b, self._r = quote(self.t.budgets.name), quote(self.t.reservations.name)
        # psycopg takes %s, sqlite3 ? (driver SQL: no SQLAlchemy statement building per call)
        self._ph = "?" if store.dialect == "sqlite" else "%s"
        self._for_update = " FOR UPDATE" if store.dialect == "postgresql" else ""

    # -- the reserve / settle / release path in driver SQL ----------------------------------
    # Every gateway or SDK call reserves and settles, so these run once per API call: built
    # once per store (and per number of budgets), they skip SQLAlchemy's per-call statement
    # building, caching and compiling, which cost ~10x the SQL itself here.

    @functools.lru_cache(maxsize=64)  # noqa: B019 - a store lives as long as its ledger
    def _sql(self, name: str, n: int = 1) -> str:
        b, r, ph = self._b, self._r, self._ph
        ids = ", ".join([ph] * n)
        return {
            "lock": f"SELECT id, unit, limit_amount, period, scope, spent, period_start_us "
            f"FROM {b} WHERE id IN ({ids}) ORDER BY id{self._for_update}",
            "lapsed": f"DELETE FROM {r} WHERE budget_id IN ({ids}) AND expires_us <= {ph}",
            "reserved": f"SELECT budget_id, SUM(amount) FROM {r} "
            f"WHERE budget_id IN ({ids}) AND expires_us > {ph} GROUP BY budget_id",
            "save": f"UPDATE {b} SET spent = {ph}, period_start_us = {ph} WHERE id = {ph}",
            "hold": f"INSERT INTO {r} (id, budget_id, amount, expires_us) "
            f"VALUES ({ph}, {ph}, {ph}, {ph})",
            "drop": f"DELETE FROM {r} WHERE id = {ph}",
        }[name]

    def __repr__(self) -> str:
        return f"<SqlBudgetStore {self.store.url}>"

    def _ensure(self) -> None:
        """Create or migrate the budget tables on first use (read-only stores: check them)."""
        if self._ready:
            return
        self.store.ensure_schema()
        with self.store.errors("open budgets in"):
            migrate(
                self.store.engine,
                BUDGET_MIGRATIONS,
                self.t,
                url=self.store.url,
                readonly=self.store.readonly,
            )
        self._ready = True

    def _write(self) -> sa.Connection:
        """`SqlStore.write` once the budget tables exist."""
        self.store.check_writable()
        self._ensure()
        return self.store.write()

    def _read(self) -> sa.Connection:
        self._ensure()
        return self.store.engine.connect()

    def put(self, budget: Budget) -> None:
        mod: Any = postgresql if self.store.dialect == "postgresql" else sqlite
        b = self.t.budgets
        values = {
            "id": budget.id,
            "unit": budget.unit,
            "limit_amount": budget.limit_units,
            "period": budget.period,
            "scope": budget.scope(),
            "spent": 0,
            "period_start_us": -1,
        }
        stmt = mod.insert(b).values(values)
        excluded = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "limit_amount": excluded.limit_amount,
                "period": excluded.period,
                "scope": excluded.scope,
                "unit": excluded.unit,
                # a new unit makes the old spend meaningless
                "spent": sa.case((b.c.unit == excluded.unit, b.c.spent), else_=0),
            },
        )
        with self.store.errors("write budgets to"), self._write() as conn, conn.begin():
            conn.execute(stmt)

    def get_all(self) -> list[Budget]:
        with self.store.errors("read budgets from"), self._read() as conn:
            rows = conn.execute(sa.select(self.t.budgets).order_by(self.t.budgets.c.id))
            return [_budget(r) for r in rows]

    def delete(self, budget_id: str) -> None:
        with self.store.errors("write budgets to"), self._write() as conn, conn.begin():
            conn.execute(
                self.t.reservations.delete().where(self.t.reservations.c.budget_id == budget_id)
            )
            conn.execute(self.t.budgets.delete().where(self.t.budgets.c.id == budget_id))

    def _lock(
        self, conn: sa.Connection, ids: Sequence[str]
    ) -> dict[str, tuple[Budget, BudgetState]]:
        ordered = sorted(ids)
        rows = conn.exec_driver_sql(self._sql("lock", len(ordered)), tuple(ordered))
        return {r.id: (_budget(r), BudgetState(int(r.spent), int(r.period_start_us))) for r in rows}

    def _save(self, conn: sa.Connection, budget_id: str, state: BudgetState) -> None:
        conn.exec_driver_sql(self._sql("save"), (state.spent, state.period_start_us, budget_id))

    def _reserved(self, conn: sa.Connection, ids: Sequence[str], now_us: int) -> dict[str, int]:
        rows = conn.exec_driver_sql(self._sql("reserved", len(ids)), (*ids, now_us))
        return {bid: int(total) for bid, total in rows}

    def reserve(
        self, reservation_id: str, amounts: Mapping[str, int], expires: datetime, now: datetime
    ) -> None:
        now_us = _us(now)
        ids = list(amounts)
        with self.store.errors("reserve budget in"), self._write() as conn, conn.begin():
            locked = self._lock(conn, ids)
            # lapsed holds of crashed processes: delete so the table does not grow forever
            conn.exec_driver_sql(self._sql("lapsed", len(ids)), (*ids, now_us))
            reserved = self._reserved(conn, ids, now_us)
            for bid in sorted(amounts):
                if bid not in locked:
                    raise unknown_budget(bid)
                budget, state = locked[bid]
                rolled = roll(budget, state, now)
                check(budget, rolled, reserved.get(bid, 0), amounts[bid], now)
                if rolled != state:
                    self._save(conn, bid, rolled)
            until = _us(expires)
            conn.exec_driver_sql(
                self._sql("hold"), [(reservation_id, bid, a, until) for bid, a in amounts.items()]
            )

    def settle(self, reservation_id: str, amounts: Mapping[str, int], now: datetime) -> None:
        with self.store.errors("settle budget in"), self._write() as conn, conn.begin():
            locked = self._lock(conn, list(amounts))
            for bid, amount in amounts.items():
                if bid not in locked:
                    continue  # deleted meanwhile: nothing left to charge
                budget, state = locked[bid]
                rolled = roll(budget, state, now)
                self._save(conn, bid, BudgetState(rolled.spent + amount, rolled.period_start_us))
            conn.exec_driver_sql(self._sql("drop"), (reservation_id,))

    def release(self, reservation_id: str) -> None:
        with self.store.errors("release budget in"), self._write() as conn, conn.begin():
            conn.exec_driver_sql(self._sql("drop"), (reservation_id,))

    def status(self, budget_id: str, now: datetime) -> BudgetStatus:
        with self.store.errors("read budgets from"), self._read() as conn:
            row = conn.execute(
                sa.select(self.t.budgets).where(self.t.budgets.c.id == budget_id)
            ).first()
            if row is None:
                raise unknown_budget(budget_id)
            reserved = self._reserved(conn, [budget_id], _us(now)).get(budget_id, 0)
            state = BudgetState(int(row.spent), int(row.period_start_us))
            return status_of(_budget(row), state, reserved, now)
