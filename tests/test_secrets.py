"""A password never leaves the URL it was written in (issue 10).

A sentinel password is written into every URL form tokman takes, good and bad: ledgers through
`open_ledger` (and budgets through `BudgetGuard` on them), Redis URLs through the backends parser,
redactor and error mapping, and `tokman report --ledger URL`. Each case asserts that the sentinel
is in no exception (message, repr, args, attributes, the whole cause chain and its formatted
traceback), no log record at DEBUG, nothing on stdout/stderr and no warning.
"""

from __future__ import annotations

import logging
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from servers import drop_tables, unique_prefix
from tokman._backends import Factories, parse_url, redact, storage_errors
from tokman.budgets import Budget, BudgetGuard
from tokman.errors import TokmanError
from tokman.ledger import Ledger, UsageRecord, open_ledger

SENTINEL = "Sntl7qXz"
DOWN = "127.0.0.1:1"  # nothing listens on port 1: connection refused

BAD_LEDGER_URLS = {
    "userinfo": f"postgresql://postgres:{SENTINEL}@{DOWN}/test?connect_timeout=2",
    "postgres-alias": f"postgres://postgres:{SENTINEL}@{DOWN}/test?connect_timeout=2",
    "query": f"postgresql://postgres@{DOWN}/test?password={SENTINEL}&connect_timeout=2",
    "at-in-password": f"postgresql://postgres:pa@{SENTINEL}@{DOWN}/test?connect_timeout=2",
    "at-and-slash": f"postgresql://postgres:p/a@{SENTINEL}@{DOWN}/test?connect_timeout=2",
    "percent-encoded": f"postgresql://postgres:{quote('a@' + SENTINEL, safe='')}@{DOWN}/test",
    "sslpassword": f"postgresql://postgres@{DOWN}/test?sslpassword={SENTINEL}&connect_timeout=2",
    "libpq-keywords": f"host=127.0.0.1 port=1 password={SENTINEL} dbname=test",
    "libpq-quoted": f"host=127.0.0.1 password='{SENTINEL} x' dbname=test",
    "bad-port": f"postgresql://postgres:{SENTINEL}@127.0.0.1:notaport/test",
    "bad-port-at": f"postgresql://postgres:x@{SENTINEL}@127.0.0.1:notaport/test",
    "unresolvable": f"postgresql://postgres:{SENTINEL}@no-such-host.invalid/test?connect_timeout=2",
    "unknown-scheme": f"mysql://root:{SENTINEL}@db/x",
    "no-scheme": f"postgres:{SENTINEL}@127.0.0.1/test",
    "one-slash": f"postgresql:/u:{SENTINEL}@127.0.0.1/test",
    "redis-as-ledger": f"redis://:{SENTINEL}@127.0.0.1:6379/0",
    "sqlite-option": f"sqlite:////tmp/tokman-never-created.db?password={SENTINEL}",
    "duplicate-option": f"postgresql://u@h/db?password={SENTINEL}&password={SENTINEL}",
}

REDIS_URLS = {
    "redis": f"redis://:{SENTINEL}@127.0.0.1:1/0",
    "redis-user": f"redis://default:{SENTINEL}@127.0.0.1:1/0",
    "rediss": f"rediss://default:{SENTINEL}@127.0.0.1:1",
    "cluster": f"redis+cluster://u:{SENTINEL}@127.0.0.1:1,127.0.0.1:2",
    "at-in-password": f"redis://:x@{SENTINEL}@127.0.0.1:1/0",
    "query": f"redis://127.0.0.1:1/0?password={SENTINEL}",
    "bad-port": f"redis://:{SENTINEL}@127.0.0.1:notaport/0",
    "bad-db": f"redis://:{SENTINEL}@127.0.0.1:6379/zero",
    "cluster-bad-port": f"redis+cluster://u:{SENTINEL}@h1:7000,h2:x",
}


def _texts(exc: BaseException) -> list[str]:
    """Everything an exception shows: message, repr, args and public attributes along the cause
    chain, and the traceback `logging.exception` would print."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        # public attributes (psycopg keeps its full conninfo on the private ``_pgconn``)
        public = {k: v for k, v in getattr(current, "__dict__", {}).items() if k[:1] != "_"}
        texts += [repr(v) for v in public.values()]
        current = current.__cause__ or current.__context__
    return texts


@contextmanager
def no_sentinel(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> Iterator[list[BaseException]]:
    """Run a block, collecting tokman errors (yielded list); then check every output channel."""
    caught: list[BaseException] = []
    caplog.clear()
    with caplog.at_level(logging.DEBUG), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            yield caught
        except TokmanError as exc:
            caught.append(exc)
    out, err = capsys.readouterr()
    channels = {"stdout": out, "stderr": err, "log": caplog.text}
    channels |= {f"log args {r.name}": repr(r.args) + r.getMessage() for r in caplog.records}
    channels |= {f"warning {w.category.__name__}": str(w.message) for w in seen}
    for exc in caught:
        channels |= {f"{type(exc).__name__} #{i}": t for i, t in enumerate(_texts(exc))}
    leaks = [name for name, text in channels.items() if SENTINEL in text]
    assert not leaks, f"sentinel leaked through {leaks}"


def _use(ledger: Ledger, caught: list[BaseException]) -> None:
    """Record (spooled while down), replay, and use budgets on ``ledger``, collecting errors."""
    guard = BudgetGuard(ledger)
    steps: list[Callable[[], object]] = [
        lambda: ledger.record(UsageRecord(id="s", model="m")),
        lambda: ledger.record_many([UsageRecord(id="t")]),
        ledger.replay_spool,
        lambda: guard.add(Budget("b", 10, unit="tokens")),
        lambda: guard.reserve(prompt_tokens=1),
        lambda: repr(guard.store),
    ]
    for step in steps:
        try:
            print(repr(step()))
        except TokmanError as exc:
            caught.append(exc)


@pytest.mark.parametrize("url", BAD_LEDGER_URLS.values(), ids=BAD_LEDGER_URLS.keys())
def test_bad_ledger_urls_never_show_the_password(
    url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Opening fails with a tokman error; with a spool, opening may succeed, and then records
    (spooled, with warnings), replays and budgets fail or warn without the password."""
    for spool in (None, tmp_path / "spool.jsonl"):
        with no_sentinel(caplog, capsys) as caught:
            ledger = open_ledger(url, spool=spool)
            print(repr(ledger), ledger.url, repr(ledger.store))
            _use(ledger, caught)
        assert caught, "expected a tokman error"


def test_a_working_ledger_with_a_password_never_shows_it(
    postgres_url: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The test server trusts every password, so the sentinel really is used to connect: reprs,
    SQLAlchemy's DEBUG logs, budget stores and data errors stay clean, in both URL forms."""
    rest = postgres_url.split("://", 1)[1]
    user, _, host = rest.rpartition("@")
    sep = "&" if "?" in rest else "?"
    for url in (
        f"postgres://{user}:x@{SENTINEL}@{host}",
        f"postgresql://{rest}{sep}password={SENTINEL}",
    ):
        ledger = None
        with no_sentinel(caplog, capsys) as caught:
            ledger = open_ledger(url, table_prefix=unique_prefix())
            store: Any = ledger.store
            print(repr(ledger), repr(store), repr(store.engine), repr(store.engine.url))
            ledger.record(UsageRecord(id="a", model="gpt-4o", prompt_tokens=5))
            print(ledger.query(), ledger.summary(["model"]))
            guard = BudgetGuard(ledger)
            print(repr(guard.store))
            guard.add(Budget("b", 100, unit="tokens"))
            guard.reserve(model="m", prompt_tokens=1).settle(tokens=1)
            bad = UsageRecord(id="bad", model="m")
            object.__setattr__(bad, "model", None)  # a row the database rejects
            ledger.record(bad)
        assert [type(e).__name__ for e in caught] == ["StorageError"]
        with no_sentinel(caplog, capsys) as caught:
            open_ledger(url, table_prefix=unique_prefix(), mode="ro")  # no ledger there
        assert caught
        assert ledger is not None
        drop_tables(ledger)


@pytest.mark.parametrize("url", REDIS_URLS.values(), ids=REDIS_URLS.keys())
def test_redis_urls_are_parsed_redacted_and_mapped_without_the_password(
    url: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The limiter's URLs: parse errors, reprs, a component that cannot live there, and a real
    redis-py failure (refused port, or AUTH against the test server) through storage_errors."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    assert SENTINEL not in redact(url)
    with no_sentinel(caplog, capsys) as caught:
        parsed = parse_url(url)
        print(repr(parsed), str(parsed), parsed.redacted)
        ledgers: Factories[object] = Factories("ledger", "sqlite:///x")
        try:
            ledgers.open(parsed)
        except TokmanError as exc:
            caught.append(exc)
        for host, port in ((parsed.host or "127.0.0.1", parsed.port or 1), ("127.0.0.1", 6379)):
            client = redis.Redis(
                host=host,
                port=port,
                password=parsed.password,
                socket_timeout=2,
                retry=Retry(NoBackoff(), 0),  # fail at once: no reconnect attempts
            )
            try:
                with storage_errors(parsed, "reach", what="rate limiter"):
                    client.ping()
            except TokmanError as exc:
                caught.append(exc)
            finally:
                client.close()
    assert caught


@pytest.mark.parametrize(
    "url",
    [*BAD_LEDGER_URLS.values(), REDIS_URLS["cluster"]],
    ids=[*BAD_LEDGER_URLS.keys(), "redis-cluster"],
)
def test_tokman_report_never_prints_the_password(
    url: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tokman report --ledger URL` fails with one clean line that hides the password."""
    from click.testing import CliRunner

    from tokman.cli.report import report

    with no_sentinel(caplog, capsys):
        result = CliRunner().invoke(report, ["--ledger", url])
        print(result.output)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            print("".join(traceback.format_exception(result.exception)))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1


def test_environment_urls_are_redacted_too(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """$TOKMAN_LEDGER_URL errors name the variable and hide its password."""
    for url in (BAD_LEDGER_URLS["bad-port"], BAD_LEDGER_URLS["libpq-keywords"]):
        monkeypatch.setenv("TOKMAN_LEDGER_URL", url)
        with no_sentinel(caplog, capsys) as caught:
            open_ledger()
        assert caught and "$TOKMAN_LEDGER_URL" in str(caught[0])


def test_the_check_itself_catches_a_leak(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """The harness is not vacuous: a log line, a print or an error with the sentinel fails it."""
    leaks: list[Callable[[], None]] = [
        lambda: logging.getLogger("tokman.test").debug("url %s", SENTINEL),
        lambda: print(SENTINEL),
        lambda: warnings.warn(SENTINEL, UserWarning, stacklevel=1),
    ]
    for leak in leaks:
        with pytest.raises(AssertionError, match="sentinel leaked"), no_sentinel(caplog, capsys):
            leak()
