"""Durability, failure and migration behaviour of the SQL stores (and the spool)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from servers import drop_tables, unique_prefix
from tokman.errors import ConfigurationError, MissingDependencyError, StorageError
from tokman.ledger import UsageRecord, open_ledger
from tokman.ledger._schema import CURRENT_VERSION, tables

WRITER = Path(__file__).with_name("_writer.py")


def _sql_url(kind: str, tmp_path: Path, postgres_url: str) -> str:
    return f"sqlite:///{tmp_path}/ledger.db" if kind == "sqlite" else postgres_url


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_acknowledged_records_survive_kill_9(kind: str, tmp_path: Path, postgres_url: str) -> None:
    """Every record whose record() returned is in the database after the writer is SIGKILLed."""
    url, prefix = _sql_url(kind, tmp_path, postgres_url), unique_prefix()
    child = subprocess.Popen(
        [sys.executable, str(WRITER), url, prefix],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acked = []
    try:
        assert child.stdout.readline().strip() == "ready"
        while len(acked) < 300:
            acked.append(child.stdout.readline().strip())
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    ledger = open_ledger(url, table_prefix=prefix)
    try:
        stored = {r.id for r in ledger.query()}
        assert set(acked) <= stored
        assert len(stored) >= len(acked)
    finally:
        drop_tables(ledger)


def test_database_down_raises_storage_error_without_password() -> None:
    """A refused connection is a StorageError naming the URL with the password hidden."""
    url = "postgresql://postgres:s3cret-pw@127.0.0.1:1/test?connect_timeout=2"
    with pytest.raises(StorageError) as info:
        open_ledger(url)
    message = str(info.value)
    assert "s3cret-pw" not in message
    assert "postgresql://postgres:***@127.0.0.1:1/test" in message
    assert "spool=" in message
    assert isinstance(info.value.__cause__, sa.exc.OperationalError)


def test_unwritable_sqlite_path_raises_storage_error(tmp_path: Path) -> None:
    """A SQLite file that cannot be created is a StorageError, not a driver exception."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError, match="Could not open the ledger at sqlite:///"):
        open_ledger(f"sqlite:///{blocker}/sub/ledger.db")


def test_spool_keeps_records_while_down_and_replays(
    tmp_path: Path, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With spool=, a down database spools records (fsync'd) and a later replay stores them."""
    spool = tmp_path / "spool.jsonl"
    down = open_ledger("postgresql://postgres:pw@127.0.0.1:1/x?connect_timeout=2", spool=spool)
    with caplog.at_level(logging.WARNING, logger="tokman.ledger"):
        spooled = down.record(UsageRecord(id="s1", model="m", prompt_tokens=5))
        assert spooled.duplicate is False  # spooled records are not checked for duplicates
        assert down.record_many([UsageRecord(id="s2", model="m"), UsageRecord(id="s1")]) == 2
    assert "spooled" in caplog.text
    assert len(spool.read_text().splitlines()) == 3
    with pytest.raises(StorageError):
        down.replay_spool()
    assert len(spool.read_text().splitlines()) == 3  # a failed replay loses nothing
    up = open_ledger(postgres_url, spool=spool, table_prefix=unique_prefix())
    try:
        up.record(UsageRecord(id="s3", model="m"))  # a successful write replays the spool
        assert spool.read_text() == ""
        assert [(r.id, r.prompt_tokens) for r in up.query()] == [
            ("s1", 5),
            ("s2", 0),
            ("s3", 0),
        ]
        again = up.record(UsageRecord(id="s1", model="m", prompt_tokens=99))
        assert (again.duplicate, again.prompt_tokens) == (True, 5)
    finally:
        drop_tables(up)


V1_DDL = """
CREATE TABLE {p}usage (
    id VARCHAR(200) NOT NULL PRIMARY KEY,
    ts_us BIGINT NOT NULL,
    model VARCHAR(200) NOT NULL,
    deployment VARCHAR(200),
    operation VARCHAR(40) NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    cached_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cost_e12 BIGINT,
    price_id VARCHAR(200),
    status VARCHAR(20) NOT NULL,
    latency FLOAT,
    tags {json}
);
CREATE INDEX {p}usage_ts ON {p}usage (ts_us);
CREATE TABLE {p}schema_version (version INTEGER NOT NULL);
INSERT INTO {p}schema_version VALUES (1);
INSERT INTO {p}usage VALUES ('old-1', 1735689600000000, 'gpt-4o', NULL, 'chat', 10, 0, 5,
    2500000000, NULL, 'ok', NULL, '{{"user": "ann"}}');
"""


def _raw_database(url: str, prefix: str, ddl: str) -> sa.Engine:
    """An engine on ``url`` after running ``ddl`` (``{p}``: prefix, ``{json}``: JSON type) raw,
    as an older tokman would have left the database."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    script = ddl.format(p=prefix, json="JSON" if url.startswith("postgresql") else "TEXT")
    with engine.begin() as conn:
        for statement in filter(str.strip, script.split(";\n")):
            conn.exec_driver_sql(statement)
    return engine


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("version", [0, 1])
def test_older_schema_is_migrated(
    kind: str, version: int, tmp_path: Path, postgres_url: str
) -> None:
    """A v0 (empty) or v1 database made by raw SQL is migrated to the current version, data kept."""
    url, prefix = _sql_url(kind, tmp_path, postgres_url), unique_prefix()
    engine = _raw_database(url, prefix, V1_DDL if version == 1 else "")
    ledger = open_ledger(url, table_prefix=prefix)
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text(f"SELECT version FROM {prefix}schema_version")).all()
        assert found == [(CURRENT_VERSION,)]
        ledger.record(
            UsageRecord(
                id="new-1", model="o3", completion_tokens=9, reasoning_tokens=7, tags={"user": "bo"}
            )
        )
        records = {r.id: r for r in ledger.query()}
        assert records["new-1"].reasoning_tokens == 7
        if version == 1:
            old = records["old-1"]
            assert (old.prompt_tokens, old.reasoning_tokens, old.tags) == (10, 0, {"user": "ann"})
            assert str(old.cost) == "0.0025"
            assert [r.requests for r in ledger.summary(["tag:user"])] == [1, 1]
        assert {c["name"] for c in sa.inspect(engine).get_columns(f"{prefix}usage")} >= {
            "reasoning_tokens"
        }
        # budget tables belong to tokman.budgets: a ledger's schema never creates them
        assert not sa.inspect(engine).has_table(f"{prefix}budgets")
    finally:
        drop_tables(ledger)
        engine.dispose()


# What tokman 0.1's ledger schema v3 was: v1, the v2 step, and the budget tables it created.
V3_DDL = (
    V1_DDL.replace("VALUES (1)", "VALUES (3)")
    + """;
ALTER TABLE {p}usage ADD COLUMN reasoning_tokens BIGINT NOT NULL DEFAULT 0;
CREATE INDEX {p}usage_model_ts ON {p}usage (model, ts_us);
CREATE TABLE {p}budgets (
    id VARCHAR(200) NOT NULL PRIMARY KEY,
    unit VARCHAR(10) NOT NULL,
    limit_amount BIGINT NOT NULL,
    period VARCHAR(10) NOT NULL,
    scope {json} NOT NULL,
    spent BIGINT NOT NULL,
    period_start_us BIGINT NOT NULL
);
CREATE TABLE {p}budget_reservations (
    id VARCHAR(200) NOT NULL,
    budget_id VARCHAR(200) NOT NULL,
    amount BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    PRIMARY KEY (id, budget_id)
);
INSERT INTO {p}budgets VALUES ('team', 'tokens', 1000, 'none',
    '{{"model": null, "deployment": null, "tags": {{}}}}', 250, 0);
INSERT INTO {p}budget_reservations VALUES ('held', 'team', 100, 4102444800000000)
"""
)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_v3_ledger_with_budget_tables_keeps_working(
    kind: str, tmp_path: Path, postgres_url: str
) -> None:
    """A database made at ledger schema v3 (when the ledger created the budget tables) opens
    with the new code: the ledger stays v3, the budgets package adopts its tables at its own v1,
    and every record, budget, spend and reservation is still there."""
    from tokman.budgets import Budget, BudgetGuard
    from tokman.budgets._schema import BUDGET_MIGRATIONS, budget_tables

    url, prefix = _sql_url(kind, tmp_path, postgres_url), unique_prefix()
    engine = _raw_database(url, prefix, V3_DDL)
    ledger = open_ledger(url, table_prefix=prefix)
    try:
        assert [r.id for r in ledger.query()] == ["old-1"]
        guard = BudgetGuard(ledger)
        status = guard.status("team")
        assert (status.spent, status.reserved) == (250, 100)
        guard.reserve(prompt_tokens=600).settle(tokens=600)
        guard.add(Budget("new", 5, unit="tokens"))
        assert [b.id for b in guard.budgets()] == ["new", "team"]
        assert guard.status("team").spent == 850
        with engine.connect() as conn:
            ledger_version = conn.execute(sa.text(f"SELECT version FROM {prefix}schema_version"))
            assert ledger_version.all() == [(CURRENT_VERSION,)]
            version = budget_tables(prefix).version
            assert conn.execute(sa.select(version.c.version)).all() == [
                (BUDGET_MIGRATIONS.current,)
            ]
    finally:
        drop_tables(ledger)
        engine.dispose()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database from a newer tokman is not touched; the error says to upgrade."""
    url = f"sqlite:///{tmp_path}/new.db"
    open_ledger(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(tables().version.update().values(version=CURRENT_VERSION + 1))
    engine.dispose()
    with pytest.raises(StorageError, match="upgrade tokman"):
        open_ledger(url)


def test_unknown_scheme_and_missing_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad scheme is a ConfigurationError; PostgreSQL without psycopg names the extra."""
    with pytest.raises(ConfigurationError, match="mysql://u:\\*\\*\\*@h/db"):
        open_ledger("mysql://u:pw@h/db")
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "tokman\[postgres\]"'):
        open_ledger("postgresql://postgres@127.0.0.1/test")


def test_default_url_is_a_sqlite_file_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """open_ledger() with no URL uses $TOKMAN_LEDGER_URL, else ledger.db in the data dir."""
    import platformdirs

    monkeypatch.delenv("TOKMAN_LEDGER_URL", raising=False)
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda name: str(tmp_path / name))
    with open_ledger() as ledger:
        ledger.record(UsageRecord(id="d1"))
        assert ledger.url == f"sqlite:///{tmp_path}/tokman/ledger.db"
    assert (tmp_path / "tokman" / "ledger.db").exists()
    monkeypatch.setenv("TOKMAN_LEDGER_URL", "memory://")
    assert open_ledger().url == "memory://"


def test_import_loads_no_database_library() -> None:
    """UsageRecord, the ledger package and the backends seam (a bottom layer) import without
    SQLAlchemy, psycopg or redis-py."""
    code = (
        "import sys, tokman; tokman.UsageRecord; import tokman.ledger, tokman.budgets;"
        "import tokman._backends;"
        "heavy = ('sqlalchemy', 'psycopg', 'redis', 'matplotlib', 'rich');"
        "bad = [m for m in heavy if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _batch(n: int) -> list[UsageRecord]:
    return [UsageRecord(id=f"b{i}", model="m", prompt_tokens=i) for i in range(n)]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("n", [10, 1_000])  # 1,000: PostgreSQL's COPY bulk path
def test_a_failing_batch_stores_none_of_its_records(
    kind: str, n: int, tmp_path: Path, postgres_url: str
) -> None:
    """One row the database rejects (NOT NULL) fails the whole batch with a StorageError."""
    ledger = open_ledger(_sql_url(kind, tmp_path, postgres_url), table_prefix=unique_prefix())
    try:
        bad = UsageRecord(id="bad", model="m")
        object.__setattr__(bad, "model", None)  # what validation would never let through
        batch = _batch(n)
        batch.insert(n // 2, bad)
        with pytest.raises(StorageError) as info:
            ledger.record_many(batch)
        assert not info.value.retryable
        assert isinstance(info.value.__cause__, sa.exc.IntegrityError)
        assert ledger.query() == []
        assert ledger.record_many(_batch(n)) == n  # the store still works
        assert len(ledger.query()) == n
    finally:
        drop_tables(ledger)
        ledger.close()


def test_postgres_copy_errors_are_storage_errors(postgres_url: str) -> None:
    """A row the bulk COPY itself rejects (id longer than the column) is a StorageError."""
    ledger = open_ledger(postgres_url, table_prefix=unique_prefix())
    try:
        with pytest.raises(StorageError) as info:
            ledger.record_many([*_batch(1_000), UsageRecord(id="x" * 201, model="m")])
        assert isinstance(info.value.__cause__, sa.exc.DataError)
        assert not info.value.retryable
        assert ledger.query() == []
    finally:
        drop_tables(ledger)
        ledger.close()


def test_postgres_connection_lost_during_copy_is_retryable(postgres_url: str) -> None:
    """The server dropping the connection mid-COPY: a retryable StorageError, nothing stored,
    and the next write (on a fresh connection) stores the batch."""
    import psycopg

    ledger = open_ledger(postgres_url, table_prefix=unique_prefix())
    store: Any = ledger.store
    killed: list[int] = []

    def kill(conn: sa.Connection, cursor: Any, statement: str, *args: Any) -> None:
        if statement == store._stage_ddl and not killed:
            pid = conn.connection.driver_connection.info.backend_pid  # type: ignore[union-attr]
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                deadline = time.monotonic() + 10
                while admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)
                ).fetchone():
                    assert time.monotonic() < deadline, "backend did not terminate"
                    time.sleep(0.02)
            killed.append(pid)

    sa.event.listen(store.engine, "after_cursor_execute", kill)
    try:
        with pytest.raises(StorageError) as info:
            ledger.record_many(_batch(1_000))
        assert killed
        assert info.value.retryable
        assert ledger.record_many(_batch(1_000)) == 1_000
        assert len(ledger.query()) == 1_000
    finally:
        sa.event.remove(store.engine, "after_cursor_execute", kill)
        drop_tables(ledger)
        ledger.close()


@pytest.mark.parametrize("may_stage", [True, False])
def test_postgres_bulk_path_and_its_fallback(postgres_url: str, may_stage: bool) -> None:
    """Large batches stage through COPY when the role may create temporary tables, and use
    executemany (same result) when it may not."""
    ledger = open_ledger(postgres_url, table_prefix=unique_prefix())
    store: Any = ledger.store
    store._may_stage = may_stage
    statements: list[str] = []

    def seen(conn: sa.Connection, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        assert ledger.record_many([*_batch(1_000), *_batch(10)]) == 1_000  # repeats not counted
        assert sorted(r.prompt_tokens for r in ledger.query()) == list(range(1_000))
        assert (store._stage_ddl in statements) is may_stage
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
        drop_tables(ledger)
        ledger.close()
