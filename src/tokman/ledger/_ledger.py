"""`Ledger`, `AsyncLedger` and `open_ledger`: the public face over a `LedgerStore`.

The ledger adds what every store shares: pricing records before they are stored, validating
query arguments, summaries (`_base.summarize`) and the optional spool for when the database is
down. `AsyncLedger` runs the same `Ledger` in worker threads (``asyncio.to_thread``): the SQL work
is short and blocking either way, and one implementation cannot drift from another.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from tokman.config import Settings
from tokman.errors import ConfigurationError, InvalidRequestError, StorageError
from tokman.ledger._base import Filter, LedgerStore, SummaryRow, summarize
from tokman.ledger._record import UsageRecord
from tokman.ledger._spool import Spool

__all__ = ["SCHEMES", "AsyncLedger", "Ledger", "default_url", "open_async_ledger", "open_ledger"]

_log = logging.getLogger("tokman.ledger")


def default_url() -> str:
    """``$TOKMAN_LEDGER_URL``, else a SQLite file in the user's data directory."""
    env = Settings.from_env().ledger_url
    if env:
        return env
    import platformdirs

    return "sqlite:///" + os.path.join(platformdirs.user_data_dir("tokman"), "ledger.db")


def _memory(url: str, table_prefix: str, migrate_now: bool) -> LedgerStore:
    from tokman.ledger.memory import MemoryStore

    return MemoryStore()


def _sql(url: str, table_prefix: str, migrate_now: bool) -> LedgerStore:
    from tokman.ledger.sql import SqlStore

    return SqlStore(url, table_prefix=table_prefix, migrate_now=migrate_now)


#: URL scheme -> store factory (``postgresql+psycopg`` and friends are matched by their base).
SCHEMES: dict[str, Callable[[str, str, bool], LedgerStore]] = {
    "memory": _memory,
    "sqlite": _sql,
    "postgresql": _sql,
    "postgres": _sql,
}


class Ledger:
    """A durable record of API usage and cost, queryable and summable.

    Args:
        store: Where records live (see `open_ledger` for building one from a URL).
        spool: Optional JSONL file that keeps records, fsync'd, while the database is
            unreachable; they are replayed after the next successful write or `replay_spool`.

    >>> from decimal import Decimal
    >>> ledger = open_ledger("memory://")
    >>> _ = ledger.record(UsageRecord(id="r1", model="m", prompt_tokens=100, completion_tokens=20,
    ...                               cost=Decimal("0.01"), tags={"user": "ann"}))
    >>> _ = ledger.record(UsageRecord(id="r1", model="m", prompt_tokens=999))  # same id: kept once
    >>> [(r.group["tag:user"], r.requests, r.total_tokens, r.cost)
    ...  for r in ledger.summary(group_by=["tag:user"])]
    [('ann', 1, 120, Decimal('0.01'))]
    """

    def __init__(self, store: LedgerStore, *, spool: str | os.PathLike[str] | None = None) -> None:
        self.store = store
        self.spool = None if spool is None else Spool(spool)

    @property
    def url(self) -> str:
        """The store's URL, password hidden."""
        return self.store.url

    def __repr__(self) -> str:
        return f"<Ledger {self.url}>"

    def record(self, record: UsageRecord) -> UsageRecord:
        """Store one record; returns only once it is committed (or spooled).

        The record is priced first if it has no cost. Storing an id that is already in the
        ledger changes nothing.

        Returns:
            The record as stored (with its cost filled in when it could be priced).

        Raises:
            StorageError: The database failed and no spool is configured (or the spool failed).
        """
        if not isinstance(record, UsageRecord):
            raise InvalidRequestError("record", record, "a tokman.UsageRecord")
        priced = record.priced()
        self._write([priced])
        return priced

    def record_many(self, records: Iterable[UsageRecord]) -> int:
        """Store many records in one transaction (the fast path for batches and imports).

        Returns:
            How many records were written (ids already stored count too, and stay unchanged).
        """
        priced = []
        for r in records:
            if not isinstance(r, UsageRecord):
                raise InvalidRequestError("records[]", r, "tokman.UsageRecord objects")
            priced.append(r.priced())
        return self._write(priced)

    def _write(self, records: Sequence[UsageRecord]) -> int:
        try:
            self.store.insert(records)
        except StorageError as exc:
            if self.spool is None or not getattr(exc, "retryable", False):
                raise
            self.spool.append(records)
            _log.warning(
                "ledger %s unavailable; %d record(s) spooled to %s: %s",
                self.url,
                len(records),
                self.spool.path,
                exc,
            )
            return len(records)
        if self.spool is not None and self.spool.pending():
            self.replay_spool()
        return len(records)

    def replay_spool(self) -> int:
        """Move spooled records into the database; returns how many were replayed.

        Raises:
            StorageError: The database is still unavailable (the spool is kept intact).
        """
        if self.spool is None:
            return 0
        return self.spool.replay(self.store.insert)

    def query(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        model: str | None = None,
        deployment: str | None = None,
        tags: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> list[UsageRecord]:
        """Records with ``since <= time < until`` matching every given field and tag, oldest first.

        Times are aware UTC (naive values are taken as UTC); ``limit`` caps the count.
        """
        flt = Filter.build(since=since, until=until, model=model, deployment=deployment, tags=tags)
        return self.store.select(flt, limit)

    def summary(
        self,
        group_by: Sequence[str] = ("model",),
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        model: str | None = None,
        deployment: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> list[SummaryRow]:
        """Usage and cost summed per group, sorted by group.

        Args:
            group_by: Any of ``model``, ``deployment``, ``operation``, ``status``, ``hour``,
                ``day``, ``month`` (UTC) and ``tag:<name>``; ``[]`` sums everything into one row.
        """
        if isinstance(group_by, str):
            group_by = [group_by]
        flt = Filter.build(since=since, until=until, model=model, deployment=deployment, tags=tags)
        return summarize(self.store, group_by, flt)

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncLedger:
    """The `Ledger` API for asyncio code: each call runs the sync ledger in a worker thread."""

    def __init__(self, ledger: Ledger) -> None:
        self.sync = ledger

    @property
    def url(self) -> str:
        """The store's URL, password hidden."""
        return self.sync.url

    async def record(self, record: UsageRecord) -> UsageRecord:
        """`Ledger.record`."""
        return await asyncio.to_thread(self.sync.record, record)

    async def record_many(self, records: Iterable[UsageRecord]) -> int:
        """`Ledger.record_many`."""
        return await asyncio.to_thread(self.sync.record_many, list(records))

    async def query(self, **kwargs: Any) -> list[UsageRecord]:
        """`Ledger.query` (same keyword arguments)."""
        return await asyncio.to_thread(lambda: self.sync.query(**kwargs))

    async def summary(
        self, group_by: Sequence[str] = ("model",), **kwargs: Any
    ) -> list[SummaryRow]:
        """`Ledger.summary` (same arguments)."""
        return await asyncio.to_thread(lambda: self.sync.summary(group_by, **kwargs))

    async def replay_spool(self) -> int:
        """`Ledger.replay_spool`."""
        return await asyncio.to_thread(self.sync.replay_spool)

    async def close(self) -> None:
        """`Ledger.close`."""
        await asyncio.to_thread(self.sync.close)

    async def __aenter__(self) -> AsyncLedger:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _open_store(url: str | None, table_prefix: str, migrate_now: bool) -> LedgerStore:
    url = url or default_url()
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower() if "://" in url else ""
    factory = SCHEMES.get(scheme)
    if factory is None:
        from tokman.ledger.sql import redact_url

        raise ConfigurationError(
            f"Unknown ledger URL {redact_url(url)!r}: use sqlite:///path/to/ledger.db, "
            "postgresql://user@host/db or memory://"
        )
    return factory(url, table_prefix, migrate_now)


def open_ledger(
    url: str | None = None,
    *,
    spool: str | os.PathLike[str] | None = None,
    table_prefix: str = "",
) -> Ledger:
    """Open (creating or migrating as needed) the ledger at ``url``.

    Args:
        url: ``sqlite:///path``, ``postgresql://user:pass@host/db`` (needs
            ``tokman[postgres]``) or ``memory://``. Default: ``$TOKMAN_LEDGER_URL``, else
            ``ledger.db`` in the user's data directory.
        spool: A JSONL file to keep records in while the database is unreachable. With a spool,
            opening also succeeds while the database is down.
        table_prefix: Prefix for the ledger's table names (several ledgers in one database).

    Raises:
        ConfigurationError: Unknown URL scheme.
        MissingDependencyError: ``postgresql://`` without psycopg installed.
        StorageError: The database cannot be reached (and no spool was given).

    >>> from decimal import Decimal
    >>> with open_ledger("memory://") as ledger:
    ...     ledger.record_many(UsageRecord(id=str(i), model="m", cost=Decimal(1)) for i in range(3))
    3
    """
    store = _open_store(url, table_prefix, migrate_now=spool is None)
    ledger = Ledger(store, spool=spool)
    if spool is not None:
        ensure = getattr(store, "ensure_schema", None)
        if ensure is not None:
            try:
                ensure()
            except StorageError as exc:
                _log.warning("ledger %s unavailable at open; spooling: %s", store.url, exc)
    return ledger


def open_async_ledger(
    url: str | None = None,
    *,
    spool: str | os.PathLike[str] | None = None,
    table_prefix: str = "",
) -> AsyncLedger:
    """`open_ledger` for asyncio code: the same ledger behind awaitable methods."""
    return AsyncLedger(open_ledger(url, spool=spool, table_prefix=table_prefix))
