"""Database servers for tests: use the configured one if reachable, else start a throwaway one.

PostgreSQL: ``$TOKMAN_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
is used when a connection succeeds within two seconds. Otherwise `postgres_url` builds a
private cluster from the installed server binaries (``/usr/lib/postgresql/*/bin/initdb`` and
``pg_ctl``, or the ones on ``PATH``) in a temporary directory, with trust authentication, on a
free local port, and stops it at the end of the session. When the tests run as root the cluster
is created and run as the ``postgres`` system user (``initdb`` refuses root). Tests never skip:
if neither works, the fixture fails with the reason.

Redis: ``$TOKMAN_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) is used when it answers
a PING within two seconds; otherwise `redis_url` starts a throwaway ``redis-server`` (the
installed binary, on ``PATH`` or ``/usr/bin``) on a free local port without persistence, and
stops it at the end of the session. `start_redis` starts one more (tests that stop a server).

Every test gets its own table prefix (`unique_prefix`) and drops its tables afterwards, so runs
can share one database, in parallel too.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _reachable(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(f"PostgreSQL is not reachable and {name} is not installed")
    return on_path


def _as_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL that answers: the configured server or a throwaway cluster."""
    url = os.environ.get("TOKMAN_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    if _reachable(url):
        yield url
        return
    tmp = tempfile.mkdtemp(prefix="tokman-pg-")
    data = os.path.join(tmp, "data")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    port = _free_port()
    subprocess.run(
        _as_user([_pg_bin("initdb"), "-D", data, "-U", "postgres", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_user(
            [
                _pg_bin("pg_ctl"),
                "-D",
                data,
                "-l",
                os.path.join(tmp, "log"),
                "-w",
                "-o",
                f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        while not _reachable(url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"throwaway PostgreSQL in {tmp} did not start")
            time.sleep(0.2)
        yield url
    finally:
        subprocess.run(
            _as_user([_pg_bin("pg_ctl"), "-D", data, "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(tmp, ignore_errors=True)


def _redis_answers(url: str) -> bool:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


class RedisServer:
    """A throwaway ``redis-server`` process on a free port (no persistence); with
    ``cluster=True`` a one-node Redis Cluster owning every slot (``url`` is then
    ``redis+cluster://``)."""

    def __init__(self, *, cluster: bool = False) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.path.exists(binary):
            raise RuntimeError("Redis is not reachable and redis-server is not installed")
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="tokman-redis-")
        # the cluster bus defaults to port + 10000, past 65535 for a free port above 55535:
        # give it a free port of its own (Redis 7's cluster-port)
        extra = (
            ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-port", str(_free_port())]
            if cluster
            else []
        )  # fmt: skip
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._dir, *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not _redis_answers(self.url):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"throwaway redis-server on port {self.port} did not start")
            time.sleep(0.05)
        if cluster:
            import redis

            client = redis.Redis(port=self.port)
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            while b"cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("throwaway Redis Cluster did not come up")
                time.sleep(0.05)
            client.close()
            self.url = f"redis+cluster://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis URL that answers: the configured server or a throwaway ``redis-server``."""
    url = os.environ.get("TOKMAN_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    if _redis_answers(url):
        yield url
        return
    server = RedisServer()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def start_redis() -> Iterator[Callable[..., RedisServer]]:
    """Start throwaway Redis servers (stopped at the end of the test, if still running)."""
    started: list[RedisServer] = []

    def start(*, cluster: bool = False) -> RedisServer:
        started.append(RedisServer(cluster=cluster))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def name(request: pytest.FixtureRequest) -> Iterator[str]:
    """A rate-limit quota name no other test uses (its Redis keys are deleted afterwards)."""
    unique = f"t{uuid.uuid4().hex[:12]}"
    yield unique
    if "redis_url" in request.fixturenames:
        import redis

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        keys = list(client.scan_iter(match=f"{{tokman:{unique}}}*"))
        if keys:
            client.delete(*keys)
        client.close()


def unique_prefix() -> str:
    """A table prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}_"


def drop_tables(ledger: object) -> None:
    """Drop a SQL ledger's tables and its budget tables (no-op for memory); used by every
    fixture's teardown."""
    store = getattr(ledger, "store", None)
    engine = getattr(store, "engine", None)
    if engine is not None:
        from tokman.budgets._schema import budget_tables

        budget_tables(store.table_prefix).metadata.drop_all(engine)  # type: ignore[union-attr]
        store.tables.metadata.drop_all(engine)  # type: ignore[union-attr]
        engine.dispose()


STORES = ["memory", "sqlite", "postgresql"]


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Every behavioural test runs once per store."""
    return str(request.param)


@pytest.fixture
def ledger_url(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of an empty ledger of the current kind."""
    if store_kind == "memory":
        return "memory://"
    if store_kind == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def table_prefix() -> str:
    """This test's own table prefix."""
    return unique_prefix()


@pytest.fixture
def make_ledger(ledger_url: str, table_prefix: str) -> Iterator[Callable[..., Any]]:
    """Opens ledgers on the current store under this test's prefix; drops the tables after."""
    from tokman.ledger import open_ledger

    opened: list[Any] = []

    def make(**kwargs: Any) -> Any:
        ledger = open_ledger(ledger_url, table_prefix=table_prefix, **kwargs)
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()
    if opened:
        drop_tables(opened[0])


@pytest.fixture
def ledger(make_ledger: Callable[..., Any]) -> Any:
    """An empty ledger on the current store."""
    return make_ledger()
