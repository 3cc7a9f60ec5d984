"""How the SQL stores turn records into rows and statements (the fast write path's pieces)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from tokman.ledger import UsageRecord
from tokman.ledger._schema import USAGE_COLUMNS, compiled_insert, staging_table, tables
from tokman.ledger.sql import _row, tags_json


@pytest.mark.parametrize(
    "tags",
    [
        {"user": "ann"},
        {"user": "u1", "feature": "bench", "tenant": "acme"},
        {'q"uo\\te': "tab\tnew\nline\x00\x1f", "ünï": "日本 😀 \u2028\u2029"},
        {"": ""},
    ],
)
def test_tags_json_is_json_dumps(tags: dict[str, str]) -> None:
    """The row's tags text is byte for byte what SQLAlchemy's JSON type stored (json.dumps)."""
    assert tags_json(tags) == json.dumps(tags)
    assert json.loads(tags_json(tags) or "") == tags


def test_empty_tags_are_null() -> None:
    """No tags is SQL NULL, as before (``none_as_null``)."""
    assert tags_json({}) is None


def test_row_follows_the_table_columns() -> None:
    """`_row` yields every usage column in table order, with integer time and cost."""
    assert tuple(tables("x_").usage.c.keys()) == USAGE_COLUMNS
    r = UsageRecord(
        id="a",
        time=datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=timezone.utc),
        model="m",
        deployment="d",
        operation="embeddings",
        prompt_tokens=6,
        cached_tokens=2,
        completion_tokens=8,
        reasoning_tokens=4,
        cost=Decimal("0.000000000001"),
        price_id="p",
        status="error",
        latency=0.5,
        tags={"k": "v"},
    )
    assert dict(zip(USAGE_COLUMNS, _row(r), strict=True)) == {
        "id": "a",
        "ts_us": 1_000_005,
        "model": "m",
        "deployment": "d",
        "operation": "embeddings",
        "prompt_tokens": 6,
        "cached_tokens": 2,
        "completion_tokens": 8,
        "reasoning_tokens": 4,
        "cost_e12": 1,
        "price_id": "p",
        "status": "error",
        "latency": 0.5,
        "tags": '{"k": "v"}',
    }
    bare = _row(UsageRecord(id="b", model="m"))
    assert bare[USAGE_COLUMNS.index("cost_e12")] is None
    assert bare[USAGE_COLUMNS.index("tags")] is None


@pytest.mark.parametrize(
    ("dialect", "marker"),
    [(sqlite.pysqlite.dialect(), "?"), (postgresql.psycopg.dialect(), "%s")],  # type: ignore[no-untyped-call]
)
def test_compiled_insert_is_the_core_statement(dialect: object, marker: str) -> None:
    """One Core statement, compiled per dialect: every column positional, ON CONFLICT kept."""
    sql = compiled_insert(tables("x_"), dialect)  # type: ignore[arg-type]
    assert sql.startswith("INSERT INTO x_usage (" + ", ".join(USAGE_COLUMNS) + ")")
    assert sql.count(marker) == len(USAGE_COLUMNS)
    assert sql.endswith("ON CONFLICT (id) DO NOTHING")


def test_staging_table_mirrors_usage_without_keys() -> None:
    """The PostgreSQL staging table has the usage columns and types, and no key or index."""
    t = tables("x_")
    stage = staging_table(t)
    assert tuple(stage.c.keys()) == USAGE_COLUMNS
    assert [type(c.type) for c in stage.c] == [type(c.type) for c in t.usage.c]
    assert not stage.primary_key.columns and not stage.indexes
    assert stage.metadata is not t.metadata  # never created or dropped with the ledger's tables
