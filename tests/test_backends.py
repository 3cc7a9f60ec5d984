"""The storage URL seam: scheme registry, parser, redactor, driver loading and error mapping."""

from __future__ import annotations

import pickle
import sqlite3
import sys

import pytest

from tokman._backends import (
    SCHEMES,
    BackendURL,
    Factories,
    check_table_prefix,
    parse_url,
    redact,
    storage_errors,
)
from tokman.errors import (
    ConfigurationError,
    InvalidRequestError,
    MissingDependencyError,
    StorageError,
    TokmanError,
)


def test_every_scheme_has_a_family_and_a_driver_extra() -> None:
    """One registry for ledger, budgets and rate limiter: families and the extras to install."""
    assert {name: s.family for name, s in SCHEMES.items()} == {
        "memory": "memory",
        "sqlite": "sqlite",
        "postgresql": "postgresql",
        "postgres": "postgresql",
        "postgresql+psycopg": "postgresql",
        "redis": "redis",
        "rediss": "redis",
        "redis+cluster": "redis",
    }
    assert {s.extra for s in SCHEMES.values()} == {None, "postgres", "redis"}


@pytest.mark.parametrize(
    ("url", "username", "password", "hosts", "database", "options"),
    [
        ("postgres://u:pa@ss@db:5433/x", "u", "pa@ss", (("db", 5433),), "x", {}),
        ("postgresql://u:pa%40ss%2F@db/x", "u", "pa@ss/", (("db", None),), "x", {}),
        ("postgresql+psycopg://[::1]:5432/x?sslmode=require", None, None, (("::1", 5432),), "x",
         {"sslmode": "require"}),
        ("postgresql://u@h:5999/db?password=hunter2", "u", None, (("h", 5999),), "db",
         {"password": "hunter2"}),
        ("postgresql://u:pw@h/db?application_name=a@b", "u", "pw", (("h", None),), "db",
         {"application_name": "a@b"}),
        ("redis://:tok@cache:6380/2", None, "tok", (("cache", 6380),), "2", {}),
        ("rediss://user:pw@cache", "user", "pw", (("cache", None),), None, {}),
        ("redis+cluster://u:pw@h1:7000,h2:7001", "u", "pw", (("h1", 7000), ("h2", 7001)), None,
         {}),
        ("sqlite:////abs/l.db?synchronous=normal", None, None, (), "/abs/l.db",
         {"synchronous": "normal"}),
        ("sqlite:///rel%20dir/l.db", None, None, (), "rel dir/l.db", {}),
        ("sqlite:///:memory:", None, None, (), ":memory:", {}),
    ],
)  # fmt: skip
def test_parse_url_splits_every_form(
    url: str,
    username: str | None,
    password: str | None,
    hosts: tuple[tuple[str, int | None], ...],
    database: str | None,
    options: dict[str, str],
) -> None:
    """Userinfo ends at the last @ before the query, so an unescaped @ stays in the password."""
    parsed = parse_url(url)
    assert (parsed.username, parsed.password, parsed.hosts, parsed.database) == (
        username,
        password,
        hosts,
        database,
    )
    assert dict(parsed.options) == options
    assert str(parsed) == parsed.redacted == redact(url)
    assert repr(parsed) == f"BackendURL({parsed.redacted!r})"
    for secret in (password, options.get("password")):
        if secret:
            assert secret not in repr(parsed) and parsed.scrub(f"x {secret} y") == "x *** y"


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql://u:hunter2@h/db", "postgresql://u:***@h/db"),
        ("postgres://postgres:pa@ss@host/db", "postgres://postgres:***@host/db"),
        ("postgresql://u:p/w?x@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u@h:5999/db?password=hunter2", "postgresql://u@h:5999/db?password=***"),
        (
            "postgresql://u@h/db?sslmode=require&sslpassword=k&PassWord=x",
            "postgresql://u@h/db?sslmode=require&sslpassword=***&PassWord=***",
        ),
        ("redis://:tok@h:6379/0", "redis://:***@h:6379/0"),
        ("rediss://default:tok@h", "rediss://default:***@h"),
        ("redis+cluster://u:tok@h1:1,h2:2", "redis+cluster://u:***@h1:1,h2:2"),
        ("redis://h?token=abc&db=1", "redis://h?token=***&db=1"),
        ("host=h port=5432 password=hunter2 dbname=x", "host=h port=5432 password=*** dbname=x"),
        ("host=h password = 'a b c' user=u", "host=h password = *** user=u"),
        ("postgres:hunter2@h/db", "postgres:***@h/db"),
        ("sqlite:////x/l.db", "sqlite:////x/l.db"),
        ("/x/a:b@c.db", "/x/a:b@c.db"),
        ("memory://", "memory://"),
    ],
)
def test_redact_hides_every_password_form(url: str, redacted: str) -> None:
    """Userinfo passwords (with @, / or ?), secret query options and libpq keywords."""
    assert redact(url) == redacted


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (5, r"url=5 is invalid: a storage URL is a string"),
        (b"postgresql://u:pw@h/db", r"url=a bytes is invalid"),
        ("   ", r"url='   ' is empty"),
        ("/x/usage.db", r"is a file path, not a URL.*'sqlite:////x/usage.db'"),
        ("usage.db", r"'sqlite:///usage.db'"),
        ("u:pw@h/db", r"url='u:\*\*\*@h/db' is not a URL \(no scheme://\)"),
        (
            "host=h password=pw",
            r"'host=h password=\*\*\*' is a libpq keyword string.*postgresql://",
        ),
        ("mysql://u:pw@h/db", r"'mysql://u:\*\*\*@h/db' has an unknown scheme 'mysql'.*redis://"),
        ("postgresql://u:pw@h:notaport/db", r"port 'notaport' in url='postgresql://u:\*\*\*@h:"),
        ("redis://h:0", r"port '0'.*1 to 65535"),
        ("rediss://h:70000", r"port '70000'"),
        ("redis://h/zero", r"database 'zero'.*a number"),
        ("postgresql://h1,h2/db", r"hosts 'h1,h2'.*one host"),
        ("postgresql://h/db?a=1&a=2", r"option 'a'.*once"),
        ("sqlite:///", r"names no SQLite file"),
        ("sqlite://host/x.db", r"has no host"),
        ("memory://x", r"memory:// takes no host"),
    ],
)
def test_parse_url_errors_name_the_part_and_the_fix(url: object, message: str) -> None:
    """Every malformed URL is a ConfigurationError (a ValueError) whose text is redacted."""
    with pytest.raises(ConfigurationError, match=message) as info:
        parse_url(url)
    assert "pw" not in str(info.value).replace("postgresql://", "")


def test_the_field_name_points_at_where_the_url_came_from() -> None:
    """Messages name the setting the user wrote the URL into."""
    with pytest.raises(ConfigurationError, match=r"^\$TOKMAN_LEDGER_URL='ledger.db'"):
        parse_url("ledger.db", field="$TOKMAN_LEDGER_URL")


def test_factories_check_the_family_and_import_the_driver_lazily(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A component opens only the families it registered; a missing driver names its extra."""
    limiter: Factories[str] = Factories("rate limiter", "redis://host:6379/0")
    limiter.register("redis", lambda url, **kw: f"limiter at {url} {kw}")
    assert limiter.open(parse_url("rediss://:pw@h"), n=1) == "limiter at rediss://:***@h {'n': 1}"
    with pytest.raises(ConfigurationError, match=r"rate limiter cannot be kept at 'sqlite:///x'"):
        limiter.open(parse_url("sqlite:///x"))
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "tokman\[redis\]"') as info:
        limiter.open(parse_url("redis+cluster://h:1,h:2"))
    assert info.value.extra == "redis" and isinstance(info.value, ImportError)


def test_storage_error_has_typed_fields_and_pickles() -> None:
    """url/retryable/action are constructor fields, code/http_status class attributes."""
    error = StorageError("down", url="postgresql://u:***@h/db", retryable=True, action="read")
    assert (error.url, error.retryable, error.action, str(error)) == (
        "postgresql://u:***@h/db",
        True,
        "read",
        "down",
    )
    assert (StorageError.code, StorageError.http_status) == ("storage_error", 503)
    plain = StorageError("x")
    assert (plain.url, plain.retryable, plain.action) == (None, False, None)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.url, copy.retryable, copy.action) == (
        StorageError,
        *error_fields(error),
    )


def error_fields(error: StorageError) -> tuple[object, ...]:
    return (error.url, error.retryable, error.action)


def _failures() -> list[tuple[BaseException, bool]]:
    import psycopg
    import redis.exceptions
    import sqlalchemy as sa

    return [
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.IntegrityError("NOT NULL constraint failed"), False),
        (sa.exc.OperationalError("SELECT 1", {}, Exception("server closed")), True),
        (sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (psycopg.OperationalError("connection refused"), True),
        (psycopg.errors.UniqueViolation("duplicate key"), False),
        (redis.exceptions.ConnectionError("Connection refused"), True),
        (redis.exceptions.TimeoutError("Timeout"), True),
        (redis.exceptions.ResponseError("WRONGTYPE"), False),
        (ConnectionRefusedError(111, "refused"), True),
        (PermissionError(13, "Permission denied"), False),
    ]


@pytest.mark.parametrize("index", range(11))
def test_storage_errors_maps_every_driver_failure(index: int) -> None:
    """One context manager for every driver: StorageError with the redacted URL, the action,
    whether a retry may help, the driver's message scrubbed of secrets, original as cause."""
    failure, retryable = _failures()[index]
    url = parse_url("postgresql://u:s3cret@h/db?sslpassword=k3y")
    failure.args = (*failure.args[:-1], f"{failure.args[-1]} (password s3cret, key k3y)")
    with pytest.raises(StorageError) as info, storage_errors(url, "write to"):
        raise failure
    error = info.value
    assert (error.url, error.retryable, error.action) == (url.redacted, retryable, "write to")
    assert str(error).startswith("Could not write to the ledger at postgresql://u:***@h/db")
    assert "s3cret" not in str(error) and "k3y" not in str(error)
    assert error.__cause__ is failure


def test_storage_errors_lets_other_errors_through() -> None:
    """Bugs and tokman's own errors are not disguised as storage failures."""
    url = parse_url("memory://")
    for error in (ValueError("bug"), InvalidRequestError("f", 1, "x"), StorageError("inner")):
        with pytest.raises(type(error)) as info, storage_errors(url, "read"):
            raise error
        assert info.value is error
    assert issubclass(StorageError, TokmanError)


def test_table_prefix_rules() -> None:
    """Letters, digits, underscores, at most 40 characters: anything else is named."""
    assert check_table_prefix("team_a_") == "team_a_"
    assert check_table_prefix("") == ""
    for bad in ("a-b", "x; DROP TABLE usage", "ünï", "a" * 41, None):
        with pytest.raises(InvalidRequestError, match="table_prefix="):
            check_table_prefix(bad)


def test_backend_url_is_a_value() -> None:
    """Equal URLs parse to equal values (usable as keys)."""
    assert parse_url("postgres://u:pw@h/db") == parse_url("postgres://u:pw@h/db")
    assert isinstance(parse_url("memory://"), BackendURL)
