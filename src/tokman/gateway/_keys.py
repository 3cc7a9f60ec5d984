"""Virtual keys: what a client presents to the gateway instead of an upstream key.

A key is ``tk-<id>-<secret>``; only its SHA-256 is stored (the secret is 256 random bits, so a
plain hash is enough: there is nothing to brute-force), and a presented key is compared with
`hmac.compare_digest`. The ``id`` part names the key in listings, revocations, ledger tags
(``key``) and its budget (``key:<id>``); the tenant flows into the ledger and budgets as the
``tenant`` tag. Keys live in the ledger's database (table ``tokman_gateway_keys``) so every
gateway process and host sees the same keys; a lookup is cached for `CACHE_SECONDS`, which is
how long a revocation takes to reach a running gateway. A database failure is a `StorageError`
(the gateway answers 503), never the driver's own exception.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from tokman.errors import InvalidRequestError

__all__ = ["CACHE_SECONDS", "KeyStore", "VirtualKey", "parse_budget"]

CACHE_SECONDS = 2.0
_KEY = re.compile(r"^tk-([0-9a-f]{12})-([A-Za-z0-9_-]{20,})$")
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(usd|tokens)\s*(?:/\s*(hour|day|month))?\s*$")
_TABLE = "tokman_gateway_keys"


@dataclass(frozen=True)
class VirtualKey:
    """A key's public facts (never its secret).

    Attributes:
        id: the key's public id (12 hex digits).
        tenant: who it belongs to; recorded as the ``tenant`` tag.
        models: the models it may call (empty: every configured model).
        budget: its own budget, as given (``"25usd/day"``), or ``None``.
        tags: more tags recorded with each of its calls.
        created: when it was made (UTC).
        revoked: whether it was revoked.
    """

    id: str
    tenant: str
    models: tuple[str, ...] = ()
    budget: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    revoked: bool = False

    @property
    def budget_id(self) -> str:
        """The id of this key's own budget."""
        return f"key:{self.id}"

    @property
    def call_tags(self) -> dict[str, str]:
        """The tags every call made with this key is recorded and budgeted under."""
        return {**self.tags, "tenant": self.tenant, "key": self.id}

    def allows(self, model: str) -> bool:
        """Whether this key may call ``model``."""
        return not self.models or model in self.models


def parse_budget(text: str) -> tuple[Decimal | int, str, str]:
    """``"25usd/day"`` -> ``(Decimal("25"), "usd", "day")``; ``"200000tokens/month"``; a
    budget without a period never resets.

    >>> parse_budget("25usd/day")
    (Decimal('25'), 'usd', 'day')

    Raises:
        InvalidRequestError: not ``<amount>usd`` or ``<n>tokens``, optionally ``/hour|day|month``.
    """
    match = _BUDGET.match(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidRequestError(
            "budget",
            text,
            "<amount>usd or <n>tokens, optionally /hour, /day or /month, e.g. 25usd/day",
        )
    amount, unit, period = match.groups()
    if unit == "tokens":
        if "." in amount:
            raise InvalidRequestError("budget", text, "a whole number of tokens")
        return int(amount), unit, period or "none"
    return Decimal(amount), unit, period or "none"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """Virtual keys in the ledger's SQL database (or in memory for a ``memory://`` ledger)."""

    def __init__(
        self,
        engine: Any | None,
        *,
        table_prefix: str = "",
        errors: Callable[[str], contextlib.AbstractContextManager[None]] | None = None,
    ) -> None:
        self._engine = engine
        # maps driver failures to StorageError (the ledger store's `errors`)
        self._errors = errors or (lambda action: contextlib.nullcontext())
        self._rows: dict[str, dict[str, Any]] = {}  # memory store
        self._cache: dict[str, tuple[float, VirtualKey | None, str]] = {}
        self._lock = threading.Lock()
        self._table: Any = None
        if engine is not None:
            import sqlalchemy as sa

            meta = sa.MetaData()
            self._table = sa.Table(
                table_prefix + _TABLE,
                meta,
                sa.Column("id", sa.String(12), primary_key=True),
                sa.Column("digest", sa.String(64), nullable=False),
                sa.Column("tenant", sa.Text, nullable=False),
                sa.Column("models", sa.Text, nullable=False),
                sa.Column("budget", sa.Text),
                sa.Column("tags", sa.Text, nullable=False),
                sa.Column("created", sa.Text, nullable=False),
                sa.Column("revoked", sa.Boolean, nullable=False, default=False),
            )
            with self._errors("create the key table in"):
                meta.create_all(engine, checkfirst=True)

    @classmethod
    def for_ledger(cls, ledger: Any) -> KeyStore:
        """The key store in ``ledger``'s database."""
        store = ledger.store
        return cls(getattr(store, "engine", None), table_prefix=getattr(store, "table_prefix", ""),
                   errors=getattr(store, "errors", None))  # fmt: skip

    # -- writing ----------------------------------------------------------------------------

    def create(
        self,
        tenant: str,
        *,
        models: Sequence[str] = (),
        budget: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> tuple[str, VirtualKey]:
        """A new key: ``(secret, key)``; the secret is shown once and never stored.

        Raises:
            InvalidRequestError: an empty tenant, a bad model list, budget or tags.
        """
        if not isinstance(tenant, str) or not tenant.strip():
            raise InvalidRequestError("tenant", tenant, "the tenant's name, e.g. acme")
        if isinstance(models, str) or not all(isinstance(m, str) and m for m in models):
            raise InvalidRequestError("models", models, "a list of model names")
        if budget is not None:
            parse_budget(budget)
        from tokman._units import check_tags

        key = VirtualKey(
            id=secrets.token_hex(6),
            tenant=tenant.strip(),
            models=tuple(models),
            budget=budget,
            tags=dict(check_tags(tags, "tags")),
        )
        secret = f"tk-{key.id}-{secrets.token_urlsafe(32)}"
        row = {
            "id": key.id,
            "digest": _digest(secret),
            "tenant": key.tenant,
            "models": json.dumps(list(key.models)),
            "budget": key.budget,
            "tags": json.dumps(key.tags),
            "created": key.created.isoformat(),
            "revoked": False,
        }
        if self._engine is None:
            self._rows[key.id] = row
        else:
            with self._errors("store a key in"), self._engine.begin() as conn:
                conn.execute(self._table.insert().values(**row))
        return secret, key

    def revoke(self, key_id: str) -> bool:
        """Revoke a key by id; ``False`` when there is no such key (or it was revoked)."""
        if self._engine is None:
            row = self._rows.get(key_id)
            done = row is not None and not row["revoked"]
            if row is not None:
                row["revoked"] = True
        else:
            t = self._table
            with self._errors("revoke a key in"), self._engine.begin() as conn:
                result = conn.execute(
                    t.update().where(t.c.id == key_id, t.c.revoked.is_(False)).values(revoked=True)
                )
                done = result.rowcount > 0
        with self._lock:
            self._cache.clear()
        return bool(done)

    # -- reading ----------------------------------------------------------------------------

    def all(self) -> list[VirtualKey]:
        """Every key, oldest first (revoked ones included, marked)."""
        rows = self._all_rows()
        return sorted((_key_of(r) for r in rows), key=lambda k: (k.created, k.id))

    def lookup(self, presented: str) -> VirtualKey | None:
        """The live key ``presented`` is, or ``None`` (unknown, malformed or revoked).

        Raises:
            StorageError: the database could not be read (nothing is cached then).
        """
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(presented)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        match = _KEY.match(presented) if isinstance(presented, str) else None
        found: VirtualKey | None = None
        if match is not None:
            row = self._row(match.group(1))
            if row is not None and hmac.compare_digest(row["digest"], _digest(presented)):
                key = _key_of(row)
                found = None if key.revoked else key
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[presented] = (now, found, "")
        return found

    def _row(self, key_id: str) -> dict[str, Any] | None:
        if self._engine is None:
            return self._rows.get(key_id)
        t = self._table
        with self._errors("look up a key in"), self._engine.connect() as conn:
            row = conn.execute(t.select().where(t.c.id == key_id)).mappings().first()
        return dict(row) if row is not None else None

    def _all_rows(self) -> list[dict[str, Any]]:
        if self._engine is None:
            return list(self._rows.values())
        with self._errors("list the keys in"), self._engine.connect() as conn:
            return [dict(r) for r in conn.execute(self._table.select()).mappings()]


def _key_of(row: dict[str, Any]) -> VirtualKey:
    return VirtualKey(
        id=row["id"],
        tenant=row["tenant"],
        models=tuple(json.loads(row["models"])),
        budget=row["budget"],
        tags=json.loads(row["tags"]),
        created=datetime.fromisoformat(row["created"]),
        revoked=bool(row["revoked"]),
    )
