"""Budgets as data, and the pure decisions every budget store shares (no I/O here).

A store only has to load a budget's row under a lock, call `roll` and `check`, and write the
result back: the arithmetic of periods and limits lives here once, so the memory, SQL and (later)
Redis stores cannot disagree about when a budget is exceeded or when its period resets.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tokman._units import (
    CHARGE,
    check_tags,
    check_tokens,
    check_usd,
    to_us,
    usd_from_units,
    usd_to_units,
)
from tokman.errors import BudgetExceededError, InvalidRequestError

__all__ = [
    "PERIODS",
    "UNITS",
    "Budget",
    "BudgetState",
    "BudgetStatus",
    "BudgetStore",
    "check",
    "period_bounds",
    "roll",
]

PERIODS = ("hour", "day", "month", "none")
UNITS = ("usd", "tokens")

#: The stored time of a datetime (the name the budget stores import; `tokman._units.to_us`).
_us = to_us


@dataclass(frozen=True)
class Budget:
    """A spending limit over a scope and a period.

    The scope is every request whose model, deployment and tags match the budget's (fields left
    ``None``/empty match anything), so ``Budget("acme", 100, tags={"tenant": "acme"})`` caps one
    tenant across all models and ``Budget("all", 1000)`` caps everything.

    Args:
        id: Unique name of the budget.
        limit: The cap: USD (Decimal, int or str) or tokens (int), per ``unit``.
        unit: ``"usd"`` or ``"tokens"``.
        period: ``"hour"``, ``"day"``, ``"month"`` (calendar, UTC) or ``"none"`` (never resets).
        model: Only requests to this model count.
        deployment: Only requests to this Azure deployment count.
        tags: Only requests carrying all these tags count.

    >>> Budget("team-a", "25.50", period="day", tags={"team": "a"}).limit
    Decimal('25.50')
    >>> Budget("t", 1000, unit="tokens").applies_to(model="gpt-4o", tags={"team": "b"})
    True
    """

    id: str
    limit: Decimal | int
    unit: str = "usd"
    period: str = "none"
    model: str | None = None
    deployment: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InvalidRequestError("Budget.id", self.id, "a non-empty string")
        if self.unit not in UNITS:
            raise InvalidRequestError("Budget.unit", self.unit, f"one of {UNITS}")
        if self.period not in PERIODS:
            raise InvalidRequestError("Budget.period", self.period, f"one of {PERIODS}")
        limit: Decimal | int
        if self.unit == "usd":
            limit = check_usd(self.limit, "Budget.limit")
        else:
            limit = check_tokens(self.limit, "Budget.limit")
        object.__setattr__(self, "limit", limit)
        object.__setattr__(self, "tags", check_tags(self.tags, "Budget.tags"))

    @property
    def limit_units(self) -> int:
        """The limit in stored integer units (tokens, or 1e-12 USD)."""
        return to_units(self.unit, self.limit)

    def applies_to(
        self,
        *,
        model: str | None = None,
        deployment: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> bool:
        """Whether a request with these attributes counts against this budget."""
        tags = tags or {}
        return (
            (self.model is None or self.model == model)
            and (self.deployment is None or self.deployment == deployment)
            and all(tags.get(k) == v for k, v in self.tags.items())
        )

    def scope(self) -> dict[str, object]:
        """The scope as a JSON-ready dict (how stores persist it)."""
        return {"model": self.model, "deployment": self.deployment, "tags": dict(self.tags)}


def to_units(unit: str, value: Decimal | int, *, rounding: str = CHARGE) -> int:
    """A USD or token amount in stored integer units (tokens, or 1e-12 USD).

    USD rounds by ``rounding``: `CHARGE` (half-even, as the ledger stores costs, so spend and
    the ledger agree) for limits and settlements, `RESERVE` (up) for reservations.
    """
    if unit == "tokens":
        return int(value)
    return usd_to_units(value, rounding=rounding)


def from_units(unit: str, units: int) -> Decimal | int:
    """Stored integer units back to USD (Decimal) or tokens (int)."""
    if unit == "tokens":
        return units
    return usd_from_units(units)


def period_bounds(period: str, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The UTC start and end of the period containing ``now`` (``None`` for ``"none"``).

    >>> period_bounds("month", datetime(2025, 12, 31, 23, 59, tzinfo=timezone.utc))[1]
    datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    now = now.astimezone(timezone.utc)
    if period == "none":
        return None, None
    if period == "hour":
        start = now.replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    if period == "day":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


@dataclass(frozen=True)
class BudgetState:
    """What a store keeps per budget: spend in the current period and when that period began."""

    spent: int
    period_start_us: int


def roll(budget: Budget, state: BudgetState, now: datetime) -> BudgetState:
    """The state at ``now``: spend restarts at zero when a new period has begun."""
    start, _ = period_bounds(budget.period, now)
    start_us = 0 if start is None else _us(start)
    if start_us != state.period_start_us:
        return BudgetState(0, start_us)
    return state


def check(budget: Budget, state: BudgetState, reserved: int, requested: int, now: datetime) -> None:
    """Raise `BudgetExceededError` unless ``requested`` fits beside spend and reservations."""
    if state.spent + reserved + requested <= budget.limit_units:
        return
    raise BudgetExceededError(
        budget,
        limit=from_units(budget.unit, budget.limit_units),
        spent=from_units(budget.unit, state.spent),
        reserved=from_units(budget.unit, reserved),
        requested=from_units(budget.unit, requested),
        unit="USD" if budget.unit == "usd" else "tokens",
        resets_at=period_bounds(budget.period, now)[1],
    )


@dataclass(frozen=True)
class BudgetStatus:
    """A budget's standing at one moment (amounts in the budget's unit)."""

    budget: Budget
    spent: Decimal | int
    reserved: Decimal | int
    period_start: datetime | None
    resets_at: datetime | None

    @property
    def remaining(self) -> Decimal | int:
        """What can still be reserved."""
        return self.budget.limit - self.spent - self.reserved


def status_of(budget: Budget, state: BudgetState, reserved: int, now: datetime) -> BudgetStatus:
    """`BudgetStatus` from a store's raw numbers."""
    state = roll(budget, state, now)
    start, end = period_bounds(budget.period, now)
    return BudgetStatus(
        budget, from_units(budget.unit, state.spent), from_units(budget.unit, reserved), start, end
    )


class BudgetStore(abc.ABC):
    """Where budgets, their spend and in-flight reservations live.

    The five operations below are the whole vocabulary; each must be atomic across processes
    (a SQL transaction holding the budgets' row locks, or a Lua script in Redis). Amounts are
    integer units (tokens, or 1e-12 USD) keyed by budget id; times are aware UTC datetimes.
    """

    @abc.abstractmethod
    def put(self, budget: Budget) -> None:
        """Create or redefine a budget (spend is kept unless the unit changes)."""

    @abc.abstractmethod
    def get_all(self) -> list[Budget]:
        """Every budget, by id."""

    @abc.abstractmethod
    def delete(self, budget_id: str) -> None:
        """Remove a budget and its reservations."""

    @abc.abstractmethod
    def reserve(
        self, reservation_id: str, amounts: Mapping[str, int], expires: datetime, now: datetime
    ) -> None:
        """Reserve every amount, or none: raise `BudgetExceededError` if any would not fit.

        Reservations past their expiry no longer count (a crashed process's hold lapses).
        """

    @abc.abstractmethod
    def settle(self, reservation_id: str, amounts: Mapping[str, int], now: datetime) -> None:
        """Drop the reservation and add the actual ``amounts`` to the budgets' spend."""

    @abc.abstractmethod
    def release(self, reservation_id: str) -> None:
        """Drop the reservation without spending anything."""

    @abc.abstractmethod
    def status(self, budget_id: str, now: datetime) -> BudgetStatus:
        """The budget's spend and live reservations at ``now``."""


def unknown_budget(budget_id: str) -> InvalidRequestError:
    """The error for a budget id that is not defined."""
    return InvalidRequestError("budget_id", budget_id, "the id of a budget added with add()")


__all__ += ["from_units", "status_of", "to_units", "unknown_budget"]
