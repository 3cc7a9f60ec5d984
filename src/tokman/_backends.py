"""Storage URLs: the one scheme registry, parser, redactor and error mapping of every store.

The ledger, the budgets and the rate limiter all take a URL. Each used to split, redact and wrap
errors its own way, so a password hidden in one message leaked through another (a ``?password=``
query, an ``@`` inside the password, a libpq keyword string). Here a URL is parsed exactly once,
into a `BackendURL` whose ``str`` and ``repr`` are the redacted form, and everything a user can
see (messages, logs, reprs) is built from that form:

* `SCHEMES`: which URL schemes exist (``memory``, ``sqlite``, ``postgresql`` and its alias
  ``postgres``, ``postgresql+psycopg``, ``redis``, ``rediss``, ``redis+cluster``), their family,
  driver and the extra that installs it;
* `parse_url` / `redact`: the parser (a typed `ConfigurationError` naming the field, the redacted
  value and the fix for every malformed URL) and the redactor it shares its splitting rules with;
* `Factories`: a component's (ledger, rate limiter...) table of family -> store factory, which
  imports the driver lazily (`MissingDependencyError` names the extra);
* `storage_error` / `storage_errors`: the one mapping (a function, and a context manager over
  it) of driver failures (SQLAlchemy, psycopg, sqlite3, redis-py, OSError) to `StorageError`
  with its ``url``/``retryable``/``action``.

This is a bottom layer: at import time it loads only `tokman.errors` and the standard library
(``import tokman`` must not import a database driver); drivers are imported when a store opens.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, quote, unquote

from tokman.errors import (
    ConfigurationError,
    InvalidRequestError,
    MissingDependencyError,
    StorageError,
)

__all__ = [
    "SCHEMES",
    "BackendURL",
    "Factories",
    "Scheme",
    "check_table_prefix",
    "parse_url",
    "redact",
    "storage_error",
    "storage_errors",
]

_HIDDEN = "***"


@dataclass(frozen=True)
class Scheme:
    """One URL scheme: its family (which stores accept it) and the driver it needs."""

    name: str
    family: str  #: ``memory``, ``sqlite``, ``postgresql`` or ``redis``
    label: str  #: for messages: "PostgreSQL"
    package: str | None = None  #: driver module imported when a store opens
    extra: str | None = None  #: ``pip install "tokman[<extra>]"`` installs ``package``


_PG = {"family": "postgresql", "label": "PostgreSQL", "package": "psycopg", "extra": "postgres"}
_REDIS = {"family": "redis", "label": "Redis", "package": "redis", "extra": "redis"}

#: Every scheme tokman knows, by name (lower case). ``postgres`` is libpq's alias of
#: ``postgresql``; ``rediss`` is Redis over TLS; ``redis+cluster`` takes ``host:port,host:port``.
SCHEMES: Mapping[str, Scheme] = {
    "memory": Scheme("memory", "memory", "in-memory"),
    "sqlite": Scheme("sqlite", "sqlite", "SQLite"),
    "postgresql": Scheme("postgresql", **_PG),
    "postgres": Scheme("postgres", **_PG),
    "postgresql+psycopg": Scheme("postgresql+psycopg", **_PG),
    "redis": Scheme("redis", **_REDIS),
    "rediss": Scheme("rediss", **_REDIS),
    "redis+cluster": Scheme("redis+cluster", **_REDIS),
}

# ---- redaction ---------------------------------------------------------------------------------

_SECRET_WORDS = ("pass", "pwd", "secret", "token", "key", "auth", "credential")
# key=value in a URL query (or anywhere after the scheme): the value runs to the next & or ;
_QUERY_SECRET = re.compile(
    r"(?i)([?&;])([^=&;?]*(?:" + "|".join(_SECRET_WORDS) + r")[^=&;?]*)=([^&;]*)"
)
# key=value in a libpq keyword string: host=h password='a b' dbname=x
_KEYWORD_SECRET = re.compile(
    r"(?i)(^|\s)(\w*(?:" + "|".join(_SECRET_WORDS) + r")\w*)(\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)"
)


def _is_secret(key: str) -> bool:
    key = key.lower()
    return any(word in key for word in _SECRET_WORDS)


def _userinfo_end(rest: str) -> int:
    """Index of the ``@`` ending the userinfo of ``rest`` (the URL after ``://``), or -1.

    The last ``@`` before the query wins, so an unescaped ``@`` in a password
    (``postgres:pa@ss@host``) stays in the password, while an ``@`` in the query
    (``?application_name=a@b``) is not taken for one. Parser and redactor both use this rule,
    so what the parser calls the password is exactly what the redactor hides.
    """
    if rest.startswith("/"):  # sqlite:///path: no authority at all
        return -1
    first = rest.find("@")
    if first < 0:
        return -1
    query = rest.find("?", first)
    return rest.rfind("@", 0, len(rest) if query < 0 else query)


def redact(url: str) -> str:
    """``url`` with every password and secret option replaced by ``***``; never raises.

    Handles URLs (``user:pass@``, ``?password=``, ``?sslpassword=``, tokens, passwords containing
    ``@``) and libpq keyword strings (``host=h password=x``). Anything that is not text is shown
    as its type only.

    >>> redact("postgres://u:pa@ss@db.example:5432/x?password=p&sslmode=require")
    'postgres://u:***@db.example:5432/x?password=***&sslmode=require'
    >>> redact("host=db password='s e c' dbname=x")
    'host=db password=*** dbname=x'
    """
    if not isinstance(url, str):
        return f"<{type(url).__name__}>"
    scheme, sep, rest = url.partition("://") if "://" in url else ("", "", url)
    if not sep:  # a libpq keyword string, or a URL that lost its scheme (user:pw@host/db)
        rest = _KEYWORD_SECRET.sub(lambda m: f"{m[1]}{m[2]}{m[3]}{_HIDDEN}", rest)
    at = _userinfo_end(rest)
    if at >= 0:
        user, colon, _password = rest[:at].partition(":")
        rest = f"{user}:{_HIDDEN}@{rest[at + 1 :]}" if colon else rest
    rest = _QUERY_SECRET.sub(lambda m: f"{m[1]}{m[2]}={_HIDDEN}", rest)
    return f"{scheme}{sep}{rest}"


# ---- parsing -----------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class BackendURL:
    """A parsed storage URL. ``str()`` and ``repr()`` show only `redacted`.

    Attributes:
        scheme: The `Scheme` (``postgres://`` and ``postgresql://`` share a family).
        redacted: The URL as written, passwords and secret options replaced by ``***``.
        username, password: Percent-decoded (``password`` is never shown anywhere).
        hosts: ``(host, port)`` pairs (several only for ``redis+cluster``).
        database: The SQLite path, PostgreSQL database name or Redis database number.
        options: The query options, decoded (may hold secrets: never print them).
    """

    scheme: Scheme
    redacted: str
    username: str | None = None
    password: str | None = None
    hosts: tuple[tuple[str, int | None], ...] = ()
    database: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  #: every secret as written and decoded, for `scrub`
    source: str = field(default="url", compare=False)  #: where it was written: url, $VAR...

    def __str__(self) -> str:
        return self.redacted

    def __repr__(self) -> str:
        return f"BackendURL({self.redacted!r})"

    @property
    def host(self) -> str | None:
        """The first host, if any."""
        return self.hosts[0][0] if self.hosts else None

    @property
    def port(self) -> int | None:
        """The first host's port, if given."""
        return self.hosts[0][1] if self.hosts else None

    def scrub(self, text: str) -> str:
        """``text`` (e.g. a driver's error message) with this URL's secrets replaced by ``***``."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, _HIDDEN)
        return text

    def option(self, name: str, default: str) -> str:
        """The query option ``name`` (as given), else ``default``."""
        return self.options.get(name, default)

    def invalid(self, what: str, fix: str) -> ConfigurationError:
        """The `ConfigurationError` for a bad part of this URL (shown redacted)."""
        return ConfigurationError(f"{what} in {self.source}={self.redacted!r} is invalid: {fix}")


def _examples() -> str:
    return (
        "sqlite:///relative/ledger.db, sqlite:////absolute/ledger.db, "
        "postgresql://user:password@host:5432/dbname or memory://"
    )


def _not_a_string(field_name: str, url: object) -> ConfigurationError:
    shown = repr(url) if isinstance(url, (int, float, type(None))) else f"a {type(url).__name__}"
    return ConfigurationError(
        f"{field_name}={shown} is invalid: a storage URL is a string such as {_examples()}"
    )


def _plain_path(field_name: str, url: str) -> ConfigurationError:
    if _KEYWORD_SECRET.search(url) or re.search(r"(?:^|\s)\w+\s*=", url):
        return ConfigurationError(
            f"{field_name}={redact(url)!r} is a libpq keyword string, not a URL: write it as "
            "postgresql://user:password@host:5432/dbname (options as ?sslmode=require&...)"
        )
    shown = redact(url)
    if shown != url or "@" in url:
        return ConfigurationError(
            f"{field_name}={shown!r} is not a URL (no scheme://): write it as "
            "postgresql://user:password@host:5432/dbname (or redis://...), or sqlite:///PATH for "
            "a SQLite file"
        )
    return ConfigurationError(
        f"{field_name}={url!r} is a file path, not a URL: for the SQLite file {url} use "
        f"{'sqlite:///' + url!r} (sqlite:/// plus the path: four slashes for an absolute path)"
    )


def _options(url: BackendURL, query: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in options:
            raise url.invalid(f"option {key!r}", "give each option once")
        options[key] = value
    return options


def _hosts(url: BackendURL, netloc: str, *, many: bool) -> tuple[tuple[str, int | None], ...]:
    hosts: list[tuple[str, int | None]] = []
    for part in netloc.split(",") if netloc else []:
        match = re.fullmatch(r"(\[[^\]]*\]|[^:\[\]]*)(?::(.*))?", part)
        if match is None:
            raise url.invalid(f"host {part!r}", "write host:port, e.g. db.example.com:5432")
        host, port = unquote(match[1].strip("[]")), match[2]
        if port is None or port == "":
            hosts.append((host, None))
        elif not port.isdigit() or not 0 < int(port) < 65536:
            raise url.invalid(
                f"port {port!r}", "a port is a number from 1 to 65535, e.g. host:5432"
            )
        else:
            hosts.append((host, int(port)))
    if len(hosts) > 1 and not many:
        raise url.invalid(
            f"hosts {netloc!r}", "give one host (redis+cluster:// alone takes host:port,host:port)"
        )
    return tuple(hosts)


def parse_url(url: object, *, field: str = "url") -> BackendURL:
    """Parse a storage URL, or raise a `ConfigurationError` naming ``field`` and the fix.

    ``field`` is what the user wrote the URL into (``url``, ``$TOKMAN_LEDGER_URL``, ``--ledger``),
    so the message points at the right place. The value in every message is redacted.

    Raises:
        ConfigurationError: Not a string, a file path or libpq keyword string instead of a URL, an
            unknown scheme, a non-numeric port, a SQLite URL without a path, a repeated option.
    """
    if not isinstance(url, str):
        raise _not_a_string(field, url)
    if not url.strip():
        raise ConfigurationError(
            f"{field}={url!r} is empty: give a storage URL such as {_examples()}"
        )
    if "://" not in url:
        raise _plain_path(field, url)
    name, rest = url.split("://", 1)
    scheme = SCHEMES.get(name.lower())
    redacted = redact(url)
    if scheme is None:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise ConfigurationError(
            f"{field}={redacted!r} has an unknown scheme {name!r}: use one of {known} "
            f"(e.g. {_examples()})"
        )
    base = BackendURL(scheme, redacted, source=field)
    if scheme.family == "memory":
        if rest:
            raise base.invalid(repr(rest), "memory:// takes no host, path or options")
        return base
    if scheme.family == "sqlite":
        return _parse_sqlite(base, rest, field)
    return _parse_server(base, rest)


def _parse_sqlite(base: BackendURL, rest: str, field_name: str) -> BackendURL:
    path, _, query = rest.partition("?")
    if path and not path.startswith("/"):
        raise base.invalid(
            "the host part", "a SQLite URL has no host: sqlite:///relative.db or sqlite:////abs.db"
        )
    database = unquote(path[1:])
    if not database:
        raise ConfigurationError(
            f"{field_name}={base.redacted!r} names no SQLite file: use sqlite:///path/to/ledger.db"
            " (sqlite:///:memory: for a throwaway in-memory database, or memory://)"
        )
    options = _options(base, query)
    return BackendURL(
        base.scheme,
        base.redacted,
        database=database,
        options=options,
        secrets=_secrets(None, options),
        source=base.source,
    )


def _parse_server(base: BackendURL, rest: str) -> BackendURL:
    at = _userinfo_end(rest)
    userinfo, hostpart = (rest[:at], rest[at + 1 :]) if at >= 0 else ("", rest)
    raw_user, colon, raw_password = userinfo.partition(":")
    cut = min((i for i in (hostpart.find("/"), hostpart.find("?")) if i >= 0), default=None)
    netloc, tail = (hostpart, "") if cut is None else (hostpart[:cut], hostpart[cut:])
    path, _, query = tail.partition("?")
    hosts = _hosts(base, netloc, many=base.scheme.name == "redis+cluster")
    database = unquote(path[1:]) if path.startswith("/") and len(path) > 1 else None
    if base.scheme.family == "redis" and database is not None and not database.isdigit():
        raise base.invalid(
            f"database {database!r}", "a Redis database is a number, e.g. redis://host:6379/0"
        )
    options = _options(base, query)
    password = unquote(raw_password) if colon else None
    return BackendURL(
        base.scheme,
        base.redacted,
        username=unquote(raw_user) or None,
        password=password,
        hosts=hosts,
        database=database,
        options=options,
        secrets=_secrets(raw_password if colon else None, options),
        source=base.source,
    )


def _secrets(raw_password: str | None, options: Mapping[str, str]) -> tuple[str, ...]:
    found = {raw_password, unquote(raw_password)} if raw_password else set()
    for key, value in options.items():
        if _is_secret(key) and value:
            found |= {value, quote(value, safe="")}
    return tuple(sorted(s for s in found if s))


def check_table_prefix(prefix: object) -> str:
    """``prefix`` if it is a valid table (or key) name prefix, else `InvalidRequestError`.

    Prefixes go into SQL identifiers unquoted-safe, so only letters, digits and underscores, and
    short enough that the longest table name stays within PostgreSQL's 63-character limit.
    """
    if not isinstance(prefix, str) or (
        prefix and not (prefix.replace("_", "").isalnum() and prefix.isascii())
    ):
        raise InvalidRequestError(
            "table_prefix", prefix, "ASCII letters, digits and underscores, e.g. 'team_a_'"
        )
    if len(prefix) > 40:
        raise InvalidRequestError("table_prefix", prefix, "at most 40 characters")
    return prefix


# ---- opening stores ----------------------------------------------------------------------------

T = TypeVar("T")


def require_driver(url: BackendURL, feature: str) -> None:
    """Import ``url``'s driver now, or raise `MissingDependencyError` naming the extra."""
    package, extra = url.scheme.package, url.scheme.extra
    if package is None or extra is None:
        return
    try:
        importlib.import_module(package)
    except ImportError as exc:
        raise MissingDependencyError(package, extra=extra, feature=feature) from exc


class Factories(Generic[T]):
    """What one component (the ledger, the rate limiter...) can be opened on: family -> factory.

    A component registers a factory per family it supports; `open` checks the family, imports the
    driver (a missing one names its extra) and calls the factory with the parsed URL.
    """

    def __init__(self, component: str, examples: str) -> None:
        self.component = component
        self.examples = examples
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, family: str, factory: Callable[..., T]) -> None:
        """Open URLs of ``family`` (a `Scheme.family`) with ``factory(url, **options)``."""
        self._factories[family] = factory

    def open(self, url: BackendURL, /, **options: Any) -> T:
        """The store for ``url``.

        Raises:
            ConfigurationError: The scheme is known but this component cannot live there.
            MissingDependencyError: The scheme's driver is not installed.
        """
        factory = self._factories.get(url.scheme.family)
        if factory is None:
            raise ConfigurationError(
                f"A {self.component} cannot be kept at {url.redacted!r} "
                f"({url.scheme.name}:// is not supported for it): use {self.examples}"
            )
        require_driver(url, f"A {url.scheme.label} {self.component}")
        return factory(url, **options)


# ---- driver errors -----------------------------------------------------------------------------


def _retryable(exc: BaseException) -> bool | None:
    """Whether a driver failure may pass on retry; ``None``: not a storage failure at all.

    A driver's exception classes are looked up only if the driver is already imported (an
    exception cannot come from a module that was never loaded), so nothing is imported here.
    """
    sa_exc: Any = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError):
        return isinstance(
            exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError)
        )
    psycopg: Any = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.Error):
        return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
    sqlite3: Any = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(exc, sqlite3.Error):
        return isinstance(exc, sqlite3.OperationalError)
    redis_exc: Any = sys.modules.get("redis.exceptions")
    if redis_exc is not None and isinstance(exc, redis_exc.RedisError):
        return isinstance(exc, (redis_exc.ConnectionError, redis_exc.TimeoutError))
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, OSError):  # permissions, a path that cannot exist
        return False
    return None


_FIX = (
    "Check that the database is running and reachable, or open the ledger with spool=PATH to "
    "keep records in a local file until it is back."
)


def storage_error(
    exc: BaseException, url: BackendURL, action: str, *, what: str = "ledger", fix: str = _FIX
) -> StorageError | None:
    """The `StorageError` that driver failure ``exc`` becomes (``None``: not a driver failure).

    The message names the action, the redacted URL and the driver's first line (with this URL's
    secrets scrubbed); ``retryable`` says whether the failure is the connection's (the ledger
    spools those) or the data's. For hot paths that cannot afford a context manager per call
    (the rate limiter's one Redis round trip): ``except Exception as exc:`` then raise this
    ``from exc``, or re-raise ``exc`` when it is ``None``. `storage_errors` is the same mapping.
    """
    retryable = _retryable(exc)
    if retryable is None:
        return None
    orig = getattr(exc, "orig", None) or exc
    detail = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return StorageError(
        f"Could not {action} the {what} at {url.redacted}: {url.scrub(detail)}. {fix}",
        url=url.redacted,
        retryable=retryable,
        action=action,
    )


@contextlib.contextmanager
def storage_errors(
    url: BackendURL, action: str, *, what: str = "ledger", fix: str = _FIX
) -> Iterator[None]:
    """Turn any driver failure inside the block into `StorageError` (original as ``__cause__``)
    with `storage_error`; tokman's own errors pass through unchanged."""
    try:
        yield
    except Exception as exc:
        error = storage_error(exc, url, action, what=what, fix=fix)
        if error is None:
            raise
        raise error from exc
