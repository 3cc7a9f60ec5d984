"""SQLite and PostgreSQL ledger stores: thin runners of the statements in `_schema`.

Durability: every `SqlStore.insert` commits before it returns. On SQLite the database runs in WAL
mode with ``synchronous=FULL``: a commit is fsync'd to the WAL file, so an acknowledged record
survives ``kill -9`` *and* power loss (``NORMAL`` would survive the former only, and is available
as ``?synchronous=normal`` for callers that batch and prefer speed). Writes take the write lock
up front (``BEGIN IMMEDIATE``) so concurrent processes queue on the busy timeout instead of
failing on a lock upgrade.

Speed: rows are built once per record as plain tuples (`_row`) and handed to the driver's
``executemany`` with the ``INSERT ... ON CONFLICT (id) DO NOTHING`` compiled once from the Core
statement (`_schema.compiled_insert`), so SQLAlchemy does no per-row parameter processing. On
PostgreSQL a batch of `_COPY_MIN` or more records is ``COPY``'d into a temporary staging table
(`_schema.staging_table`, dropped at commit) and moved with one ``INSERT ... SELECT ... ON CONFLICT
(id) DO NOTHING`` generated from the same table; a role without the TEMPORARY privilege gets
executemany instead. Either way the whole batch is one transaction, committed before
`SqlStore.insert` returns.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tokman.errors import MissingDependencyError, StorageError
from tokman.ledger._base import Filter, LedgerStore, cost_from_int, cost_to_int
from tokman.ledger._record import UsageRecord, from_us, to_us
from tokman.ledger._schema import (
    USAGE_COLUMNS,
    aggregate_statement,
    compiled_insert,
    insert_usage,
    migrate,
    staging_table,
    tables,
    where,
)

__all__ = ["SqlStore", "redact_url", "storage_errors"]

_BATCH = 5_000
#: PostgreSQL batches at least this large are loaded with COPY (below it, pipelined executemany
#: is as fast and skips creating the staging table).
_COPY_MIN = 500
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
        self._insert_sql = compiled_insert(self.tables, self.engine.dialect)
        if self.dialect == "postgresql":
            stage = staging_table(self.tables)
            prep = self.engine.dialect.identifier_preparer
            self._stage_ddl = str(sa.schema.CreateTable(stage).compile(dialect=self.engine.dialect))
            columns = ", ".join(prep.quote(c) for c in USAGE_COLUMNS)
            self._copy_sql = f"COPY {prep.format_table(stage)} ({columns}) FROM STDIN"
            self._from_stage = insert_usage(self.tables, self.dialect, source=stage)
        self._may_stage: bool | None = None
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
        rows = [_row(r) for r in records]
        if not rows:
            return
        with self.errors("write to"), self.write() as conn, conn.begin():
            if len(rows) == 1:
                conn.exec_driver_sql(self._insert_sql, rows[0])
            elif self.dialect == "postgresql" and len(rows) >= _COPY_MIN and self._can_stage(conn):
                self._copy(conn, rows)
            else:
                for start in range(0, len(rows), _BATCH):
                    conn.exec_driver_sql(self._insert_sql, rows[start : start + _BATCH])

    def _can_stage(self, conn: sa.Connection) -> bool:
        """Whether this role may create the temporary staging table (asked once per store)."""
        if self._may_stage is None:
            query = "SELECT has_database_privilege(current_database(), 'TEMPORARY')"
            self._may_stage = bool(conn.exec_driver_sql(query).scalar())
        return self._may_stage

    def _copy(self, conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
        """PostgreSQL bulk path: COPY into the staging table, then one INSERT ... SELECT."""
        import psycopg

        conn.exec_driver_sql(self._stage_ddl)
        driver: Any = conn.connection.driver_connection
        first: dict[str, tuple[Any, ...]] = {}
        for row in rows:  # the first record of an id wins, as with executemany
            first.setdefault(row[0], row)
        try:
            with driver.cursor() as cursor, cursor.copy(self._copy_sql) as copy:
                for row in first.values():
                    copy.write_row(row)
        except psycopg.Error as exc:
            if driver.broken:
                conn.invalidate(exc)
            raise sa.exc.DBAPIError.instance(
                self._copy_sql, None, exc, psycopg.Error, dialect=self.engine.dialect
            ) from exc
        conn.execute(self._from_stage)

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


def tags_json(tags: Mapping[str, str]) -> str | None:
    """The stored JSON of ``tags`` (``None`` when empty): exactly ``json.dumps(dict(tags))``.

    `UsageRecord` guarantees str keys and values, so this skips building a JSON encoder per
    record (a test checks it against `json.dumps`).
    """
    if not tags:
        return None
    q = encode_basestring_ascii
    return "{" + ", ".join([q(k) + ": " + q(v) for k, v in tags.items()]) + "}"


def _row(r: UsageRecord) -> tuple[Any, ...]:
    """The stored row of ``r``, in `USAGE_COLUMNS` order (the one place records become rows)."""
    cost = r.cost
    return (
        r.id,
        to_us(r.time),
        r.model,
        r.deployment,
        r.operation,
        r.prompt_tokens,
        r.cached_tokens,
        r.completion_tokens,
        None if cost is None else cost_to_int(cost),
        r.price_id,
        r.status,
        r.latency,
        tags_json(r.tags),
        r.reasoning_tokens,
    )


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
