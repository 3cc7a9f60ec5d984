"""One behavioural suite for budgets on every store (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from tokman import Budget, BudgetGuard
from tokman.budgets import period_bounds
from tokman.errors import BudgetExceededError, InvalidRequestError
from tokman.ledger import Ledger, UsageRecord
from tokman.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 5, 31, 23, 0, tzinfo=timezone.utc))


@pytest.fixture
def guard(ledger: Ledger, clock: FakeClock) -> BudgetGuard:
    return BudgetGuard(ledger, ttl=60, clock=clock)


def test_reserve_settle_release_accounting(guard: BudgetGuard) -> None:
    """Holds count as reserved; settling charges the actual amount; releasing charges nothing."""
    guard.add(Budget("t", 1000, unit="tokens"))
    a = guard.reserve(model="m", prompt_tokens=100, max_completion_tokens=200)
    b = guard.reserve(model="m", prompt_tokens=100, max_completion_tokens=100)
    s = guard.status("t")
    assert (s.spent, s.reserved, s.remaining) == (0, 500, 500)
    a.settle(tokens=250)
    b.release()
    s = guard.status("t")
    assert (s.spent, s.reserved, s.remaining) == (250, 0, 750)


def test_over_budget_error_names_spent_reserved_and_reset(
    guard: BudgetGuard, clock: FakeClock
) -> None:
    """BudgetExceededError carries the budget, spent, reserved, requested and the reset time."""
    budget = Budget("daily", 1000, unit="tokens", period="day")
    guard.add(budget)
    guard.reserve(prompt_tokens=600).settle(tokens=600)
    guard.reserve(prompt_tokens=300, ttl=7200)
    with pytest.raises(BudgetExceededError) as info:
        guard.reserve(prompt_tokens=101, max_completion_tokens=100)
    e = info.value
    assert (e.budget, e.limit, e.spent, e.reserved, e.requested) == (budget, 1000, 600, 300, 201)
    assert e.resets_at == datetime(2025, 6, 1, tzinfo=timezone.utc)
    assert "spent 600 + reserved 300 + requested 201 > limit 1000 tokens" in str(e)
    assert "2025-06-01T00:00:00+00:00" in str(e)
    clock.advance(3600)  # the next day: spend restarts
    s = guard.status("daily")
    assert (s.spent, s.reserved) == (0, 300)
    guard.reserve(prompt_tokens=700)


def test_reservation_is_all_or_nothing_across_matching_budgets(guard: BudgetGuard) -> None:
    """A request under two budgets holds on both or, if one is full, on neither."""
    guard.add(Budget("team", 1000, unit="tokens", tags={"team": "a"}))
    guard.add(Budget("user", 100, unit="tokens", tags={"user": "ann"}))
    guard.add(Budget("other-model", 1, unit="tokens", model="o3"))
    guard.add(Budget("other-deployment", 1, unit="tokens", deployment="eu"))
    with pytest.raises(BudgetExceededError) as info:
        guard.reserve(model="gpt-4o", prompt_tokens=150, tags={"team": "a", "user": "ann"})
    assert info.value.budget.id == "user"
    assert guard.status("team").reserved == 0
    hold = guard.reserve(model="gpt-4o", prompt_tokens=150, tags={"team": "a", "user": "bob"})
    assert set(hold.amounts) == {"team"}
    assert guard.status("team").reserved == 150


def test_expired_reservations_stop_counting(guard: BudgetGuard, clock: FakeClock) -> None:
    """A crashed process's hold lapses after its ttl and the room comes back."""
    guard.add(Budget("t", 100, unit="tokens"))
    guard.reserve(prompt_tokens=100)  # never settled: the process "crashed"
    with pytest.raises(BudgetExceededError):
        guard.reserve(prompt_tokens=1)
    clock.advance(61)
    assert guard.status("t").reserved == 0
    guard.reserve(prompt_tokens=100, ttl=5).settle(tokens=40)
    assert guard.status("t").spent == 40


def test_usd_budget_with_records(guard: BudgetGuard, ledger: Ledger) -> None:
    """USD holds use the given worst case; settling with a record charges its cost and stores it."""
    guard.add(Budget("usd", "0.010", period="month"))
    hold = guard.reserve(model="gpt-4o", prompt_tokens=1000, cost=Decimal("0.006"))
    assert guard.status("usd").reserved == Decimal("0.006")
    with pytest.raises(BudgetExceededError, match=r"limit 0\.01 USD"):
        guard.reserve(model="gpt-4o", cost=Decimal("0.0041"))
    record = UsageRecord(id="call-1", model="gpt-4o", prompt_tokens=1000, cost=Decimal("0.0025"))
    hold.settle(record)
    s = guard.status("usd")
    assert (s.spent, s.reserved, s.remaining) == (Decimal("0.0025"), 0, Decimal("0.0075"))
    assert [r.id for r in ledger.query()] == ["call-1"]
    assert s.resets_at == datetime(2025, 6, 1, tzinfo=timezone.utc)


def test_context_manager_releases_on_error_and_charges_unsettled(guard: BudgetGuard) -> None:
    """An exception releases the hold; leaving the block unsettled charges the worst case."""
    guard.add(Budget("t", 1000, unit="tokens"))
    with pytest.raises(RuntimeError), guard.reserve(prompt_tokens=300):
        raise RuntimeError("API call failed")
    assert (guard.status("t").spent, guard.status("t").reserved) == (0, 0)
    with guard.reserve(prompt_tokens=300, max_completion_tokens=100):
        pass
    assert guard.status("t").spent == 400


def test_settling_twice_is_refused(guard: BudgetGuard) -> None:
    """A reservation is settled once; a second settle raises instead of double charging."""
    guard.add(Budget("t", 1000, unit="tokens"))
    hold = guard.reserve(prompt_tokens=10)
    hold.settle(tokens=10)
    with pytest.raises(InvalidRequestError, match="reservation"):
        hold.settle(tokens=10)
    hold.release()  # harmless after settling
    assert guard.status("t").spent == 10


def test_redefining_a_budget_keeps_its_spend(guard: BudgetGuard) -> None:
    """Raising a limit keeps what was spent; changing the unit starts from zero."""
    guard.add(Budget("t", 100, unit="tokens"))
    guard.reserve(prompt_tokens=80).settle(tokens=80)
    guard.add(Budget("t", 200, unit="tokens", tags={"team": "a"}))
    assert guard.status("t").spent == 80
    assert guard.budgets() == [Budget("t", 200, unit="tokens", tags={"team": "a"})]
    guard.add(Budget("t", Decimal(1)))
    assert guard.status("t").spent == 0
    guard.remove("t")
    assert guard.budgets() == []
    with pytest.raises(InvalidRequestError, match="budget_id"):
        guard.status("t")


def test_no_matching_budget_reserves_nothing(guard: BudgetGuard) -> None:
    """A request outside every budget's scope gets an empty hold and never fails."""
    guard.add(Budget("t", 1, unit="tokens", model="o3"))
    hold = guard.reserve(model="gpt-4o", prompt_tokens=10_000)
    assert hold.amounts == {}
    hold.settle(tokens=10_000)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 1.5}, "Budget.limit"),
        ({"limit": 10, "unit": "eur"}, "Budget.unit"),
        ({"limit": 10, "period": "week"}, "Budget.period"),
        ({"limit": Decimal("1.5"), "unit": "tokens"}, "Budget.limit"),
        ({"limit": -1}, "Budget.limit"),
    ],
)
def test_invalid_budgets_name_the_field(kwargs: dict[str, object], field: str) -> None:
    """Bad budget definitions raise InvalidRequestError naming the field."""
    with pytest.raises(InvalidRequestError, match=field):
        Budget("b", **kwargs)  # type: ignore[arg-type]


def test_period_bounds() -> None:
    """Hours, days and months are UTC calendar periods; 'none' has no bounds."""
    t = datetime(2024, 2, 29, 13, 45, tzinfo=timezone.utc)
    assert period_bounds("hour", t) == (t.replace(minute=0), t.replace(hour=14, minute=0))
    assert period_bounds("day", t)[1] == datetime(2024, 3, 1, tzinfo=timezone.utc)
    assert period_bounds("month", t) == (
        datetime(2024, 2, 1, tzinfo=timezone.utc),
        datetime(2024, 3, 1, tzinfo=timezone.utc),
    )
    assert period_bounds("none", t) == (None, None)


def test_usd_worst_case_comes_from_pricing(guard: BudgetGuard) -> None:
    """Without cost=, a USD hold is the priced cost of the prompt plus max completion tokens."""
    from tokman import pricing

    guard.add(Budget("usd", 100))
    hold = guard.reserve(model="gpt-4o", prompt_tokens=1000, max_completion_tokens=500)
    worst = pricing.cost({"prompt_tokens": 1000, "completion_tokens": 500}, model="gpt-4o").total
    assert guard.status("usd").reserved == worst
    hold.settle(UsageRecord(id="c1", model="gpt-4o", prompt_tokens=1000, completion_tokens=10))
    assert 0 < guard.status("usd").spent < worst
