"""The units tokman stores and the one place their conversions and checks live.

Money: every stored or summed amount is an integer of **1e-12 USD** (a picodollar). That is exact
for every published per-token price and its cached, batch and Data Zone variants, and every
database sums integers without floating point. One rounding rule applies below a picodollar:

* **half-even** (banker's rounding) for amounts that *happened*: a record's cost in the ledger
  and the same cost charged to a budget. Both sides use this rule, so a budget's spend always
  equals the ledger's sum of the same records, to the picodollar;
* **up** (``ROUND_CEILING``) only for a *reservation*, a worst case held before a call: rounding
  it down could let a request through that does not fit. This is the one deliberate exception,
  chosen by the caller through ``usd_to_units(..., rounding=RESERVE)``.

Time: stored times are integer microseconds since the Unix epoch (UTC), exact and sortable on
every store; a naive datetime is taken to be UTC already.

The checks of these values live here too (`check_tokens`, `check_usd`, `check_seconds`,
`check_tags`), so a record, a budget, a reservation and a settlement refuse the same bad values
with the same message: floats as money (money is ``Decimal`` end to end), bools, NaN, infinities,
negative numbers, tags that are not str -> str.

This module imports only the standard library and `tokman.errors`: it is the bottom layer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Final

from tokman.errors import InvalidRequestError

__all__ = [
    "CHARGE",
    "EPOCH",
    "MAX_SECONDS",
    "RESERVE",
    "USD_SCALE",
    "as_utc",
    "check_seconds",
    "check_tags",
    "check_tokens",
    "check_usd",
    "from_us",
    "tidy",
    "to_us",
    "usd_from_units",
    "usd_to_units",
    "utc_date",
]

#: Integer units per USD in storage (1e-12 USD).
USD_SCALE: Final = 10**12
#: Rounding for amounts that happened (stored costs, settled charges): half-even.
CHARGE: Final = ROUND_HALF_EVEN
#: Rounding for worst cases held in advance (reservations): up, never under-reserve.
RESERVE: Final = ROUND_CEILING

_ONE = Decimal(1)
_ZERO = Decimal(0)

EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: The longest duration a check accepts: 100 years (longer ones overflow date arithmetic and
#: are a unit mistake, e.g. milliseconds passed as seconds, rather than a real wish).
MAX_SECONDS: Final = 100 * 365 * 86_400


# -- money --------------------------------------------------------------------------------------


def usd_to_units(amount: Decimal | int, *, rounding: str = CHARGE) -> int:
    """``amount`` USD in integer 1e-12 USD units.

    ``rounding`` is `CHARGE` (half-even, the default: costs stored and charged) or `RESERVE`
    (up: reservations); see the module docstring for why there are exactly these two.

    >>> usd_to_units(Decimal("0.0000000000015")), usd_to_units(Decimal("0.0000000000025"))
    (2, 2)
    >>> usd_to_units(Decimal("0.0000000000011"), rounding=RESERVE)
    2
    """
    if isinstance(amount, int):
        return amount * USD_SCALE
    scaled = amount.scaleb(12)  # exact: only the exponent moves
    whole = int(scaled)
    if whole == scaled:  # the usual case (prices have few decimals): no rounding to do
        return whole
    return int(scaled.quantize(_ONE, rounding=rounding))


def usd_from_units(units: int) -> Decimal:
    """The Decimal USD for integer 1e-12 USD ``units`` (inverse of `usd_to_units`), tidied.

    >>> usd_from_units(3_500_000_000), usd_from_units(0), usd_from_units(7 * USD_SCALE)
    (Decimal('0.0035'), Decimal('0'), Decimal('7'))
    """
    if not units:
        return _ZERO
    return tidy(Decimal(units).scaleb(-12))  # exact: no division


def tidy(amount: Decimal) -> Decimal:
    """``amount`` without trailing zeros, and whole amounts without an exponent (same value).

    >>> tidy(Decimal("0.0350000")), tidy(Decimal("2.000")), tidy(Decimal("1E+3"))
    (Decimal('0.035'), Decimal('2'), Decimal('1000'))
    """
    tidied = amount.normalize()
    # only a whole amount of 10 or more can come out with a positive exponent (1E+3)
    if tidied.adjusted() > 0 and tidied == tidied.to_integral_value():
        return tidied.quantize(_ONE)
    return tidied


def check_usd(value: Any, field: str, *, allow_str: bool = True) -> Decimal:
    """``value`` as a finite, non-negative ``Decimal`` USD amount, or a typed error.

    Accepts ``Decimal``, ``int`` and (unless ``allow_str=False``) a numeric ``str``; refuses
    floats (binary fractions are not cents: pass ``Decimal('0.1')``), bools, NaN, infinities and
    negative amounts.

    Raises:
        InvalidRequestError: naming ``field``, the value and the fix.
    """
    if type(value) is Decimal:
        amount = value
    elif isinstance(value, bool) or value is None:
        raise InvalidRequestError(field, value, "a Decimal amount of USD, e.g. Decimal('0.25')")
    elif isinstance(value, float):
        raise InvalidRequestError(
            field,
            value,
            f"a Decimal, never a float (binary floats are not exact money): pass "
            f"Decimal({str(value)!r})",
        )
    elif isinstance(value, (Decimal, int)):
        amount = Decimal(value)
    elif isinstance(value, str) and allow_str:
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidRequestError(
                field, value, "a Decimal amount of USD, e.g. Decimal('0.25')"
            ) from None
    else:
        raise InvalidRequestError(field, value, "a Decimal amount of USD, e.g. Decimal('0.25')")
    if not amount.is_finite():
        raise InvalidRequestError(field, value, "a finite amount of USD (not NaN or infinity)")
    if amount < 0:
        raise InvalidRequestError(
            field, value, "an amount >= 0 (a cost or a charge is never negative)"
        )
    return amount


def check_tokens(value: Any, field: str) -> int:
    """``value`` as a whole, non-negative token count, or a typed error (bools, floats, str).

    Raises:
        InvalidRequestError: naming ``field``, the value and the fix.
    """
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(
            field, value, "a whole number of tokens (int >= 0); tokman never uses floats or str"
        )
    if value < 0:
        raise InvalidRequestError(field, value, "a token count >= 0 (counts are never negative)")
    return int(value)


def check_seconds(value: Any, field: str, *, positive: bool = True) -> float:
    """``value`` as a finite number of seconds (``> 0`` if ``positive``, else ``>= 0``).

    Raises:
        InvalidRequestError: naming ``field``, the value and the fix.
    """
    wanted = (
        "a finite number of seconds "
        + ("> 0" if positive else ">= 0")
        + f" and at most {MAX_SECONDS:,} (100 years)"
    )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequestError(field, value, wanted)
    if not math.isfinite(value) or value < 0 or (positive and value == 0) or value > MAX_SECONDS:
        raise InvalidRequestError(field, value, wanted)
    return float(value)


def check_tags(value: Any, field: str) -> dict[str, str]:
    """``value`` as a fresh ``dict`` of str -> str labels (``None`` is no tags), or a typed error.

    Raises:
        InvalidRequestError: not a mapping, or a key or value that is not a ``str``.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequestError(
            field, value, "a mapping of str to str labels, e.g. {'tenant': 'acme'}"
        )
    tags = dict(value)
    for key, label in tags.items():
        if type(key) is not str or type(label) is not str:
            raise InvalidRequestError(
                f"{field}[{key!r}]", label, "str keys and values, e.g. {'tenant': 'acme'}"
            )
    return tags


# -- time ---------------------------------------------------------------------------------------


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; a naive datetime is taken to be UTC already."""
    if value.tzinfo is timezone.utc:  # the common case (every stored record): no conversion
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_us(value: datetime) -> int:
    """Microseconds since the Unix epoch: the stored time, exact and sortable on every store.

    >>> to_us(datetime(1970, 1, 1, 0, 0, 1, 5))
    1000005
    """
    delta = as_utc(value) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    """The aware UTC datetime for a stored microsecond timestamp (inverse of `to_us`)."""
    return EPOCH + timedelta(microseconds=value)


def utc_date(at: date | datetime | str | None) -> date:
    """The UTC date of ``at`` (``None``: today): the one reader of every ``at=`` argument.

    >>> utc_date("2025-06-30T23:30:00")
    datetime.date(2025, 6, 30)

    Raises:
        InvalidRequestError: not a date, a datetime or an ISO date string.
    """
    if at is None:
        return datetime.now(timezone.utc).date()
    if isinstance(at, datetime):
        if at.tzinfo is not None:
            at = at.astimezone(timezone.utc)
        return at.date()
    if isinstance(at, date):
        return at
    if isinstance(at, str):
        try:
            return date.fromisoformat(at[:10])
        except ValueError:
            pass
    raise InvalidRequestError(
        "at", at, "expected a date, a datetime or an ISO date string such as '2025-06-30'"
    )
