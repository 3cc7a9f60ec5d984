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
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tokman._units import CHARGE, RESERVE, check_seconds, check_tags, check_tokens, check_usd
from tokman.budgets._core import (
    Budget,
    BudgetStatus,
    BudgetStore,
    period_bounds,
    to_units,
)
from tokman.errors import InvalidRequestError
from tokman.types import Clock, SystemClock

if TYPE_CHECKING:  # pragma: no cover
    from tokman.ledger import Ledger, UsageRecord

__all__ = ["Budget", "BudgetGuard", "BudgetStatus", "BudgetStore", "Reservation", "period_bounds"]

_log = logging.getLogger("tokman.budgets")
_MEMORY_STORES: weakref.WeakKeyDictionary[Any, BudgetStore] = weakref.WeakKeyDictionary()


def budget_store_for(ledger: Ledger) -> BudgetStore:
    """The budget store living beside ``ledger``'s records (same database)."""
    from tokman.ledger import Ledger
    from tokman.ledger.memory import MemoryStore

    if not isinstance(ledger, Ledger):
        raise InvalidRequestError(
            "target", ledger, "a Ledger (tokman.open_ledger(url)) or a BudgetStore"
        )
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


class _CallableClock:
    """A `Clock` over a plain ``() -> datetime`` (the clock argument before `tokman.types`)."""

    __slots__ = ("_now",)

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return self._now()


def _as_clock(clock: Any) -> Clock:
    if clock is None:
        return SystemClock()
    if isinstance(clock, Clock):
        return clock
    if callable(clock):
        return _CallableClock(clock)
    raise InvalidRequestError(
        "clock",
        clock,
        "a tokman.types.Clock (now() and monotonic()), e.g. tokman.testing.FakeClock",
    )


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
    ) -> UsageRecord | None:
        """`BudgetGuard.settle` this reservation."""
        assert self.guard is not None
        return self.guard.settle(self, record, tokens=tokens, cost=cost)

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
        ttl: Seconds a reservation holds before it lapses (covers a crashed process); a finite
            number > 0.
        clock: A `tokman.types.Clock` (``now()`` gives expiry and period times); tests pass
            `tokman.testing.FakeClock`. A plain ``() -> datetime`` callable is still accepted.
        definitions_ttl: Seconds `reserve` may reuse the budget *definitions* it last read
            (which budgets exist, their limits and scopes) instead of reading them again; 0
            (default) reads them on every reservation. `add` and `remove` on this guard drop
            the cache at once; a budget added or removed by another process takes effect here
            within this many seconds. Spend and holds are always read and written under the
            store's lock, so this never lets a matching budget be overspent.

    Raises:
        InvalidRequestError: ``target`` is neither a ledger nor a budget store, or ``ttl`` or
            ``clock`` is invalid.
    """

    def __init__(
        self,
        target: Ledger | BudgetStore,
        *,
        ttl: float = 600.0,
        clock: Clock | Callable[[], datetime] | None = None,
        definitions_ttl: float = 0.0,
    ) -> None:
        if isinstance(target, BudgetStore):
            self.store, self.ledger = target, None
        else:
            self.store, self.ledger = budget_store_for(target), target
        self.ttl = check_seconds(ttl, "ttl")
        self.clock: Clock = _as_clock(clock)
        self.definitions_ttl = check_seconds(definitions_ttl, "definitions_ttl", positive=False)
        self._definitions: tuple[float, list[Budget]] | None = None

    def _all(self) -> list[Budget]:
        """The budget definitions, from the cache while it is fresh (``definitions_ttl``)."""
        if self.definitions_ttl <= 0:
            return self.store.get_all()
        now = time.monotonic()
        cached = self._definitions
        if cached is not None and now - cached[0] < self.definitions_ttl:
            return cached[1]
        found = self.store.get_all()
        self._definitions = (now, found)
        return found

    def add(self, budget: Budget) -> None:
        """Create or redefine ``budget`` (its spend so far is kept)."""
        if not isinstance(budget, Budget):
            raise InvalidRequestError(
                "budget", budget, "a tokman.Budget, e.g. Budget('team-a', Decimal('25'))"
            )
        self._definitions = None
        self.store.put(budget)
        self._definitions = None

    def remove(self, budget_id: str) -> None:
        """Delete a budget and its reservations."""
        self._definitions = None
        self.store.delete(budget_id)
        self._definitions = None

    def budgets(self) -> list[Budget]:
        """Every budget, by id."""
        return self.store.get_all()

    def status(self, budget_id: str) -> BudgetStatus:
        """Spend and live reservations of one budget now."""
        return self.store.status(budget_id, self.clock.now())

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
        tokens (``tokman.pricing``; through ``deployment``'s Azure type when given). USD holds
        round up below a picodollar (`tokman._units.RESERVE`): a hold never under-reserves.

        Raises:
            BudgetExceededError: A matching budget has no room (nothing is held then).
            InvalidRequestError: A negative, float, bool or str count, a float, negative or
                non-finite ``cost``, a bad ``ttl`` or tags that are not str -> str.
            UnknownModelError: A USD budget applies and the model (or deployment) has no price
                (pass ``cost``).
        """
        prompt_tokens = check_tokens(prompt_tokens, "prompt_tokens")
        max_completion_tokens = check_tokens(max_completion_tokens, "max_completion_tokens")
        if cost is not None:
            cost = check_usd(cost, "cost")
        hold_for = self.ttl if ttl is None else check_seconds(ttl, "ttl")
        tags = check_tags(tags, "tags")
        matching = tuple(
            b for b in self._all() if b.applies_to(model=model, deployment=deployment, tags=tags)
        )
        worst_tokens = prompt_tokens + max_completion_tokens
        worst_cost = cost
        now = self.clock.now()
        if worst_cost is None and any(b.unit == "usd" for b in matching):
            worst_cost = _price(model, deployment, prompt_tokens, max_completion_tokens, now)
        amounts = {
            b.id: (
                worst_tokens
                if b.unit == "tokens"
                else to_units(b.unit, worst_cost or 0, rounding=RESERVE)
            )
            for b in matching
        }
        expires = now + timedelta(seconds=hold_for)
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
    ) -> UsageRecord | None:
        """Charge the call's real usage and free the rest of the hold.

        Pass the call's `UsageRecord` (stored in the guard's ledger too) or ``tokens``/``cost``
        (which, given with a record, override its numbers). A USD budget whose actual cost is
        unknown is charged the reserved worst case.

        The record is stored with the reservation's scope, so the ledger reports the spend
        under the same tags the budgets matched: the reservation's tags are added to the
        record's, and win where both set the same tag (a conflict is logged); the reservation's
        model and deployment fill in a record that lacks them. The charge is what the ledger
        *stored*: when the ledger already had the record's id (``duplicate=True``: a retried
        settle, the same response settled twice), the call is taken to be accounted for
        already, so this hold is released instead of charging it a second time, with a
        warning. Record a guarded call through ``settle`` only, not also ``ledger.record``
        first, or its spend never reaches the budget.

        Returns:
            The record as the ledger stored it (``duplicate=True`` if it was already there), or
            ``None`` when no record was given.

        Raises:
            InvalidRequestError: The reservation was already settled, or ``tokens``/``cost``
                are negative, floats, bools or non-finite, or ``record`` is not a UsageRecord.
        """
        self._check_open(reservation)
        if tokens is not None:
            tokens = check_tokens(tokens, "tokens")
        if cost is not None:
            cost = check_usd(cost, "cost")
        stored = None
        if record is not None:
            stored = self._store(reservation, record)
            if stored.duplicate:
                _log.warning(
                    "record %s was already in the ledger: reservation %s released, not charged "
                    "again (settle each response once; do not ledger.record it first)",
                    stored.id,
                    reservation.id,
                )
                self.release(reservation)
                return stored
            tokens = stored.total_tokens if tokens is None else tokens
            cost = stored.cost if cost is None else cost
        units = {}
        for b in reservation.budgets:
            actual: Decimal | int | None = tokens if b.unit == "tokens" else cost
            units[b.id] = (
                reservation.amounts[b.id]
                if actual is None
                else to_units(b.unit, actual, rounding=CHARGE)
            )
        self._settle_units(reservation, units)
        return stored

    def _store(self, reservation: Reservation, record: UsageRecord) -> UsageRecord:
        from tokman.ledger import UsageRecord

        if not isinstance(record, UsageRecord):
            raise InvalidRequestError("record", record, "a tokman.UsageRecord (or pass tokens=)")
        changes: dict[str, Any] = {}
        if reservation.tags and any(record.tags.get(k) != v for k, v in reservation.tags.items()):
            conflicts = {
                k: v
                for k, v in record.tags.items()
                if k in reservation.tags and reservation.tags[k] != v
            }
            if conflicts:
                _log.warning(
                    "record %s tags %s differ from reservation %s: the reservation's kept",
                    record.id,
                    conflicts,
                    reservation.id,
                )
            changes["tags"] = {**record.tags, **reservation.tags}
        if not record.model and reservation.model:
            changes["model"] = reservation.model
        if record.deployment is None and reservation.deployment is not None:
            changes["deployment"] = reservation.deployment
        if changes:
            record = record.replace(**changes)
        # stored in the guard's ledger too, so spend and the ledger agree
        return record.priced() if self.ledger is None else self.ledger.record(record)

    def _check_open(self, reservation: Reservation) -> None:
        if not isinstance(reservation, Reservation):
            raise InvalidRequestError(
                "reservation", reservation, "a Reservation from BudgetGuard.reserve()"
            )
        if reservation.done:
            raise InvalidRequestError(
                "reservation", reservation.id, "a reservation not yet settled"
            )

    def _settle_units(self, reservation: Reservation, units: Mapping[str, int]) -> None:
        self._check_open(reservation)
        if units:
            self.store.settle(reservation.id, units, self.clock.now())
        reservation.done = True

    def release(self, reservation: Reservation) -> None:
        """Free the hold without charging anything (the call failed before using tokens)."""
        if reservation.done:
            return
        if reservation.amounts:
            self.store.release(reservation.id)
        reservation.done = True


def _price(
    model: str | None,
    deployment: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    at: datetime,
) -> Decimal:
    from tokman.errors import UnknownModelError

    if not model and not deployment:
        raise InvalidRequestError("model", model, "a model name (or cost=) for a USD budget")
    try:
        from tokman.pricing import rates_for
    except ImportError as exc:  # pricing not available in this build
        raise UnknownModelError(
            str(model),
            kind="price for model",
            hint="Pass cost= to reserve() to give the worst case.",
        ) from exc
    rates = rates_for(model or "", at=at, deployment=deployment)
    return rates.total(prompt_tokens, 0, completion_tokens)
