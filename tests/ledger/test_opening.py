"""Opening ledgers: every URL form, the read-only mode, and typed errors for every bad input."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from servers import drop_tables, unique_prefix
from tokman.errors import ConfigurationError, InvalidRequestError, StorageError
from tokman.ledger import Ledger, UsageRecord, open_ledger

# ---- URL forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg", "POSTGRES"])
def test_every_postgres_spelling_reaches_the_server(postgres_url: str, scheme: str) -> None:
    """postgres:// (libpq's alias, which SQLAlchemy rejects) works end to end like postgresql://."""
    url = scheme + "://" + postgres_url.split("://", 1)[1]
    ledger = open_ledger(url, table_prefix=unique_prefix())
    try:
        assert ledger.store.dialect == "postgresql"  # type: ignore[attr-defined]
        ledger.record(UsageRecord(id="pg", model="m", prompt_tokens=3))
        assert [(r.id, r.prompt_tokens) for r in ledger.query()] == [("pg", 3)]
        assert ledger.url == url
    finally:
        drop_tables(ledger)


def test_libpq_options_reach_the_server(postgres_url: str) -> None:
    """Query options tokman does not read itself (application_name, sslmode...) go to libpq
    instead of being dropped."""
    sep = "&" if "?" in postgres_url else "?"
    ledger = open_ledger(
        f"{postgres_url}{sep}application_name=tokman-test-app", table_prefix=unique_prefix()
    )
    try:
        with ledger.store.engine.connect() as conn:  # type: ignore[attr-defined]
            name = conn.exec_driver_sql("SHOW application_name").scalar()
        assert name == "tokman-test-app"
    finally:
        drop_tables(ledger)


@pytest.mark.parametrize(
    ("path", "suggested"),
    [("/x/usage.db", "sqlite:////x/usage.db"), ("usage.db", "sqlite:///usage.db")],
)
def test_a_plain_path_suggests_the_sqlite_url(path: str, suggested: str) -> None:
    """A file path instead of a URL is a ConfigurationError that spells out the right URL."""
    with pytest.raises(ConfigurationError) as info:
        open_ledger(path)
    assert f"'{suggested}'" in str(info.value)
    assert not Path(path).exists()


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://", "sqlite:///?synchronous=full"])
def test_sqlite_without_a_path_is_an_error_not_an_in_memory_ledger(url: str) -> None:
    """A SQLite URL with no file used to open a throwaway in-memory ledger silently."""
    with pytest.raises(ConfigurationError, match=r"names no SQLite file.*sqlite:///:memory:"):
        open_ledger(url)


def test_in_memory_sqlite_only_when_asked_for() -> None:
    """sqlite:///:memory: is an explicit, working, throwaway SQLite ledger."""
    with open_ledger("sqlite:///:memory:") as ledger:
        ledger.record(UsageRecord(id="m1", model="m"))
        assert [r.id for r in ledger.query()] == ["m1"]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: open_ledger(5), ConfigurationError, r"url=5 is invalid: a storage URL"),  # type: ignore[arg-type]
        (lambda: open_ledger(""), ConfigurationError, r"url='' is empty"),
        (
            lambda p: open_ledger(f"sqlite:///{p}/l.db?synchronous=bogus"),
            ConfigurationError,
            r"synchronous='bogus'.*full .*normal or extra",
        ),
        (
            lambda p: open_ledger(f"sqlite:///{p}/l.db?timeout=soon"),
            ConfigurationError,
            r"timeout='soon'.*a number >= 0",
        ),
        (
            lambda p: open_ledger(f"sqlite:///{p}/l.db?journal=wal"),
            ConfigurationError,
            r"option 'journal'.*synchronous, timeout, mode",
        ),
        (
            lambda p: open_ledger(f"sqlite:///{p}/l.db", table_prefix="bad-prefix;"),
            InvalidRequestError,
            r"table_prefix='bad-prefix;' is invalid: ASCII letters, digits and underscores",
        ),
        (
            lambda: open_ledger("memory://", table_prefix=3),  # type: ignore[arg-type]
            InvalidRequestError,
            r"table_prefix=3 is invalid",
        ),
        (
            lambda: open_ledger("postgresql://u:pw@localhost:notaport/db"),
            ConfigurationError,
            r"port 'notaport' in url='postgresql://u:\*\*\*@localhost:notaport/db'.*1 to 65535",
        ),
        (
            lambda: open_ledger("postgresql://u@localhost/db?pool_size=0"),
            ConfigurationError,
            r"pool_size='0'.*an integer >= 1",
        ),
        (
            lambda: open_ledger("memory://", mode="w"),  # type: ignore[arg-type]
            InvalidRequestError,
            r"mode='w' is invalid: 'rwc'.*'ro'",
        ),
        (
            lambda p: open_ledger(f"sqlite:///{p}/l.db?mode=ro", mode="rwc"),
            StorageError,
            r"No ledger at",
        ),
        (
            lambda p: open_ledger(f"sqlite:///{p}/l.db?mode=rw"),
            ConfigurationError,
            r"mode='rw'.*rwc \(the default\) or ro",
        ),
        (
            lambda p: open_ledger("memory://", spool=f"{p}/s.jsonl", mode="ro"),
            ConfigurationError,
            r"spool=.*mode='ro' is invalid",
        ),
        (
            lambda: open_ledger("redis://localhost:6379/0"),
            ConfigurationError,
            r"A ledger cannot be kept at 'redis://localhost:6379/0'.*sqlite:///",
        ),
    ],
    ids=[
        "not-a-string",
        "empty",
        "synchronous",
        "timeout",
        "unknown-option",
        "prefix",
        "prefix-type",
        "port",
        "pool_size",
        "mode",
        "url-mode-ro",
        "url-mode-bad",
        "spool-ro",
        "redis-ledger",
    ],
)
def test_bad_input_raises_a_typed_error_naming_field_value_and_fix(
    call: object, error: type[Exception], message: str, tmp_path: Path
) -> None:
    """No raw ValueError/TypeError from SQLAlchemy or int(): each names the field and the fix,
    and nothing is created on the way."""
    import inspect

    assert callable(call)
    with pytest.raises(error, match=message):
        call(tmp_path) if inspect.signature(call).parameters else call()
    assert list(tmp_path.iterdir()) == []


def test_a_bad_environment_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """open_ledger(None) with a bad $TOKMAN_LEDGER_URL says where the URL came from."""
    monkeypatch.setenv("TOKMAN_LEDGER_URL", "postgresql://u:pw@h:99999/db")
    with pytest.raises(ConfigurationError, match=r"port '99999'"):
        open_ledger(None)
    monkeypatch.setenv("TOKMAN_LEDGER_URL", "ledger.db")
    with pytest.raises(ConfigurationError, match=r"\$TOKMAN_LEDGER_URL='ledger.db'.*sqlite:///"):
        open_ledger()


# ---- read-only mode ----------------------------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[Path]:
    """A closed SQLite ledger with two records (WAL checkpointed away, as after a clean exit)."""
    path = tmp_path / "ledger.db"
    with open_ledger(f"sqlite:///{path}") as ledger:
        ledger.record_many(
            [UsageRecord(id="a", model="m", prompt_tokens=1), UsageRecord(id="b", model="m")]
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.db"]
    yield path


def test_read_only_never_creates_a_database(tmp_path: Path) -> None:
    """mode='ro' on a missing file: a StorageError 'No ledger at PATH'; no file, no directory."""
    missing = tmp_path / "sub" / "ledger.db"
    with pytest.raises(StorageError, match=f"No ledger at {missing}") as info:
        open_ledger(f"sqlite:///{missing}", mode="ro")
    assert info.value.retryable is False
    assert not (tmp_path / "sub").exists()
    empty = tmp_path / "empty.db"
    empty.touch()  # a file, but no ledger in it: still nothing created inside
    with pytest.raises(StorageError, match=r"No ledger at sqlite:///.*read-only never creates"):
        open_ledger(f"sqlite:///{empty}", mode="ro").query()
    assert empty.stat().st_size == 0
    with pytest.raises(StorageError, match="No ledger at memory://"):
        open_ledger("memory://", mode="ro")
    with pytest.raises(StorageError, match="No ledger at sqlite:///:memory:"):
        open_ledger("sqlite:///:memory:", mode="ro")


def test_read_only_reads_and_sqlite_itself_refuses_writes(sqlite_file: Path) -> None:
    """Reads work; tokman refuses writes up front, and SQLite refuses them too (mode=ro is
    enforced by SQLite whoever runs it, root included); the file's bytes never change."""
    before = _digest(sqlite_file)
    for url, mode in (
        (f"sqlite:///{sqlite_file}", "ro"),
        (f"sqlite:///{sqlite_file}?mode=ro", "rwc"),
    ):
        ledger = open_ledger(url, mode=mode)  # type: ignore[arg-type]
        assert "(read-only)" in repr(ledger)
        assert [r.id for r in ledger.query()] == ["a", "b"]
        assert ledger.summary([])[0].requests == 2
        with pytest.raises(InvalidRequestError, match=r"mode='ro'.*opened read-only"):
            ledger.record(UsageRecord(id="c"))
        with pytest.raises(InvalidRequestError, match="read-only"):
            ledger.record_many([UsageRecord(id="c")])
        engine = ledger.store.engine  # type: ignore[attr-defined]
        with pytest.raises(sa.exc.OperationalError, match="readonly database"), engine.begin() as c:
            c.exec_driver_sql("DELETE FROM usage")
        ledger.close()
    assert _digest(sqlite_file) == before
    with open_ledger(f"sqlite:///{sqlite_file}") as ledger:
        assert len(ledger.query()) == 2


def test_read_only_refuses_an_old_schema_instead_of_migrating(tmp_path: Path) -> None:
    """An older schema is not migrated by a reader: the error says to open it for writing."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (1)")
    before = _digest(path)
    with pytest.raises(StorageError, match=r"version 1, older.*open it once for writing"):
        open_ledger(f"sqlite:///{path}", mode="ro")
    assert _digest(path) == before


def _run_without_root_powers(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child that file permissions bind, even when the tests run as root
    (root without CAP_DAC_OVERRIDE obeys chmod; as another user chmod binds anyway)."""
    cmd = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root's file-permission override"
        cmd = [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", *cmd]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("folder_mode", [0o755, 0o555], ids=["writable-dir", "read-only-dir"])
def test_a_read_only_file_can_be_reported(folder_mode: int) -> None:
    """A chmod 444 file, in a writable or a chmod 555 directory: `tokman report` reads it and
    changes nothing (in a read-only directory not even a -shm/-wal side file appears); proven in
    a child that cannot bypass file permissions."""
    top = Path(tempfile.mkdtemp(prefix="tokman-ro-"))
    top.chmod(0o755)
    folder = top / "ledger"
    folder.mkdir()
    path = folder / "ledger.db"
    with open_ledger(f"sqlite:///{path}") as ledger:
        ledger.record_many([UsageRecord(id=f"r{i}", model="gpt-4o") for i in range(3)])
    before = _digest(path)
    path.chmod(0o444)
    folder.chmod(folder_mode)
    try:
        probe = _run_without_root_powers(f"open({str(path)!r}, 'a')")
        assert probe.returncode != 0 and "Permission denied" in probe.stderr  # really read-only
        out = _run_without_root_powers(
            "from tokman.cli import cli; cli(['report', '--ledger', "
            f"{'sqlite:///' + str(path)!r}, '--by', 'model', '--format', 'csv'])"
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[1].startswith("gpt-4o,3,")
        assert _digest(path) == before
        if folder_mode == 0o555:
            assert sorted(p.name for p in folder.iterdir()) == ["ledger.db"]
    finally:
        folder.chmod(0o755)
        shutil.rmtree(top)


def test_postgres_read_only_reads_and_the_server_refuses_writes(postgres_url: str) -> None:
    """PostgreSQL mode='ro': no tables are created where none exist, reads work, and the
    session is read-only on the server side."""
    prefix = unique_prefix()
    with pytest.raises(StorageError, match=f"No ledger at {postgres_url}"):
        open_ledger(postgres_url, table_prefix=prefix, mode="ro")
    writer = open_ledger(postgres_url, table_prefix=prefix)
    try:
        writer.record(UsageRecord(id="w", model="m"))
        reader = open_ledger(postgres_url, table_prefix=prefix, mode="ro")
        assert [r.id for r in reader.query()] == ["w"]
        with pytest.raises(InvalidRequestError, match="read-only"):
            reader.record(UsageRecord(id="x"))
        engine = reader.store.engine  # type: ignore[attr-defined]
        with (
            pytest.raises(sa.exc.InternalError, match="read-only transaction"),
            engine.begin() as c,
        ):
            c.exec_driver_sql(f"DELETE FROM {prefix}usage")
        reader.close()
    finally:
        drop_tables(writer)
    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as c:
        assert not sa.inspect(c).has_table(f"{prefix}schema_version")
    engine.dispose()


def test_report_command_on_a_missing_ledger_prints_one_line(tmp_path: Path) -> None:
    """`tokman report` never creates a ledger: a missing file is one 'No ledger at' line, exit 1."""
    from click.testing import CliRunner

    from tokman.cli.report import report

    missing = tmp_path / "nope.db"
    out = CliRunner().invoke(report, ["--ledger", f"sqlite:///{missing}"])
    assert out.exit_code == 1
    assert out.output.strip().splitlines() == [
        f"Error: No ledger at {missing} (sqlite:///{missing}): the file does not exist, and a "
        "ledger opened read-only never creates one. Check the path."
    ]
    assert list(tmp_path.iterdir()) == []


# ---- duplicates --------------------------------------------------------------------------------


def test_recording_a_stored_id_returns_the_stored_record(ledger: Ledger) -> None:
    """record() of an id already stored returns what the ledger keeps, flagged duplicate."""
    first = ledger.record(UsageRecord(id="d", model="gpt-4o", prompt_tokens=10, tags={"u": "a"}))
    assert first.duplicate is False
    again = ledger.record(UsageRecord(id="d", model="o3", prompt_tokens=999, tags={"u": "b"}))
    assert again.duplicate is True
    assert (again.model, again.prompt_tokens, again.tags) == ("gpt-4o", 10, {"u": "a"})
    assert again == first and again.cost == first.cost
    assert ledger.query() == [first]


def test_concurrent_records_of_one_id_agree_on_the_winner(ledger: Ledger) -> None:
    """Eight threads record one id at once: one stores it, seven get that same record back."""
    barrier = threading.Barrier(8)
    results: list[UsageRecord] = []

    def write(n: int) -> None:
        barrier.wait()
        results.append(ledger.record(UsageRecord(id="same", model="m", prompt_tokens=n)))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if not r.duplicate]
    assert len(winners) == 1 and len(results) == 8
    assert {r.prompt_tokens for r in results} == {winners[0].prompt_tokens}
    assert ledger.query() == winners
