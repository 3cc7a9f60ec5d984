"""The store vocabulary every ledger backend implements, and the pure summary logic they share.

A store does four things: create/migrate its schema, insert records idempotently, select them by
filter, and aggregate them by a few primitive keys. Everything else (month roll-up, labels,
ordering, the Decimal arithmetic) happens here once, so the memory, SQLite and PostgreSQL stores
cannot disagree about what a summary means.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal

from tokman._units import (
    USD_SCALE,
    as_utc,
    check_tags,
    from_us,
    to_us,
    usd_from_units,
    usd_to_units,
)
from tokman.errors import InvalidRequestError
from tokman.ledger._record import UsageRecord

__all__ = [
    "COST_SCALE",
    "GROUP_KEYS",
    "Filter",
    "LedgerStore",
    "SummaryRow",
    "cost_from_int",
    "cost_to_int",
    "summarize",
]

#: Costs are stored as integers of 1e-12 USD (`tokman._units`, which documents the rounding).
COST_SCALE = USD_SCALE

#: The keys `Ledger.summary` groups by (plus ``tag:<name>``).
GROUP_KEYS = ("model", "deployment", "operation", "status", "hour", "day", "month")

HOUR_US = 3_600 * 1_000_000
DAY_US = 24 * HOUR_US


#: ``cost`` in stored 1e-12 USD units (half-even below a picodollar).
cost_to_int = usd_to_units
#: The Decimal USD for a stored integer cost (inverse of `cost_to_int`).
cost_from_int = usd_from_units


@dataclass(frozen=True)
class Filter:
    """Which records a query or summary covers: a half-open time range plus exact matches."""

    since_us: int | None = None
    until_us: int | None = None
    model: str | None = None
    deployment: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        model: str | None = None,
        deployment: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Filter:
        """Validate the public query arguments into a filter."""
        for name, value in (("since", since), ("until", until)):
            if value is not None and not isinstance(value, datetime):
                raise InvalidRequestError(name, value, "a datetime (naive values are UTC)")
        for name, text in (("model", model), ("deployment", deployment)):
            if text is not None and (not isinstance(text, str) or not text.strip()):
                raise InvalidRequestError(name, text, "a non-empty string, or None for any")
        checked_tags = check_tags(tags, "tags")  # None: any tags
        return cls(
            since_us=None if since is None else to_us(since),
            until_us=None if until is None else to_us(until),
            model=model,
            deployment=deployment,
            tags=checked_tags,
        )

    def matches(self, record: UsageRecord) -> bool:
        """Whether ``record`` passes this filter (the memory store's WHERE clause)."""
        t = to_us(record.time)
        return (
            (self.since_us is None or t >= self.since_us)
            and (self.until_us is None or t < self.until_us)
            and (self.model is None or record.model == self.model)
            and (self.deployment is None or record.deployment == self.deployment)
            and all(record.tags.get(k) == v for k, v in self.tags.items())
        )


@dataclass(frozen=True)
class SummaryRow:
    """Usage and cost summed over one group of records.

    Attributes:
        group: The group's key values, e.g. ``{"model": "gpt-4o", "day": "2025-01-31"}``; a tag
            the records lack is ``None``.
        requests: Number of records.
        cost: Summed cost of the priced records (USD).
        unpriced: Records whose cost is unknown (not included in ``cost``).
    """

    group: Mapping[str, str | None]
    requests: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost: Decimal
    unpriced: int

    @property
    def total_tokens(self) -> int:
        """``prompt_tokens + completion_tokens``."""
        return self.prompt_tokens + self.completion_tokens


# (key values..., requests, prompt, cached, completion, reasoning, cost_units, unpriced)
AggregateRow = tuple[object, ...]


#: A store's open mode, in SQLite's URI words: ``rwc`` reads, writes and creates (the default);
#: ``ro`` only reads (never creates a file or table, never migrates, refuses writes).
MODES = ("rwc", "ro")


def check_mode(mode: object) -> str:
    """``mode`` if it is one of `MODES`, else `InvalidRequestError` naming them."""
    if mode not in MODES:
        raise InvalidRequestError(
            "mode", mode, "'rwc' (read, write, create: the default) or 'ro' (read only)"
        )
    return str(mode)


class LedgerStore(abc.ABC):
    """A place records are kept: the small interface the memory and SQL backends implement."""

    #: The store's URL with any password hidden (for messages and reprs).
    url: str
    #: Opened read-only: never creates, migrates or writes (``open_ledger(url, mode="ro")``).
    readonly: bool = False

    @abc.abstractmethod
    def insert(self, records: Sequence[UsageRecord]) -> int:
        """Store ``records`` durably (committed) before returning; existing ids are kept as is.

        Returns:
            How many records were added: ids already stored, and repeats of an id within the
            batch (the first wins), are not counted.
        """

    @abc.abstractmethod
    def insert_one(self, record: UsageRecord) -> UsageRecord:
        """Store one record, committed; returns it, or, if its id is already stored, the stored
        record with ``duplicate=True`` (read in the same transaction as the insert)."""

    @abc.abstractmethod
    def select(self, flt: Filter, limit: int | None) -> list[UsageRecord]:
        """Records passing ``flt``, oldest first (ties by id)."""

    @abc.abstractmethod
    def aggregate(self, keys: Sequence[str], flt: Filter) -> list[AggregateRow]:
        """Sums grouped by primitive ``keys`` (``hour``/``day`` as integer bucket numbers)."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections."""


def _check_keys(group_by: Sequence[str]) -> list[str]:
    if isinstance(group_by, str):
        group_by = [group_by]
    if not isinstance(group_by, (list, tuple)):
        raise InvalidRequestError(
            "group_by", group_by, "a list of keys such as ['day', 'model'] ([] for one total)"
        )
    keys = list(group_by)
    for key in keys:
        if not isinstance(key, str) or (
            key not in GROUP_KEYS and not (key.startswith("tag:") and len(key) > 4)
        ):
            raise InvalidRequestError(
                "group_by", key, f"one of {', '.join(GROUP_KEYS)} or 'tag:<name>'"
            )
    if len(set(keys)) != len(keys):
        raise InvalidRequestError("group_by", keys, "each key at most once")
    return keys


def _label(key: str, value: object) -> str | None:
    if value is None:
        return None
    if key == "day":
        return from_us(int(value) * DAY_US).strftime("%Y-%m-%d")  # type: ignore[call-overload]
    if key == "hour":
        return from_us(int(value) * HOUR_US).strftime(  # type: ignore[call-overload]
            "%Y-%m-%dT%H:00"
        )
    return str(value)


def summarize(store: LedgerStore, group_by: Sequence[str], flt: Filter) -> list[SummaryRow]:
    """`Ledger.summary` for any store: aggregate, label, roll days up to months, sort."""
    keys = _check_keys(group_by)
    primitive = ["day" if k == "month" else k for k in keys]
    merged: dict[tuple[str | None, ...], list[int]] = {}
    for row in store.aggregate(primitive, flt):
        labels = tuple(_label(k, v) for k, v in zip(primitive, row, strict=False))
        labels = tuple(
            (label[:7] if label is not None else None) if k == "month" else label
            for k, label in zip(keys, labels, strict=True)
        )
        sums = [int(v or 0) for v in row[len(keys) :]]  # type: ignore[call-overload]
        acc = merged.setdefault(labels, [0] * len(sums))
        for i, value in enumerate(sums):
            acc[i] += value
    result = [
        SummaryRow(
            group=dict(zip(keys, labels, strict=True)),
            requests=s[0],
            prompt_tokens=s[1],
            cached_tokens=s[2],
            completion_tokens=s[3],
            reasoning_tokens=s[4],
            cost=cost_from_int(s[5]),
            unpriced=s[6],
        )
        for labels, s in merged.items()
    ]
    result.sort(key=lambda r: tuple((v is None, v or "") for v in r.group.values()))
    return result


def aggregate_records(records: Iterable[UsageRecord], keys: Sequence[str]) -> list[AggregateRow]:
    """`LedgerStore.aggregate` over records in memory (the memory store's GROUP BY)."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for r in records:
        t = to_us(r.time)
        key: list[object] = []
        for k in keys:
            if k == "day":
                key.append(t // DAY_US)
            elif k == "hour":
                key.append(t // HOUR_US)
            elif k.startswith("tag:"):
                key.append(r.tags.get(k[4:]))
            else:
                key.append(getattr(r, k))
        acc = groups.setdefault(tuple(key), [0] * 7)
        acc[0] += 1
        acc[1] += r.prompt_tokens
        acc[2] += r.cached_tokens
        acc[3] += r.completion_tokens
        acc[4] += r.reasoning_tokens
        if r.cost is None:
            acc[6] += 1
        else:
            acc[5] += cost_to_int(r.cost)
    return [(*k, *v) for k, v in groups.items()]


def utc_now() -> datetime:
    """The current time, aware UTC (one place to read the clock)."""
    return datetime.now(timezone.utc)


__all__ += ["MODES", "aggregate_records", "as_utc", "check_mode", "utc_now"]
