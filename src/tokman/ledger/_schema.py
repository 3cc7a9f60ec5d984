"""The ledger's tables, migrations and statements (SQLAlchemy Core), shared by every SQL store.

One definition serves SQLite and PostgreSQL, sync and async: times are integer microseconds and
costs integer 1e-12 USD, so range filters, GROUP BY buckets and sums are plain integer arithmetic
that both databases evaluate identically. Tags are a JSON column read with SQLAlchemy's portable
JSON accessors (``json_extract`` on SQLite, ``->>`` on PostgreSQL).

The schema is versioned in a ``schema_version`` table. `MIGRATIONS` lists every step from an empty
database; a database created by an older tokman is brought forward step by step, under a lock
(SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction advisory lock) so that twenty processes
opening the same ledger at once migrate it exactly once. The runner (`migrate`, `Migrations`) is
generic: the budgets package versions its own tables with it (`tokman.budgets._schema`), so this
schema knows nothing about budgets.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tokman._backends import check_table_prefix
from tokman.errors import StorageError
from tokman.ledger._base import DAY_US, HOUR_US, Filter

__all__ = [
    "CURRENT_VERSION",
    "LEDGER_MIGRATIONS",
    "MIGRATIONS",
    "USAGE_COLUMNS",
    "Migrations",
    "Tables",
    "compiled_insert",
    "insert_usage",
    "migrate",
    "staging_table",
    "tables",
]

#: The schema version this tokman writes.
CURRENT_VERSION = 3


@dataclass(frozen=True)
class Tables:
    """The tables of one ledger (names carry an optional prefix, so tests can share a database)."""

    prefix: str
    metadata: sa.MetaData
    version: sa.Table
    usage: sa.Table


def _usage_table(md: sa.MetaData, prefix: str, *, version: int) -> sa.Table:
    """The usage table as it is at schema ``version`` (v1 lacks reasoning tokens)."""
    columns: list[Any] = [
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("ts_us", sa.BigInteger, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("deployment", sa.String(200)),
        sa.Column("operation", sa.String(40), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("cached_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost_e12", sa.BigInteger),
        sa.Column("price_id", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("latency", sa.Float),
        sa.Column("tags", sa.JSON(none_as_null=True)),
        sa.Index(f"{prefix}usage_ts", "ts_us"),
    ]
    if version >= 2:
        columns.append(
            sa.Column("reasoning_tokens", sa.BigInteger, nullable=False, server_default="0")
        )
        columns.append(sa.Index(f"{prefix}usage_model_ts", "model", "ts_us"))
    return sa.Table(f"{prefix}usage", md, *columns)


@cache
def tables(prefix: str = "") -> Tables:
    """The current-version tables for ``prefix`` (cached: statements reuse compiled forms).

    Raises:
        InvalidRequestError: ``prefix`` is not letters, digits and underscores.
    """
    check_table_prefix(prefix)
    md = sa.MetaData()
    version = sa.Table(
        f"{prefix}schema_version", md, sa.Column("version", sa.Integer, nullable=False)
    )
    usage = _usage_table(md, prefix, version=CURRENT_VERSION)
    return Tables(prefix, md, version, usage)


# ---- migrations ------------------------------------------------------------------------------
# Each step takes (connection, tables) and moves the schema up by one version. Steps only ever get
# appended: a released step is never edited, because databases in the field already ran it.


class Versioned(Protocol):
    """What `migrate` needs of a package's tables: their prefix and version table."""

    @property
    def prefix(self) -> str: ...  # pragma: no cover - protocol

    @property
    def version(self) -> sa.Table: ...  # pragma: no cover - protocol


T = TypeVar("T", bound=Versioned)


@dataclass(frozen=True)
class Migrations(Generic[T]):
    """One package's schema history: its name (for messages) and its steps, oldest first.

    The ledger and the budgets package each version their own tables (a budgets change never
    bumps the ledger's version, and the ledger schema knows nothing about budgets); both run
    through the one `migrate` below, under the same lock.
    """

    name: str
    steps: Sequence[Callable[[sa.Connection, T], None]]

    @property
    def current(self) -> int:
        """The version this tokman writes."""
        return len(self.steps)


def _v1_usage(conn: sa.Connection, t: Tables) -> None:
    """v1: the usage table as first released (no reasoning tokens)."""
    _usage_table(sa.MetaData(), t.prefix, version=1).create(conn)


def _v2_reasoning(conn: sa.Connection, t: Tables) -> None:
    """v2: reasoning tokens (o-series models) and a (model, time) index for per-model reports."""
    conn.execute(
        sa.text(f"ALTER TABLE {t.usage.name} ADD COLUMN reasoning_tokens BIGINT NOT NULL DEFAULT 0")
    )
    sa.Index(f"{t.prefix}usage_model_ts", t.usage.c.model, t.usage.c.ts_us).create(conn)


def _v3_nothing(conn: sa.Connection, t: Tables) -> None:
    """v3: nothing for the ledger.

    This step used to create the budget tables. They belong to `tokman.budgets` now, which
    versions and creates them itself (and adopts them where this step already ran), so a ledger
    at v3 may or may not hold budget tables, and the ledger never looks at them.
    """


LEDGER_MIGRATIONS: Migrations[Tables] = Migrations(
    "ledger", (_v1_usage, _v2_reasoning, _v3_nothing)
)
MIGRATIONS = LEDGER_MIGRATIONS.steps
assert LEDGER_MIGRATIONS.current == CURRENT_VERSION


def _found_version(conn: sa.Connection, version: sa.Table) -> int | None:
    """The stored version, or ``None`` when the version table does not exist."""
    if not sa.inspect(conn).has_table(version.name):
        return None
    return int(conn.execute(sa.select(sa.func.max(version.c.version))).scalar() or 0)


def _schema_error(m: Migrations[Any], found: int | None, url: str) -> StorageError:
    if found is None or found == 0:
        message = (
            f"No {m.name} at {url}: its tables do not exist, and a store opened read-only never "
            "creates them. Check the URL (and table_prefix), or open it once for writing."
        )
    elif found > m.current:
        message = (
            f"The {m.name}'s schema is version {found}, newer than this tokman's {m.current}: "
            "upgrade tokman (pip install -U tokman) to use it."
        )
    else:
        message = (
            f"The {m.name} at {url} has schema version {found}, older than this tokman's "
            f"{m.current}, and a store opened read-only never migrates it: open it once "
            "for writing (without mode='ro') to migrate it."
        )
    return StorageError(message, url=url, retryable=False, action="open")


def migrate(
    engine: sa.Engine, m: Migrations[T], t: T, *, url: str = "", readonly: bool = False
) -> int:
    """Bring ``t``'s tables to ``m.current``; returns the version found before.

    Concurrency: after a cheap unlocked check, the steps run in one transaction holding a lock
    (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction advisory lock on the prefix), and the
    version is read again under it, so twenty processes opening at once migrate exactly once.
    With ``readonly`` nothing is created or changed: a missing or older schema is an error.

    Raises:
        StorageError: The database was written by a newer tokman (never downgraded); or, when
            ``readonly``, the tables are missing or older.
    """
    with engine.connect() as conn:  # cheap check without taking the write lock
        found = _found_version(conn, t.version)
    if found == m.current:
        return found
    if readonly or (found is not None and found > m.current):
        raise _schema_error(m, found, url)
    with engine.connect().execution_options(tokman_immediate=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            key = zlib.crc32(f"tokman-migrate:{t.prefix}".encode()) & 0x7FFFFFFF
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        found = _found_version(conn, t.version)
        if found is None:
            t.version.create(conn)
            found = 0
        if found > m.current:
            raise _schema_error(m, found, url)
        for step in m.steps[found:]:
            step(conn, t)
        if found < m.current:
            conn.execute(t.version.delete())
            conn.execute(t.version.insert().values(version=m.current))
    return found


# ---- statements -------------------------------------------------------------------------------

#: The usage table's columns in table order: the order of the row tuples the SQL stores write
#: (checked against the table when a statement is compiled, so the two cannot drift apart).
USAGE_COLUMNS = (
    "id",
    "ts_us",
    "model",
    "deployment",
    "operation",
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "cost_e12",
    "price_id",
    "status",
    "latency",
    "tags",
    "reasoning_tokens",
)


def _check_columns(table: sa.Table) -> None:
    if tuple(table.c.keys()) != USAGE_COLUMNS:  # pragma: no cover - a schema edit without this
        raise AssertionError(f"{table.name} columns {table.c.keys()} != {USAGE_COLUMNS}")


def insert_usage(t: Tables, dialect: str, source: sa.Table | None = None) -> Any:
    """``INSERT ... ON CONFLICT (id) DO NOTHING``: storing the same id twice keeps the first.

    With ``source`` (a table with the usage columns, e.g. `staging_table`), the rows come from
    ``INSERT ... SELECT`` over it instead of bound parameters.
    """
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = mod.insert(t.usage)
    if source is not None:
        _check_columns(source)
        stmt = stmt.from_select(list(USAGE_COLUMNS), sa.select(*source.c))
    return stmt.on_conflict_do_nothing(index_elements=["id"])


def compiled_insert(t: Tables, dialect: sa.Dialect) -> str:
    """`insert_usage` as driver SQL with positional parameters in `USAGE_COLUMNS` order.

    The SQL stores bind plain row tuples straight to the driver's ``executemany`` with it,
    skipping SQLAlchemy's per-row parameter processing (the row builder does the conversions).
    A dialect with named parameters (psycopg's ``pyformat``) is compiled as ``format`` (``%s``),
    which the same driver accepts.
    """
    _check_columns(t.usage)
    if not dialect.positional:
        dialect = type(dialect)(paramstyle="format")  # type: ignore[call-arg]
    compiled = insert_usage(t, dialect.name).compile(
        dialect=dialect, column_keys=list(USAGE_COLUMNS)
    )
    if tuple(compiled.positiontup or ()) != USAGE_COLUMNS:  # pragma: no cover - defensive
        raise AssertionError(f"unexpected parameter order {compiled.positiontup}")
    return str(compiled.string)


def staging_table(t: Tables) -> sa.Table:
    """A session-private copy of the usage columns (no keys, no indexes) for bulk loads.

    PostgreSQL: ``CREATE TEMPORARY TABLE ... ON COMMIT DROP``; a batch is ``COPY``'d into it and
    moved with ``insert_usage(t, "postgresql", source=stage)``, so idempotency and every
    constraint are still those of the one ``INSERT ... ON CONFLICT DO NOTHING``.
    """
    return sa.Table(
        f"{t.prefix}usage_stage",
        sa.MetaData(),
        *[sa.Column(c.name, c.type) for c in t.usage.columns],
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )


def where(t: Tables, flt: Filter) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses for ``flt``."""
    u = t.usage.c
    clauses: list[sa.ColumnElement[bool]] = []
    if flt.since_us is not None:
        clauses.append(u.ts_us >= flt.since_us)
    if flt.until_us is not None:
        clauses.append(u.ts_us < flt.until_us)
    if flt.model is not None:
        clauses.append(u.model == flt.model)
    if flt.deployment is not None:
        clauses.append(u.deployment == flt.deployment)
    for key, value in flt.tags.items():
        clauses.append(u.tags[key].as_string() == value)
    return clauses


def group_column(t: Tables, key: str) -> sa.ColumnElement[Any]:
    """The SQL expression for a primitive group key."""
    u = t.usage.c
    if key == "day":
        return u.ts_us // sa.literal_column(str(DAY_US), sa.BigInteger)
    if key == "hour":
        return u.ts_us // sa.literal_column(str(HOUR_US), sa.BigInteger)
    if key.startswith("tag:"):
        tag: sa.ColumnElement[Any] = u.tags[key[4:]].as_string()
        return tag
    column: sa.ColumnElement[Any] = u[key]
    return column


def aggregate_statement(t: Tables, keys: Sequence[str], flt: Filter) -> sa.Select[Any]:
    """One GROUP BY over the usage table.

    The cost is summed in two integer parts (whole micro-dollars and the remainder) so that no
    database sum of 1e-12 USD units overflows a 64-bit integer (SQLite raises on overflow).
    """
    u = t.usage.c
    groups = [group_column(t, k).label(f"k{i}") for i, k in enumerate(keys)]
    million = sa.literal_column("1000000", sa.BigInteger)
    stmt = sa.select(
        *groups,
        sa.func.count(),
        sa.func.sum(u.prompt_tokens),
        sa.func.sum(u.cached_tokens),
        sa.func.sum(u.completion_tokens),
        sa.func.sum(u.reasoning_tokens),
        sa.func.sum(u.cost_e12 // million),
        sa.func.sum(u.cost_e12 % million),
        sa.func.sum(sa.case((u.cost_e12.is_(None), 1), else_=0)),
    ).where(*where(t, flt))
    if groups:
        # by output name: a JSON key is a bound parameter, and PostgreSQL cannot match two
        # separately bound copies of it between the select list and GROUP BY
        stmt = stmt.group_by(*[sa.literal_column(f"k{i}") for i in range(len(groups))])
    return stmt
