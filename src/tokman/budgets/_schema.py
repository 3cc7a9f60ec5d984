"""The budgets package's own tables and migrations (SQLAlchemy Core), beside a ledger's tables.

Budgets live in the ledger's database but not in its schema: they are versioned in their own
``budgets_schema_version`` table and migrated by the ledger's one runner (`ledger._schema.migrate`,
same lock), so a budgets change never touches the ledger's version and the ledger schema knows
nothing about budgets. The tables are created on a budget store's first use, not when a ledger
opens.

History: tokman 0.1 created these two tables in ledger schema v3. Budgets v1 adopts them where
they exist (same names, same columns), so those databases keep every budget and reservation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa

from tokman._backends import check_table_prefix
from tokman.ledger._schema import Migrations

__all__ = ["BUDGET_MIGRATIONS", "BudgetTables", "budget_tables"]


@dataclass(frozen=True)
class BudgetTables:
    """The budget tables for one table prefix (the ledger's prefix)."""

    prefix: str
    metadata: sa.MetaData
    version: sa.Table
    budgets: sa.Table
    reservations: sa.Table


@cache
def budget_tables(prefix: str = "") -> BudgetTables:
    """The current budget tables for ``prefix`` (cached, like the ledger's `tables`)."""
    check_table_prefix(prefix)
    md = sa.MetaData()
    version = sa.Table(
        f"{prefix}budgets_schema_version", md, sa.Column("version", sa.Integer, nullable=False)
    )
    budgets = sa.Table(
        f"{prefix}budgets",
        md,
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("unit", sa.String(10), nullable=False),
        sa.Column("limit_amount", sa.BigInteger, nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("scope", sa.JSON, nullable=False),
        sa.Column("spent", sa.BigInteger, nullable=False),
        sa.Column("period_start_us", sa.BigInteger, nullable=False),
    )
    reservations = sa.Table(
        f"{prefix}budget_reservations",
        md,
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("budget_id", sa.String(200), primary_key=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=False),
    )
    return BudgetTables(prefix, md, version, budgets, reservations)


# Steps only ever get appended: a released step is never edited.


def _v1_tables(conn: sa.Connection, t: BudgetTables) -> None:
    """v1: budgets and their in-flight reservations (adopted where ledger schema v3 made them)."""
    t.budgets.create(conn, checkfirst=True)
    t.reservations.create(conn, checkfirst=True)


BUDGET_MIGRATIONS: Migrations[BudgetTables] = Migrations("budgets", (_v1_tables,))
