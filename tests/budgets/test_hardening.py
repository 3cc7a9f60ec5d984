"""Issue 10: budgets refuse bad input, settle what the ledger stored, under the hold's scope."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from tokman import Budget, BudgetGuard, models
from tokman.budgets.memory import MemoryBudgetStore
from tokman.errors import InvalidRequestError
from tokman.ledger import Ledger, UsageRecord, open_ledger
from tokman.testing import FakeClock, fake_response
from tokman.types import Clock, SystemClock

T0 = datetime(2025, 6, 10, 12, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def guard(ledger: Ledger, clock: FakeClock) -> BudgetGuard:
    g = BudgetGuard(ledger, ttl=60, clock=clock)
    g.add(Budget("usd", Decimal(10)))
    g.add(Budget("tok", 1_000, unit="tokens"))
    return g


def _spent(guard: BudgetGuard) -> tuple[Any, Any]:
    return guard.status("usd").spent, guard.status("tok").spent


@pytest.mark.parametrize(
    ("kwargs", "field", "fix"),
    [
        ({"tokens": -50_000, "cost": Decimal("-3")}, "tokens", ">= 0"),
        ({"tokens": 10, "cost": Decimal("-3")}, "cost", ">= 0"),
        ({"tokens": 10, "cost": 0.1}, "cost", "Decimal('0.1')"),
        ({"tokens": 10, "cost": Decimal("NaN")}, "cost", "finite"),
        ({"tokens": 10, "cost": Decimal("Infinity")}, "cost", "finite"),
        ({"tokens": 1.5, "cost": Decimal(0)}, "tokens", "int"),
        ({"tokens": True, "cost": Decimal(0)}, "tokens", "int"),
    ],
)
def test_settle_refuses_negative_float_and_non_finite_amounts(
    guard: BudgetGuard, kwargs: dict[str, Any], field: str, fix: str
) -> None:
    """settle(tokens=-50000, cost=Decimal('-3')) used to leave spent at -3 USD."""
    hold = guard.reserve(model="gpt-4o", prompt_tokens=100, cost=Decimal(1))
    with pytest.raises(InvalidRequestError) as caught:
        hold.settle(**kwargs)
    assert caught.value.field == field and fix in str(caught.value)
    assert _spent(guard) == (0, 0)
    hold.settle(tokens=10, cost=Decimal("0.5"))  # still open: the bad call changed nothing
    assert _spent(guard) == (Decimal("0.5"), 10)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cost": Decimal("-5")}, "cost"),
        ({"cost": 0.5}, "cost"),
        ({"cost": Decimal("sNaN")}, "cost"),
        ({"prompt_tokens": "100"}, "prompt_tokens"),
        ({"prompt_tokens": -100}, "prompt_tokens"),
        ({"max_completion_tokens": 2.0}, "max_completion_tokens"),
        ({"ttl": -1}, "ttl"),
        ({"tags": ["team"]}, "tags"),
    ],
)
def test_reserve_refuses_bad_amounts(
    guard: BudgetGuard, kwargs: dict[str, Any], field: str
) -> None:
    """reserve(cost=Decimal('-5')) used to free room; reserve(prompt_tokens='100') a raw error."""
    with pytest.raises(InvalidRequestError) as caught:
        guard.reserve(model="gpt-4o", **kwargs)
    assert caught.value.field == field
    assert (guard.status("usd").reserved, guard.status("tok").reserved) == (0, 0)


@pytest.mark.parametrize("ttl", [-1, 0, float("nan"), float("inf"), "600", True])
def test_ttl_must_be_positive_and_finite(ledger: Ledger, ttl: Any) -> None:
    """BudgetGuard(ledger, ttl=-1) used to let three 900-token holds onto a 1,000 budget."""
    with pytest.raises(InvalidRequestError, match="ttl"):
        BudgetGuard(ledger, ttl=ttl)


def test_negative_ttl_can_no_longer_overbook(ledger: Ledger) -> None:
    """The scenario of the issue: with a valid ttl the second 900-token hold is refused."""
    from tokman.errors import BudgetExceededError

    guard = BudgetGuard(ledger, ttl=30, clock=FakeClock(T0))
    guard.add(Budget("t", 1_000, unit="tokens"))
    guard.reserve(prompt_tokens=900)
    with pytest.raises(BudgetExceededError):
        guard.reserve(prompt_tokens=900)


def test_bad_target_budget_and_clock_are_typed_errors(ledger: Ledger) -> None:
    """BudgetGuard(None), guard.add('x') and a non-clock name the argument."""
    with pytest.raises(InvalidRequestError) as caught:
        BudgetGuard(None)  # type: ignore[arg-type]
    assert caught.value.field == "target"
    guard = BudgetGuard(ledger)
    with pytest.raises(InvalidRequestError) as caught:
        guard.add("x")  # type: ignore[arg-type]
    assert caught.value.field == "budget"
    with pytest.raises(InvalidRequestError, match="clock"):
        BudgetGuard(ledger, clock=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="reservation"):
        guard.settle("r1", tokens=1)  # type: ignore[arg-type]


def test_guard_reads_time_from_its_clock() -> None:
    """The hold's expiry comes from the Clock; a plain () -> datetime callable still works."""
    clock = FakeClock(T0)
    guard = BudgetGuard(MemoryBudgetStore(), ttl=30, clock=clock)
    assert isinstance(guard.clock, Clock) and guard.clock is clock
    guard.add(Budget("t", 10, unit="tokens"))
    hold = guard.reserve(prompt_tokens=10)
    assert hold.expires_at == datetime(2025, 6, 10, 12, 0, 30, tzinfo=timezone.utc)
    clock.advance(31)
    assert guard.status("t").reserved == 0
    legacy = BudgetGuard(MemoryBudgetStore(), clock=lambda: T0)
    assert legacy.clock.now() == T0
    assert isinstance(BudgetGuard(MemoryBudgetStore()).clock, SystemClock)


def test_settled_record_carries_the_reservation_scope(guard: BudgetGuard, ledger: Ledger) -> None:
    """A record without tags is stored with the hold's tags (so reports match the budget),
    plus the hold's model and deployment when it lacks them; the hold's tags win conflicts."""
    guard.add(Budget("acme", Decimal(5), tags={"tenant": "acme"}))
    hold = guard.reserve(
        model="gpt-4o", deployment="eu-1", prompt_tokens=100, cost=Decimal(1),
        tags={"tenant": "acme", "user": "ann"},
    )  # fmt: skip
    response = fake_response(model="", prompt_tokens=100, completion_tokens=10, id="chatcmpl-t")
    record = UsageRecord.from_response(response, tags={"feature": "chat", "user": "bob"})
    stored = hold.settle(record.replace(cost=Decimal("0.25")))
    assert stored is not None
    assert stored.tags == {"tenant": "acme", "user": "ann", "feature": "chat"}
    assert (stored.model, stored.deployment) == ("gpt-4o", "eu-1")
    [row] = ledger.summary(group_by=["tag:tenant"])
    assert (row.group, row.cost) == ({"tag:tenant": "acme"}, Decimal("0.25"))
    assert guard.status("acme").spent == Decimal("0.25")


def test_settle_charges_the_stored_record_not_the_argument(
    guard: BudgetGuard, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the ledger returns is what was stored, so that is what the budget is charged."""
    stored_copy = UsageRecord(id="c1", model="gpt-4o", prompt_tokens=40, cost=Decimal("0.2"))
    monkeypatch.setattr(ledger, "record", lambda record: stored_copy)
    hold = guard.reserve(model="gpt-4o", prompt_tokens=500, cost=Decimal(2))
    hold.settle(UsageRecord(id="c1", model="gpt-4o", prompt_tokens=400, cost=Decimal("1.5")))
    assert _spent(guard) == (Decimal("0.2"), 40)


def test_a_duplicate_record_releases_the_hold_instead_of_charging_again(
    guard: BudgetGuard,
    ledger: Ledger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Settling a response id the ledger already had (duplicate=True) charges it only once."""
    record = UsageRecord(id="chatcmpl-x", model="gpt-4o", prompt_tokens=100, cost=Decimal(1))
    first = guard.reserve(model="gpt-4o", prompt_tokens=100, cost=Decimal(1))
    first.settle(record)
    assert _spent(guard) == (Decimal(1), 100)
    real = ledger.record
    seen = {r.id: r for r in ledger.query()}

    def record_once(r: UsageRecord) -> UsageRecord:  # what the backends' Ledger.record does
        if r.id in seen:
            return seen[r.id].replace(duplicate=True)
        return real(r)

    monkeypatch.setattr(ledger, "record", record_once)
    again = guard.reserve(model="gpt-4o", prompt_tokens=100, cost=Decimal(1))
    with caplog.at_level("WARNING", logger="tokman.budgets"):
        stored = again.settle(record)
    assert "chatcmpl-x was already in the ledger" in caplog.text
    assert stored is not None and stored.duplicate
    assert _spent(guard) == (Decimal(1), 100)
    assert (guard.status("usd").reserved, guard.status("tok").reserved) == (0, 0)
    assert again.done


def test_settling_twice_does_not_store_the_second_record(
    guard: BudgetGuard, ledger: Ledger
) -> None:
    """The reservation is checked before anything is written."""
    hold = guard.reserve(model="gpt-4o", prompt_tokens=10, cost=Decimal(1))
    hold.settle(tokens=10, cost=Decimal(0))
    with pytest.raises(InvalidRequestError, match="reservation"):
        hold.settle(UsageRecord(id="late", model="gpt-4o", prompt_tokens=10))
    assert ledger.query() == []


def test_budget_spend_equals_the_ledger_to_the_picodollar(
    guard: BudgetGuard, ledger: Ledger
) -> None:
    """Charges round like stored costs (half-even), so spend and the ledger's sum agree."""
    for i, text in enumerate(("0.0000000000025", "0.0000000000035", "0.1000000000005")):
        hold = guard.reserve(model="gpt-4o", prompt_tokens=1, cost=Decimal(1))
        hold.settle(UsageRecord(id=f"p{i}", model="gpt-4o", prompt_tokens=1, cost=Decimal(text)))
    [row] = ledger.summary()
    assert guard.status("usd").spent == row.cost == Decimal("0.100000000006")


def test_reservations_round_up_and_price_through_the_deployment(guard: BudgetGuard) -> None:
    """A USD hold rounds up below a picodollar and prices an Azure deployment at its type."""
    hold = guard.reserve(model="gpt-4o", prompt_tokens=1, cost=Decimal("0.0000000000011"))
    assert guard.status("usd").reserved == Decimal("0.000000000002")
    hold.release()
    models.register_deployment("dz", model="gpt-4o", deployment_type="DataZoneStandard")
    ledger = open_ledger("memory://")
    g = BudgetGuard(ledger, clock=FakeClock(datetime(2025, 1, 1, tzinfo=timezone.utc)))
    g.add(Budget("usd", Decimal(10)))
    g.reserve(model="gpt-4o", deployment="dz", prompt_tokens=1_000_000)
    assert g.status("usd").reserved == Decimal("2.75")
