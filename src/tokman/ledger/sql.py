"""SQLite and PostgreSQL ledger stores: thin runners of the statements in `_schema`.

Durability: every `SqlStore.insert` commits before it returns. On SQLite the database runs in WAL
mode with ``synchronous=FULL``: a commit is fsync'd to the WAL file, so an acknowledged record
survives ``kill -9`` *and* power loss (``NORMAL`` would survive the former only, and is available
as ``?synchronous=normal`` for callers that batch and prefer speed). Writes take the write lock
up front (``BEGIN IMMEDIATE``) so concurrent processes queue on the busy timeout instead of
failing on a lock upgrade.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tokman.errors import MissingDependencyError, StorageError
from tokman.ledger._base import Filter, LedgerStore, cost_from_int, cost_to_int
from tokman.ledger._record import UsageRecord, from_us, to_us
from tokman.ledger._schema import (
    aggregate_statement,
    insert_usage,
    migrate,
    tables,
    where,
)

__all__ = ["SqlStore", "redact_url", "storage_errors"]

_BATCH = 5_000
_SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL", "extra": "EXTRA"}


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: show only the scheme
        return url.split("://", 1)[0] + "://***"


def _storage_error(url: str, action: str, exc: BaseException) -> StorageError:
    orig = getattr(exc, "orig", None) or exc
    detail = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    password = None
    with contextlib.suppress(Exception):
        password = sa.engine.make_url(url).password
    if password:
        detail = detail.replace(str(password), "***")
    error = StorageError(
        f"Could not {action} the ledger at {redact_url(url)}: {detail}. Check that the database "
        "is running and reachable, or open the ledger with spool=PATH to keep records in a local "
        "file until it is back."
    )
    #: connection-level failures may be spooled and replayed later; others are bugs or bad data
    error.retryable = isinstance(  # type: ignore[attr-defined]
        exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError)
    )
    error.url = redact_url(url)  # type: ignore[attr-defined]
    return error


@contextlib.contextmanager
def storage_errors(url: str, action: str) -> Iterator[None]:
    """Translate any SQLAlchemy/driver failure into `StorageError` (original as ``__cause__``)."""
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        raise _storage_error(url, action, exc) from exc
    except OSError as exc:  # e.g. the SQLite file's directory is not writable
        raise _storage_error(url, action, exc) from exc


def _sqlite_engine(url: sa.engine.URL, options: Mapping[str, str]) -> sa.Engine:
    database = url.database or ""
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        url = url.set(database=str(Path(database).expanduser()))
    sync = _SYNCHRONOUS.get(options.get("synchronous", "full").lower())
    if sync is None:
        raise ValueError("synchronous must be full, normal or extra")
    engine = sa.create_engine(
        url.set(drivername="sqlite+pysqlite", query={}),
        connect_args={"timeout": float(options.get("timeout", 60)), "check_same_thread": False},
        poolclass=sa.pool.StaticPool if database in ("", ":memory:") else None,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event below issues BEGIN
        cur = dbapi_conn.cursor()
        if database not in ("", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={sync}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get("tokman_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: sa.engine.URL, options: Mapping[str, str]) -> sa.Engine:
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "psycopg", extra="postgres", feature="A PostgreSQL ledger"
        ) from exc
    return sa.create_engine(
        url.set(drivername="postgresql+psycopg", query={}),
        connect_args={"connect_timeout": int(options.get("connect_timeout", 10))},
        pool_pre_ping=True,
        pool_size=int(options.get("pool_size", 5)),
    )


class SqlStore(LedgerStore):
    """A ledger in SQLite or PostgreSQL (SQLAlchemy Core; one schema, one set of statements).

    Args:
        url: ``sqlite:///path/to/file.db`` or ``postgresql://user:pass@host:port/db``; query
            options ``synchronous`` (SQLite) and ``connect_timeout``/``pool_size`` (PostgreSQL).
        table_prefix: Prefix for every table name, so several ledgers (or test runs) can share
            one database.
        migrate_now: Create or migrate the schema immediately (else on first use).
    """

    def __init__(self, url: str, *, table_prefix: str = "", migrate_now: bool = True) -> None:
        self.url = redact_url(url)
        self._raw_url = url
        parsed = sa.engine.make_url(url)
        options = {k: str(v) for k, v in parsed.query.items()}
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            with self.errors("open"):
                self.engine = _sqlite_engine(parsed, options)
        elif self.dialect == "postgresql":
            self.engine = _postgres_engine(parsed, options)
        else:  # pragma: no cover - open_ledger only routes these two schemes here
            raise ValueError(f"unsupported SQL dialect {self.dialect!r}")
        self.tables = tables(table_prefix)
        self._insert = insert_usage(self.tables, self.dialect)
        self._ready = False
        self._pid = os.getpid()
        if migrate_now:
            self.ensure_schema()

    def errors(self, action: str) -> contextlib.AbstractContextManager[None]:
        """`storage_errors` for this store's URL."""
        return storage_errors(self._raw_url, action)

    def ensure_schema(self) -> None:
        """Create or migrate the schema (once per store)."""
        if self._ready:
            return
        with self.errors("open"):
            migrate(self.engine, self.tables)
        self._ready = True

    def write(self) -> sa.Connection:
        """A connection whose transactions take the write lock at BEGIN (SQLite)."""
        self.ensure_schema()
        if os.getpid() != self._pid:  # forked: never share the parent's sockets/files
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        return self.engine.connect().execution_options(tokman_immediate=True)

    def insert(self, records: Sequence[UsageRecord]) -> None:
        rows = [_to_row(r) for r in records]
        if not rows:
            return
        with self.errors("write to"), self.write() as conn, conn.begin():
            for start in range(0, len(rows), _BATCH):
                conn.execute(self._insert, rows[start : start + _BATCH])

    def select(self, flt: Filter, limit: int | None) -> list[UsageRecord]:
        u = self.tables.usage
        stmt = sa.select(u).where(*where(self.tables, flt)).order_by(u.c.ts_us, u.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        self.ensure_schema()
        with self.errors("read"), self.engine.connect() as conn:
            return [_from_row(dict(row._mapping)) for row in conn.execute(stmt)]

    def aggregate(self, keys: Sequence[str], flt: Filter) -> list[tuple[object, ...]]:
        stmt = aggregate_statement(self.tables, keys, flt)
        self.ensure_schema()
        with self.errors("read"), self.engine.connect() as conn:
            out = []
            for row in conn.execute(stmt):
                values = tuple(row)
                n = len(keys)
                whole, rest = int(values[n + 5] or 0), int(values[n + 6] or 0)
                out.append((*values[: n + 5], whole * 1_000_000 + rest, values[n + 7]))
            return out

    def close(self) -> None:
        self.engine.dispose()


def _to_row(r: UsageRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "ts_us": to_us(r.time),
        "model": r.model,
        "deployment": r.deployment,
        "operation": r.operation,
        "prompt_tokens": r.prompt_tokens,
        "cached_tokens": r.cached_tokens,
        "completion_tokens": r.completion_tokens,
        "reasoning_tokens": r.reasoning_tokens,
        "cost_e12": None if r.cost is None else cost_to_int(r.cost),
        "price_id": r.price_id,
        "status": r.status,
        "latency": r.latency,
        "tags": dict(r.tags) or None,
    }


def _from_row(m: Mapping[str, Any]) -> UsageRecord:
    return UsageRecord(
        id=m["id"],
        time=from_us(m["ts_us"]),
        model=m["model"],
        deployment=m["deployment"],
        operation=m["operation"],
        prompt_tokens=int(m["prompt_tokens"]),
        cached_tokens=int(m["cached_tokens"]),
        completion_tokens=int(m["completion_tokens"]),
        reasoning_tokens=int(m["reasoning_tokens"]),
        cost=None if m["cost_e12"] is None else cost_from_int(int(m["cost_e12"])),
        price_id=m["price_id"],
        status=m["status"],
        latency=m["latency"],
        tags=m["tags"] or {},
    )
