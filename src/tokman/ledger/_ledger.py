"""`Ledger`, `AsyncLedger` and `open_ledger`: the public face over a `LedgerStore`.

Which store a URL opens is decided by `STORES` (a `tokman._backends.Factories` keyed by the URL
family from the shared scheme registry), so the ledger parses, redacts and rejects URLs exactly
as the budgets and the rate limiter do. The ledger adds what every store shares: pricing
records before they are stored, validating query arguments, summaries (`_base.summarize`) and
the optional spool for when the database is down. `AsyncLedger` runs the same `Ledger` in
worker threads (``asyncio.to_thread``): the SQL work is short and blocking either way, and one
implementation cannot drift from another.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, TypeVar

from tokman._backends import BackendURL, Factories, check_table_prefix, parse_url
from tokman.config import Settings
from tokman.errors import ConfigurationError, InvalidRequestError, StorageError
from tokman.ledger._base import Filter, LedgerStore, SummaryRow, check_mode, summarize
from tokman.ledger._record import UsageRecord
from tokman.ledger._spool import Spool

__all__ = ["STORES", "AsyncLedger", "Ledger", "default_url", "open_async_ledger", "open_ledger"]

_log = logging.getLogger("tokman.ledger")
_R = TypeVar("_R")

#: ``open_ledger``'s ``mode``: SQLite's URI vocabulary (``rwc`` read/write/create, ``ro`` read).
Mode = Literal["rwc", "ro"]


def default_url() -> str:
    """``$TOKMAN_LEDGER_URL``, else a SQLite file in the user's data directory."""
    env = Settings.from_env().ledger_url
    if env:
        return env
    import platformdirs

    return "sqlite:///" + os.path.join(platformdirs.user_data_dir("tokman"), "ledger.db")


def _memory(url: BackendURL, *, table_prefix: str, migrate_now: bool, mode: str) -> LedgerStore:
    from tokman.ledger.memory import MemoryStore

    if mode == "ro":
        raise StorageError(
            "No ledger at memory://: an in-memory ledger exists only inside the process that "
            "opened it, so a read-only open has nothing to read. Give the URL of a SQLite or "
            "PostgreSQL ledger.",
            url=url.redacted,
            action="open",
        )
    return MemoryStore()


def _sql(url: BackendURL, *, table_prefix: str, migrate_now: bool, mode: str) -> LedgerStore:
    from tokman.ledger.sql import SqlStore

    return SqlStore(url, table_prefix=table_prefix, migrate_now=migrate_now, mode=mode)


#: Where a ledger can live: URL family (`tokman._backends.SCHEMES`) -> store factory.
STORES: Factories[LedgerStore] = Factories(
    "ledger",
    "sqlite:///path/to/ledger.db, postgresql://user@host/db (or postgres://) or memory://",
)
STORES.register("memory", _memory)
STORES.register("sqlite", _sql)
STORES.register("postgresql", _sql)


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
    >>> again = ledger.record(UsageRecord(id="r1", model="m", prompt_tokens=999))  # same id
    >>> again.duplicate, again.prompt_tokens  # the stored record comes back, unchanged
    (True, 100)
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
        return f"<Ledger {self.url}{' (read-only)' if self.store.readonly else ''}>"

    def record(self, record: UsageRecord) -> UsageRecord:
        """Store one record; returns only once it is committed (or spooled).

        The record is priced first if it has no cost. The id is the idempotency key: storing an
        id that is already in the ledger changes nothing and returns **the stored record** (which
        may differ from ``record``) with ``duplicate=True``, decided in the same transaction as
        the insert. A record spooled because the database is down is not checked (the spool
        cannot see the database): it comes back as given, and when replayed, an id stored
        meanwhile keeps its stored record.

        Returns:
            The record as stored: ``record`` priced (``duplicate=False``), or the record already
            stored under its id (``duplicate=True``).

        Raises:
            StorageError: The database failed and no spool is configured (or the spool failed).
            InvalidRequestError: Not a `UsageRecord`, or the ledger was opened read-only.
        """
        if not isinstance(record, UsageRecord):
            raise InvalidRequestError("record", record, "a tokman.UsageRecord")
        priced = record.priced()
        return self._write([priced], lambda: self.store.insert_one(priced), priced)

    def record_many(self, records: Iterable[UsageRecord]) -> int:
        """Store many records in one transaction (the fast path for batches and imports).

        Ids already stored keep their stored record, and of an id repeated within the batch the
        first record wins (no per-record read-back: use `record` to get stored records back).

        Returns:
            How many records the ledger gained: ids already stored and repeats within the batch
            are not counted. Records spooled because the database is down all count (the spool
            does not check duplicates; replaying skips ids stored meanwhile).
        """
        priced = []
        for r in records:
            if not isinstance(r, UsageRecord):
                raise InvalidRequestError("records[]", r, "tokman.UsageRecord objects")
            priced.append(r.priced())
        return self._write(priced, lambda: self.store.insert(priced), len(priced))

    def _write(self, records: Sequence[UsageRecord], write: Callable[[], _R], spooled: _R) -> _R:
        """Run ``write``; on a retryable failure with a spool, spool ``records`` instead and return
        ``spooled``. After a successful write, a pending spool is replayed."""
        try:
            result = write()
        except StorageError as exc:
            if self.spool is None or not exc.retryable:
                raise
            self.spool.append(records)
            _log.warning(
                "ledger %s unavailable; %d record(s) spooled to %s: %s",
                self.url,
                len(records),
                self.spool.path,
                exc,
            )
            return spooled
        if self.spool is not None and self.spool.pending():
            self.replay_spool()
        return result

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


def _open_store(url: str | None, table_prefix: str, migrate_now: bool, mode: str) -> LedgerStore:
    check_mode(mode)
    check_table_prefix(table_prefix)
    if url is None:
        env = Settings.from_env().ledger_url
        parsed = parse_url(env, field="$TOKMAN_LEDGER_URL") if env else parse_url(default_url())
    else:
        parsed = parse_url(url)
    return STORES.open(parsed, table_prefix=table_prefix, migrate_now=migrate_now, mode=mode)


def open_ledger(
    url: str | None = None,
    *,
    spool: str | os.PathLike[str] | None = None,
    table_prefix: str = "",
    mode: Mode = "rwc",
) -> Ledger:
    """Open (creating or migrating as needed) the ledger at ``url``.

    Args:
        url: ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` (``sqlite:///:memory:`` for
            a throwaway database), ``postgresql://user:pass@host:5432/db`` or ``postgres://...``
            (needs ``tokman[postgres]``; other query options such as ``sslmode`` go to libpq), or
            ``memory://``. Default: ``$TOKMAN_LEDGER_URL``, else ``ledger.db`` in the user's data
            directory.
        spool: A JSONL file to keep records in while the database is unreachable. With a spool,
            opening also succeeds while the database is down.
        table_prefix: Prefix for the ledger's table names (several ledgers in one database).
        mode: ``"rwc"`` (the default) reads, writes and creates the database and its tables;
            ``"ro"`` only reads: it never creates a file or table, never migrates, and every
            write raises (SQLite opens the file with ``mode=ro``, PostgreSQL sessions are
            ``default_transaction_read_only``). Reports use it. The words are SQLite's URI
            ``mode`` values, which a SQLite URL may also carry (``sqlite:///x.db?mode=ro``).

    Raises:
        ConfigurationError: A malformed URL (the message shows it with passwords hidden) or
            option, or a spool with ``mode="ro"``.
        InvalidRequestError: A bad ``table_prefix`` or ``mode``.
        MissingDependencyError: ``postgresql://`` without psycopg installed.
        StorageError: The database cannot be reached (and no spool was given); with
            ``mode="ro"``, there is no ledger at ``url``.

    >>> from decimal import Decimal
    >>> with open_ledger("memory://") as ledger:
    ...     ledger.record_many(UsageRecord(id=str(i), model="m", cost=Decimal(1)) for i in range(3))
    3
    """
    if spool is not None and mode == "ro":
        raise ConfigurationError(
            f"spool={os.fspath(spool)!r} with mode='ro' is invalid: a spool keeps records that "
            "could not be written, and a read-only ledger writes nothing; drop one of them"
        )
    store = _open_store(url, table_prefix, migrate_now=spool is None, mode=mode)
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
    mode: Mode = "rwc",
) -> AsyncLedger:
    """`open_ledger` for asyncio code: the same ledger behind awaitable methods."""
    return AsyncLedger(open_ledger(url, spool=spool, table_prefix=table_prefix, mode=mode))
