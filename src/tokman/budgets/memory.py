"""Budgets in process memory: the reference `BudgetStore` (one lock, plain dicts)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime

from tokman._units import to_us
from tokman.budgets._core import (
    Budget,
    BudgetState,
    BudgetStatus,
    BudgetStore,
    check,
    roll,
    status_of,
    unknown_budget,
)

__all__ = ["MemoryBudgetStore"]


class MemoryBudgetStore(BudgetStore):
    """Budgets for one process (tests, scripts); thread-safe, gone when the process exits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budgets: dict[str, Budget] = {}
        self._state: dict[str, BudgetState] = {}
        # reservation id -> budget id -> (amount, expires_us)
        self._held: dict[str, dict[str, tuple[int, int]]] = {}

    def put(self, budget: Budget) -> None:
        with self._lock:
            old = self._budgets.get(budget.id)
            if old is None or old.unit != budget.unit:
                self._state[budget.id] = BudgetState(0, -1)
            self._budgets[budget.id] = budget

    def get_all(self) -> list[Budget]:
        with self._lock:
            return sorted(self._budgets.values(), key=lambda b: b.id)

    def delete(self, budget_id: str) -> None:
        with self._lock:
            self._budgets.pop(budget_id, None)
            self._state.pop(budget_id, None)
            for held in self._held.values():
                held.pop(budget_id, None)

    def _reserved(self, budget_id: str, now_us: int) -> int:
        return sum(
            amount
            for held in self._held.values()
            for bid, (amount, expires) in held.items()
            if bid == budget_id and expires > now_us
        )

    def reserve(
        self, reservation_id: str, amounts: Mapping[str, int], expires: datetime, now: datetime
    ) -> None:
        now_us = to_us(now)
        with self._lock:
            for bid in sorted(amounts):
                budget = self._budgets.get(bid)
                if budget is None:
                    raise unknown_budget(bid)
                state = roll(budget, self._state[bid], now)
                self._state[bid] = state
                check(budget, state, self._reserved(bid, now_us), amounts[bid], now)
            self._held[reservation_id] = {b: (a, to_us(expires)) for b, a in amounts.items()}

    def settle(self, reservation_id: str, amounts: Mapping[str, int], now: datetime) -> None:
        with self._lock:
            self._held.pop(reservation_id, None)
            for bid, amount in amounts.items():
                budget = self._budgets.get(bid)
                if budget is None:
                    continue  # deleted meanwhile: nothing left to charge
                state = roll(budget, self._state[bid], now)
                self._state[bid] = BudgetState(state.spent + amount, state.period_start_us)

    def release(self, reservation_id: str) -> None:
        with self._lock:
            self._held.pop(reservation_id, None)

    def status(self, budget_id: str, now: datetime) -> BudgetStatus:
        with self._lock:
            budget = self._budgets.get(budget_id)
            if budget is None:
                raise unknown_budget(budget_id)
            return status_of(
                budget, self._state[budget_id], self._reserved(budget_id, to_us(now)), now
            )
