"""tokman._units: one rounding rule for money, one conversion for time, one set of value checks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tokman import _units
from tokman._units import (
    RESERVE,
    check_seconds,
    check_tags,
    check_tokens,
    check_usd,
    from_us,
    to_us,
    usd_from_units,
    usd_to_units,
)
from tokman.errors import InvalidRequestError

PICO = Decimal("0.000000000001")


def test_charges_round_half_even_and_reservations_round_up() -> None:
    """Below a picodollar: half-even by default (ties to even), up only when asked (RESERVE)."""
    assert usd_to_units(Decimal("1.5") * PICO) == 2
    assert usd_to_units(Decimal("2.5") * PICO) == 2
    assert usd_to_units(Decimal("2.51") * PICO) == 3
    assert usd_to_units(Decimal("2.01") * PICO, rounding=RESERVE) == 3
    assert usd_to_units(Decimal("2.5")) == 2_500_000_000_000
    assert usd_to_units(3) == 3 * 10**12


def test_units_round_trip_tidy() -> None:
    """from_units inverts to_units and gives tidy Decimals (no trailing zeros, no exponent)."""
    for text in ("0.0035", "12.5", "0.000001", "1000000"):
        amount = Decimal(text)
        back = usd_from_units(usd_to_units(amount))
        assert back == amount and str(back) == text
    assert usd_from_units(1) == PICO
    assert usd_from_units(0) == 0


def test_ledger_and_budgets_use_these_converters() -> None:
    """The old names in ledger and budgets are this module's functions, not copies."""
    from tokman.budgets import _core
    from tokman.ledger import _base, _record

    assert _base.cost_to_int is usd_to_units and _base.cost_from_int is usd_from_units
    assert _base.COST_SCALE == _units.USD_SCALE
    assert _record.to_us is to_us and _record.from_us is from_us
    assert _record.as_utc is _units.as_utc and _core._us is to_us
    assert _core.to_units("usd", Decimal("2.5") * PICO) == 2
    assert _core.to_units("usd", Decimal("2.5") * PICO, rounding=RESERVE) == 3
    assert _core.to_units("tokens", 7) == 7


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        (0.1, "Decimal('0.1')"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (Decimal("-3"), ">= 0"),
        (-1, ">= 0"),
        (True, "Decimal"),
        (None, "Decimal"),
        ("lots", "Decimal"),
        ([1], "Decimal"),
    ],
)
def test_bad_money_is_refused_naming_field_value_and_fix(value: object, fix: str) -> None:
    """Floats, NaN, infinities, negatives, bools and junk are InvalidRequestError with a fix."""
    with pytest.raises(InvalidRequestError) as caught:
        check_usd(value, "cost")
    assert caught.value.field == "cost"
    assert fix in str(caught.value)


def test_good_money_is_decimal() -> None:
    """Decimal, int and numeric str are accepted as exact Decimals."""
    assert check_usd(Decimal("0.10"), "c") == Decimal("0.10")
    assert check_usd(2, "c") == Decimal(2) and type(check_usd(2, "c")) is Decimal
    assert check_usd(" 0.5 ", "c") == Decimal("0.5")


@pytest.mark.parametrize("value", [-1, 1.0, True, "100", None, Decimal(3)])
def test_bad_token_counts_are_refused(value: object) -> None:
    """Token counts are ints >= 0: no bools, floats, strings or Decimals."""
    with pytest.raises(InvalidRequestError, match="prompt_tokens"):
        check_tokens(value, "prompt_tokens")
    assert check_tokens(0, "x") == 0


@pytest.mark.parametrize("value", [-1, 0, float("nan"), float("inf"), "5", True, None])
def test_seconds_must_be_positive_and_finite(value: object) -> None:
    """A ttl-like duration is a finite number > 0."""
    with pytest.raises(InvalidRequestError, match="ttl"):
        check_seconds(value, "ttl")
    assert check_seconds(0, "x", positive=False) == 0.0
    assert check_seconds(2, "x") == 2.0


def test_tags_must_map_str_to_str() -> None:
    """Tags are a mapping of str to str; None is no tags; a copy is returned."""
    original = {"a": "b"}
    assert check_tags(original, "tags") == original and check_tags(original, "t") is not original
    assert check_tags(None, "tags") == {}
    with pytest.raises(InvalidRequestError, match="mapping"):
        check_tags(["a"], "tags")
    with pytest.raises(InvalidRequestError, match=r"tags\['n'\]"):
        check_tags({"n": 1}, "tags")


def test_time_units() -> None:
    """Microseconds since the epoch, naive = UTC, other zones converted, exact round trip."""
    t = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=timezone.utc)
    assert from_us(to_us(t)) == t
    assert to_us(t.replace(tzinfo=None)) == to_us(t)
    assert to_us(t.astimezone(timezone(timedelta(hours=5)))) == to_us(t)
    assert to_us(datetime(1970, 1, 1, tzinfo=timezone.utc)) == 0


def test_exact_amounts_and_ties_below_a_picodollar() -> None:
    """Whole picodollars convert as they are; the rest round by the chosen rule, sign-safe."""
    assert usd_to_units(Decimal("0.003500000000")) == 3_500_000_000
    assert usd_to_units(Decimal("1E-12")) == 1
    assert usd_to_units(Decimal("0.5") * PICO) == 0
    assert usd_to_units(Decimal("0.5") * PICO, rounding=RESERVE) == 1
    assert usd_to_units(Decimal("123456789.123456789012")) == 123_456_789_123_456_789_012
