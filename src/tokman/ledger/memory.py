"""The in-memory ledger store (``memory://``): the test double for every SQL store.

It implements the same `LedgerStore` vocabulary with a dict and a lock, and stores each record
exactly as a SQL store would round-trip it (cost at 1e-12 USD), so one behavioural suite can run
unchanged over memory, SQLite and PostgreSQL. Nothing survives the process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from tokman.ledger._base import (
    Filter,
    LedgerStore,
    aggregate_records,
    cost_from_int,
    cost_to_int,
)
from tokman.ledger._record import UsageRecord, to_us

__all__ = ["MemoryStore"]


class MemoryStore(LedgerStore):
    """Records in a dict keyed by id; thread-safe; gone when the process exits."""

    def __init__(self) -> None:
        self.url = "memory://"
        self._records: dict[str, UsageRecord] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "<MemoryStore memory://>"

    def _add(self, r: UsageRecord) -> UsageRecord | None:
        """Store ``r`` as SQL would round-trip it (cost at 1e-12 USD); ``None`` if the id is taken.
        The caller holds the lock."""
        if r.id in self._records:
            return None
        if r.cost is not None:
            r = r.replace(cost=cost_from_int(cost_to_int(r.cost)))
        self._records[r.id] = r
        return r

    def insert(self, records: Sequence[UsageRecord]) -> int:
        add = self._add
        with self._lock:
            before = len(self._records)
            for r in records:
                add(r)
            return len(self._records) - before

    def insert_one(self, record: UsageRecord) -> UsageRecord:
        with self._lock:
            added = self._add(record)
            if added is not None:
                return added
            return self._records[record.id].replace(duplicate=True)

    def select(self, flt: Filter, limit: int | None) -> list[UsageRecord]:
        with self._lock:
            found = [r for r in self._records.values() if flt.matches(r)]
        found.sort(key=lambda r: (to_us(r.time), r.id))
        return found if limit is None else found[:limit]

    def aggregate(self, keys: Sequence[str], flt: Filter) -> list[tuple[object, ...]]:
        with self._lock:
            found = [r for r in self._records.values() if flt.matches(r)]
        return aggregate_records(found, keys)
