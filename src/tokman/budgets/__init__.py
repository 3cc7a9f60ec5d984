"""Budgets that hold when many workers share them: reserve the worst case, settle the real cost.

>>> from tokman.budgets import Budget, BudgetGuard
>>> from tokman.ledger import open_ledger
>>> guard = BudgetGuard(open_ledger("memory://"))
>>> guard.add(Budget("demo", 1_000, unit="tokens"))
>>> with guard.reserve(model="gpt-4o", prompt_tokens=300, max_completion_tokens=500) as hold:
...     hold.settle(tokens=420)          # the call used 420 of the 800 reserved
>>> guard.status("demo").spent, guard.status("demo").reserved
(420, 0)
>>> guard.reserve(model="gpt-4o", prompt_tokens=300, max_completion_tokens=500)
... # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tokman.errors.BudgetExceededError: Budget 'demo' has no room for this request: spent 420 + ...

Budgets live in the ledger's database (`BudgetStore` is the small interface a Redis store will
implement for rate limiting): a hold is written atomically before the call, so twenty processes
cannot all see the same room, and it carries an expiry so a crashed process's hold lapses.
"""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tokman.budgets._core import (
    Budget,
    BudgetStatus,
    BudgetStore,
    period_bounds,
    to_units,
)
from tokman.errors import InvalidRequestError

if TYPE_CHECKING:  # pragma: no cover
    from tokman.ledger import Ledger, UsageRecord

__all__ = ["Budget", "BudgetGuard", "BudgetStatus", "BudgetStore", "Reservation", "period_bounds"]

_log = logging.getLogger("tokman.budgets")
_MEMORY_STORES: weakref.WeakKeyDictionary[Any, BudgetStore] = weakref.WeakKeyDictionary()


def budget_store_for(ledger: Ledger) -> BudgetStore:
    """The budget store living beside ``ledger``'s records (same database)."""
    from tokman.ledger.memory import MemoryStore

    store = ledger.store
    if isinstance(store, MemoryStore):
        found = _MEMORY_STORES.get(store)
        if found is None:
            from tokman.budgets.memory import MemoryBudgetStore

            found = _MEMORY_STORES[store] = MemoryBudgetStore()
        return found
    from tokman.budgets.sql import SqlBudgetStore
    from tokman.ledger.sql import SqlStore

    if isinstance(store, SqlStore):
        return SqlBudgetStore(store)
    raise InvalidRequestError("ledger", ledger, "a ledger opened with open_ledger()")


@dataclass
class Reservation:
    """A hold on every budget a request counts against; settle or release it exactly once.

    Used as a context manager: an exception inside the block releases the hold; leaving the
    block without settling charges the full reserved amount (a call whose cost is unknown is
    assumed to have cost its worst case, never silently dropped).
    """

    id: str
    amounts: Mapping[str, int]
    budgets: tuple[Budget, ...]
    expires_at: datetime
    model: str | None = None
    deployment: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    guard: BudgetGuard | None = field(default=None, repr=False)
    done: bool = False

    def settle(
        self,
        record: UsageRecord | None = None,
        *,
        tokens: int | None = None,
        cost: Decimal | None = None,
    ) -> None:
        """`BudgetGuard.settle` this reservation."""
        assert self.guard is not None
        self.guard.settle(self, record, tokens=tokens, cost=cost)

    def release(self) -> None:
        """`BudgetGuard.release` this reservation."""
        assert self.guard is not None
        self.guard.release(self)

    def __enter__(self) -> Reservation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.done:
            return
        if exc_type is not None:
            self.release()
        else:
            _log.warning("reservation %s left unsettled: charged its full worst case", self.id)
            assert self.guard is not None
            self.guard._settle_units(self, dict(self.amounts))


class BudgetGuard:
    """Reserve, settle and release against every budget a request falls under.

    Args:
        target: A `Ledger` (budgets are kept in its database; settled records are also stored
            in it) or a `BudgetStore`.
        ttl: Seconds a reservation holds before it lapses (covers a crashed process).
        clock: Returns the current aware UTC time (tests pass a fake).
    """

    def __init__(
        self,
        target: Ledger | BudgetStore,
        *,
        ttl: float = 600.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if isinstance(target, BudgetStore):
            self.store, self.ledger = target, None
        else:
            self.store, self.ledger = budget_store_for(target), target
        self.ttl = ttl
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    def add(self, budget: Budget) -> None:
        """Create or redefine ``budget`` (its spend so far is kept)."""
        self.store.put(budget)

    def remove(self, budget_id: str) -> None:
        """Delete a budget and its reservations."""
        self.store.delete(budget_id)

    def budgets(self) -> list[Budget]:
        """Every budget, by id."""
        return self.store.get_all()

    def status(self, budget_id: str) -> BudgetStatus:
        """Spend and live reservations of one budget now."""
        return self.store.status(budget_id, self.clock())

    def reserve(
        self,
        *,
        model: str | None = None,
        prompt_tokens: int = 0,
        max_completion_tokens: int = 0,
        deployment: str | None = None,
        tags: Mapping[str, str] | None = None,
        cost: Decimal | None = None,
        ttl: float | None = None,
    ) -> Reservation:
        """Hold the request's worst case on every matching budget, atomically (all or none).

        The worst case is ``prompt_tokens + max_completion_tokens`` for token budgets and, for
        USD budgets, ``cost`` if given, else the priced cost of that many input and output
        tokens (``tokman.pricing``).

        Raises:
            BudgetExceededError: A matching budget has no room (nothing is held then).
            UnknownModelError: A USD budget applies and the model has no price (pass ``cost``).
        """
        tags = dict(tags or {})
        matching = tuple(
            b
            for b in self.store.get_all()
            if b.applies_to(model=model, deployment=deployment, tags=tags)
        )
        worst_tokens = prompt_tokens + max_completion_tokens
        worst_cost = cost
        if worst_cost is None and any(b.unit == "usd" for b in matching):
            worst_cost = _price(model, prompt_tokens, max_completion_tokens)
        amounts = {
            b.id: to_units(b.unit, worst_tokens if b.unit == "tokens" else worst_cost or 0)
            for b in matching
        }
        now = self.clock()
        expires = now + timedelta(seconds=self.ttl if ttl is None else ttl)
        reservation = Reservation(
            id=uuid.uuid4().hex,
            amounts=amounts,
            budgets=matching,
            expires_at=expires,
            model=model,
            deployment=deployment,
            tags=tags,
            guard=self,
        )
        if amounts:
            self.store.reserve(reservation.id, amounts, expires, now)
        return reservation

    def settle(
        self,
        reservation: Reservation,
        record: UsageRecord | None = None,
        *,
        tokens: int | None = None,
        cost: Decimal | None = None,
    ) -> None:
        """Charge the call's real usage and free the rest of the hold.

        Pass the call's `UsageRecord` (also stored in the guard's ledger) or ``tokens``/``cost``.
        A USD budget whose actual cost is unknown is charged the reserved worst case.
        """
        if record is not None:
            # stored in the guard's ledger too, so spend and the ledger agree
            record = record.priced() if self.ledger is None else self.ledger.record(record)
            tokens = record.total_tokens if tokens is None else tokens
            cost = record.cost if cost is None else cost
        units = {}
        for b in reservation.budgets:
            actual: Decimal | int | None = tokens if b.unit == "tokens" else cost
            units[b.id] = reservation.amounts[b.id] if actual is None else to_units(b.unit, actual)
        self._settle_units(reservation, units)

    def _settle_units(self, reservation: Reservation, units: Mapping[str, int]) -> None:
        if reservation.done:
            raise InvalidRequestError(
                "reservation", reservation.id, "a reservation not yet settled"
            )
        if units:
            self.store.settle(reservation.id, units, self.clock())
        reservation.done = True

    def release(self, reservation: Reservation) -> None:
        """Free the hold without charging anything (the call failed before using tokens)."""
        if reservation.done:
            return
        if reservation.amounts:
            self.store.release(reservation.id)
        reservation.done = True


def _price(model: str | None, prompt_tokens: int, completion_tokens: int) -> Decimal:
    from tokman.errors import UnknownModelError

    if not model:
        raise InvalidRequestError("model", model, "a model name (or cost=) for a USD budget")
    try:
        from tokman import pricing
    except ImportError as exc:  # pricing not available in this build
        raise UnknownModelError(
            model, kind="price for model", hint="Pass cost= to reserve() to give the worst case."
        ) from exc
    result = pricing.cost(
        {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}, model=model
    )
    return Decimal(result.total)
