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
`SqlStore.insert` returns, and the driver's row count says how many ids were new (free: no
read-back). A single record (`SqlStore.insert_one`) that hits a stored id reads that row back in
the same transaction, so the caller gets what the ledger actually keeps.

Group commit (`SqlStore.submit`, SQLite only): concurrent callers (the gateway's requests) hand
their write steps to one thread per store, which runs every step waiting at that moment in one
``BEGIN IMMEDIATE`` transaction -- each step in its own savepoint, so one step's failure undoes
only that step -- and commits once: one fsync for the whole group instead of one per step. A
step's future is resolved only after that commit, so a caller that waits for it (before sending
a response's last bytes) knows its rows are durable, exactly as with its own transaction. A
group of steps all submitted with ``durable=False`` (budget holds: a hold lost to a power cut
only frees room of calls that died with the machine) is committed with ``synchronous=NORMAL``:
atomic and visible to every process, survives ``kill -9``, no fsync; any group holding a
durable step (a ledger row, a settled spend) is committed at the store's own level (``FULL``).
A group whose transaction fails as a whole (its COMMIT: disk full, an I/O error) is rolled
back and each of its steps runs again alone, meeting the error itself: a ledger write that
fails again is spooled (when the ledger has a spool), exactly as outside a group.

URLs are parsed by `tokman._backends` (``postgres://`` included); the password goes to SQLAlchemy's
URL object (hidden in its repr) and every other PostgreSQL option to libpq as connect arguments,
never into a string that could be shown. Read-only stores (``mode="ro"``) open SQLite files with
SQLite's own ``mode=ro`` URI and PostgreSQL sessions with ``default_transaction_read_only``, so the
database itself refuses writes, and only check the schema (never create or migrate it).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote

import sqlalchemy as sa

from tokman._backends import BackendURL, parse_url, storage_errors
from tokman.errors import InvalidRequestError, StorageError
from tokman.ledger._base import (
    MODES,
    Filter,
    LedgerStore,
    check_mode,
    cost_from_int,
    cost_to_int,
)
from tokman.ledger._record import UsageRecord, from_us, to_us
from tokman.ledger._schema import (
    LEDGER_MIGRATIONS,
    USAGE_COLUMNS,
    aggregate_statement,
    compiled_insert,
    insert_usage,
    migrate,
    staging_table,
    tables,
    where,
)

__all__ = ["SqlStore"]

_T = TypeVar("_T")
_Job = tuple[Callable[[], Any], "concurrent.futures.Future[Any]", bool]

_BATCH = 5_000
#: PostgreSQL batches at least this large are loaded with COPY (below it, pipelined executemany
#: is as fast and skips creating the staging table).
_COPY_MIN = 500
_SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL", "extra": "EXTRA"}
_SQLITE_OPTIONS = ("synchronous", "timeout", "mode")
#: options tokman itself reads on PostgreSQL; every other option goes to libpq (sslmode, ...)
_POSTGRES_OWN = ("pool_size",)


def _number(url: BackendURL, name: str, default: str, kind: type[float] | type[int]) -> Any:
    """The numeric query option ``name`` (``pool_size`` at least 1, others at least 0)."""
    raw = url.option(name, default)
    least = 1 if name == "pool_size" else 0
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < least:
        raise url.invalid(
            f"option {name}={raw!r}",
            f"{name} must be {'an integer' if kind is int else 'a number'} >= {least}",
        )
    return value


class _Nested:
    """What `SqlStore.write` gives inside a group commit: the group's connection, on which
    ``with conn.begin():`` is a savepoint and leaving the ``with write()`` block closes nothing."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> _Nested:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def begin(self) -> sa.NestedTransaction:
        return self._conn.begin_nested()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _run_into(fn: Callable[[], Any], future: concurrent.futures.Future[Any]) -> None:
    try:
        result = fn()
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _sqlite_engine(url: BackendURL, mode: str) -> sa.Engine:
    unknown = sorted(set(url.options) - set(_SQLITE_OPTIONS))
    if unknown:
        raise url.invalid(
            f"option {unknown[0]!r}", f"SQLite ledgers take only {', '.join(_SQLITE_OPTIONS)}"
        )
    sync = _SYNCHRONOUS.get(url.option("synchronous", "full").lower())
    if sync is None:
        raise url.invalid(
            f"option synchronous={url.option('synchronous', '')!r}",
            "synchronous must be full (the default: survives power loss), normal or extra",
        )
    timeout = float(_number(url, "timeout", "60", float))
    database = url.database or ""
    memory = database == ":memory:"
    try:
        path = None if memory else Path(database).expanduser()
    except RuntimeError:  # sqlite:///~someone/... for a user this system does not have
        raise url.invalid(f"path {database!r}", "~user must name a user of this system") from None
    if memory and mode == "ro":
        raise StorageError(
            f"No ledger at {url}: an in-memory database exists only in the connection that made "
            "it, so there is nothing to read. Give the ledger's file: sqlite:///path/to/ledger.db",
            url=url.redacted,
            action="open",
        )
    if path is not None and mode == "ro" and not path.is_file():
        raise StorageError(
            f"No ledger at {os.path.abspath(path)} ({url}): the file does not exist, and a "
            "ledger opened read-only (mode='ro') never creates one. Check the path.",
            url=url.redacted,
            action="open",
        )
    if path is not None and mode != "ro":
        path.parent.mkdir(parents=True, exist_ok=True)

    def connect() -> sqlite3.Connection:
        if path is None:
            conn = sqlite3.connect(":memory:", timeout=timeout, check_same_thread=False)
        else:
            conn = _sqlite_file(path, mode, timeout)
        conn.isolation_level = None  # SQLAlchemy's "begin" event below issues BEGIN
        return conn

    engine = sa.create_engine(
        "sqlite+pysqlite://",
        creator=connect,
        # a file gets a QueuePool (one connection per checkout); the URL alone would make
        # SQLAlchemy assume :memory: and share per-thread connections (SingletonThreadPool)
        poolclass=sa.pool.StaticPool if path is None else sa.pool.QueuePool,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        if path is not None and mode != "ro":  # WAL is a property of the file: set by writers
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={sync}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get("tokman_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _sqlite_file(path: Path, mode: str, timeout: float) -> sqlite3.Connection:
    """A connection to the file at ``path`` in SQLite URI ``mode`` (``rwc`` or ``ro``).

    ``ro`` is enforced by SQLite itself (every write fails, whoever runs it, root included), and
    never creates the database. A WAL database is read through its ``-shm`` index, which SQLite
    creates beside the file if missing; where it cannot (a read-only directory) and no ``-wal``
    file holds pending commits, the file alone is the whole database and is opened
    ``immutable=1`` (no locks, no side files).
    """

    def at(query: str) -> sqlite3.Connection:
        uri = f"file:{quote(str(path))}?{query}"
        return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)

    conn = at(f"mode={mode}")
    if mode != "ro":
        return conn
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        conn.close()
        wal = path.with_name(path.name + "-wal")
        if not _cannot_create_side_files(exc) or (wal.exists() and wal.stat().st_size):
            raise  # locked by a writer, or commits pending in the WAL the file alone would miss
        return at("mode=ro&immutable=1")
    return conn


def _cannot_create_side_files(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite failed for want of a writable directory (SQLITE_READONLY/CANTOPEN), not
    for a lock or anything else that ``immutable`` would paper over."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)
    return "readonly" in str(exc) or "unable to open" in str(exc)


def _postgres_engine(url: BackendURL, mode: str) -> sa.Engine:
    libpq: dict[str, Any] = {k: v for k, v in url.options.items() if k not in _POSTGRES_OWN}
    libpq["connect_timeout"] = int(_number(url, "connect_timeout", "10", int))
    if mode == "ro":  # the server itself refuses writes in every transaction of the session
        libpq["options"] = f"{libpq.get('options', '')} -c default_transaction_read_only=on"
    target = sa.engine.URL.create(  # the password stays out of the query (SQLAlchemy hides it)
        "postgresql+psycopg",
        username=url.username,
        password=url.password,
        host=url.host,
        port=url.port,
        database=url.database,
    )
    return sa.create_engine(
        target,
        connect_args=libpq,
        pool_pre_ping=True,
        pool_size=int(_number(url, "pool_size", "5", int)),
    )


class SqlStore(LedgerStore):
    """A ledger in SQLite or PostgreSQL (SQLAlchemy Core; one schema, one set of statements).

    Args:
        url: ``sqlite:///path/to/file.db`` or ``postgresql://user:pass@host:port/db`` (also
            ``postgres://``), as a string or a parsed `BackendURL`. Query options: ``synchronous``
            and ``timeout`` (SQLite); ``connect_timeout`` and ``pool_size`` (PostgreSQL, where
            every other option, e.g. ``sslmode``, is passed to libpq).
        table_prefix: Prefix for every table name, so several ledgers (or test runs) can share
            one database.
        migrate_now: Create or migrate the schema immediately (else on first use).
        mode: ``"rwc"`` (read, write, create) or ``"ro"`` (read only; see `MODES`). SQLite also
            takes ``?mode=ro`` in the URL.

    Raises:
        ConfigurationError: A malformed URL or option.
        StorageError: ``mode="ro"`` and there is no ledger there; or the database failed.
    """

    def __init__(
        self,
        url: BackendURL | str,
        *,
        table_prefix: str = "",
        migrate_now: bool = True,
        mode: str = "rwc",
    ) -> None:
        self.location = url if isinstance(url, BackendURL) else parse_url(url)
        self.url = self.location.redacted
        self.table_prefix = table_prefix
        self.tables = tables(table_prefix)
        self.dialect = self.location.scheme.family
        self.mode = _mode(self.location, mode)
        self.readonly = self.mode == "ro"
        with self.errors("open"):
            if self.dialect == "sqlite":
                self.engine = _sqlite_engine(self.location, self.mode)
            elif self.dialect == "postgresql":
                self.engine = _postgres_engine(self.location, self.mode)
            else:  # pragma: no cover - open_ledger only routes these two families here
                raise self.location.invalid(
                    "the scheme", "a SQL store takes sqlite:// or postgresql://"
                )
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
        self._batch = threading.local()  # the group commit's connection, in its thread
        self._jobs: queue.SimpleQueue[_Job] | None = None
        self._jobs_pid = 0
        self._jobs_lock = threading.Lock()
        if migrate_now:
            try:
                self.ensure_schema()
            except BaseException:
                self.engine.dispose()  # nobody will get this store to close it
                raise

    def __repr__(self) -> str:
        return f"<SqlStore {self.url}{' (read-only)' if self.readonly else ''}>"

    def errors(self, action: str) -> contextlib.AbstractContextManager[None]:
        """`tokman._backends.storage_errors` for this store's URL."""
        return storage_errors(self.location, action)

    def ensure_schema(self) -> None:
        """Create or migrate the schema (once per store); read-only: only check it."""
        if self._ready:
            return
        with self.errors("open"):
            migrate(
                self.engine, LEDGER_MIGRATIONS, self.tables, url=self.url, readonly=self.readonly
            )
        self._ready = True

    def check_writable(self) -> None:
        """Raise `InvalidRequestError` if the store was opened read-only."""
        if self.readonly:
            raise InvalidRequestError(
                "mode",
                self.mode,
                f"the ledger at {self.url} was opened read-only; open it with "
                "open_ledger(url) (mode='rwc') to write",
            )

    def write(self) -> sa.Connection:
        """A connection whose transactions take the write lock at BEGIN (SQLite).

        Raises:
            InvalidRequestError: The store was opened read-only.
        """
        self.check_writable()
        self.ensure_schema()
        batch = getattr(self._batch, "conn", None)
        if batch is not None:  # inside a group commit: its transaction, a savepoint per begin()
            return cast(sa.Connection, _Nested(batch))
        if os.getpid() != self._pid:  # forked: never share the parent's sockets/files
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        return self.engine.connect().execution_options(tokman_immediate=True)

    @property
    def groups_commits(self) -> bool:
        """Whether `submit` commits concurrent steps together (SQLite; PostgreSQL runs its
        callers' transactions in parallel instead)."""
        return self.dialect == "sqlite" and not self.readonly

    def submit(
        self, step: Callable[[], _T], *, durable: bool = True
    ) -> concurrent.futures.Future[_T]:
        """Run ``step`` (which writes through `write`) in the store's group-commit thread; its
        future is resolved once the transaction holding its writes is committed (``durable``:
        at the store's ``synchronous`` level; else possibly at ``NORMAL``, see the module)."""
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        with self._jobs_lock:
            if self._jobs is None or self._jobs_pid != os.getpid():
                self._jobs, self._jobs_pid = queue.SimpleQueue(), os.getpid()
                jobs = self._jobs
                threading.Thread(
                    target=self._commit_loop, args=(jobs,), name="tokman-group-commit", daemon=True
                ).start()
            self._jobs.put((step, future, durable))
        return future

    def _commit_loop(self, jobs: queue.SimpleQueue[_Job]) -> None:
        while True:
            group = [jobs.get()]
            while len(group) < 256:
                try:
                    group.append(jobs.get_nowait())
                except queue.Empty:
                    break
            group = [job for job in group if job[1].set_running_or_notify_cancel()]
            if group:
                self._commit_group(group)

    def _commit_group(self, group: list[_Job]) -> None:
        level: int | None = None
        try:
            conn = self.write()
            if not any(durable for _, _, durable in group):
                driver: Any = conn.connection.dbapi_connection
                level = int(driver.execute("PRAGMA synchronous").fetchone()[0])
                if level > 1:  # FULL/EXTRA -> NORMAL for this commit (set outside a transaction)
                    driver.execute("PRAGMA synchronous=NORMAL")
            tx = conn.begin()
        except Exception:  # cannot even begin: each step on its own meets the error itself
            for fn, future, _ in group:
                _run_into(fn, future)
            return
        done: list[tuple[concurrent.futures.Future[Any], Any]] = []
        # a savepoint per step lets one failing step be undone alone; a group of one step
        # needs none (its failure rolls the whole transaction back), which is most groups when
        # traffic is light -- and a savepoint and its release cost more than the step's insert
        alone = len(group) == 1
        try:
            self._batch.conn = conn
            try:
                for fn, future, _ in group:
                    step = None if alone else conn.begin_nested()
                    try:
                        result = fn()
                    except BaseException as exc:
                        if step is not None:
                            step.rollback()
                        done.append((future, ("error", exc)))
                    else:
                        if step is not None:
                            step.commit()
                        done.append((future, ("ok", result)))
            finally:
                self._batch.conn = None
            if alone and done[0][1][0] == "error":
                tx.rollback()
            else:
                with self.errors("commit to"):
                    tx.commit()
        except Exception:
            # The group's transaction failed (its COMMIT: disk full, I/O error, the database
            # gone) and rolled every step back: each step runs again on its own, in its own
            # transaction, and meets the error itself -- so a ledger write that fails again
            # goes to the ledger's spool, as it would outside a group, and is never lost.
            with contextlib.suppress(Exception):
                tx.rollback()
            self._close_group(conn, level)
            for fn, future, _ in group:
                _run_into(fn, future)
            return
        except BaseException as exc:
            with contextlib.suppress(Exception):
                tx.rollback()
            self._close_group(conn, level)
            for _, future, _ in group:
                future.set_exception(exc)
            return
        self._close_group(conn, level)
        for future, (kind, value) in done:
            if kind == "ok":
                future.set_result(value)
            else:
                future.set_exception(value)

    @staticmethod
    def _close_group(conn: sa.Connection, level: int | None) -> None:
        if level is not None and level > 1:
            with contextlib.suppress(Exception):
                conn.connection.dbapi_connection.execute(f"PRAGMA synchronous={level}")  # type: ignore[union-attr]
        conn.close()

    def insert(self, records: Sequence[UsageRecord]) -> int:
        rows = [_row(r) for r in records]
        if not rows:
            return 0
        added = 0
        with self.errors("write to"), self.write() as conn, conn.begin():
            if len(rows) == 1:
                added = conn.exec_driver_sql(self._insert_sql, rows[0]).rowcount
            elif self.dialect == "postgresql" and len(rows) >= _COPY_MIN and self._can_stage(conn):
                added = self._copy(conn, rows)
            else:
                for start in range(0, len(rows), _BATCH):
                    batch = rows[start : start + _BATCH]
                    added += conn.exec_driver_sql(self._insert_sql, batch).rowcount
        return added

    def insert_one(self, record: UsageRecord) -> UsageRecord:
        u = self.tables.usage
        with self.errors("write to"), self.write() as conn, conn.begin():
            if conn.exec_driver_sql(self._insert_sql, _row(record)).rowcount:
                return record
            # the id is taken: read the stored row in the same transaction (on SQLite under the
            # write lock; on PostgreSQL the conflicting row is committed, or the insert waited)
            stored = conn.execute(sa.select(u).where(u.c.id == record.id)).one()
        return _from_row(dict(stored._mapping), duplicate=True)

    def _can_stage(self, conn: sa.Connection) -> bool:
        """Whether this role may create the temporary staging table (asked once per store)."""
        if self._may_stage is None:
            query = "SELECT has_database_privilege(current_database(), 'TEMPORARY')"
            self._may_stage = bool(conn.exec_driver_sql(query).scalar())
        return self._may_stage

    def _copy(self, conn: sa.Connection, rows: list[tuple[Any, ...]]) -> int:
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
        moved = conn.execute(self._from_stage, execution_options={"preserve_rowcount": True})
        return int(moved.rowcount)

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


def _mode(url: BackendURL, mode: object) -> str:
    """The store's mode from the argument and (SQLite only: on PostgreSQL ``mode`` is a libpq
    option like any other) ``?mode=``; they must agree."""
    check_mode(mode)
    given = url.options.get("mode") if url.scheme.family == "sqlite" else None
    if given is None:
        return str(mode)
    if given not in MODES:
        raise url.invalid(f"option mode={given!r}", "mode must be rwc (the default) or ro")
    if mode != "rwc" and given != mode:
        raise url.invalid(f"option mode={given!r}", f"it contradicts mode={mode!r}: give one")
    return given


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


def _from_row(m: Mapping[str, Any], *, duplicate: bool = False) -> UsageRecord:
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
        duplicate=duplicate,
    )
