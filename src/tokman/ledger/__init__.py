"""A durable, queryable record of every API call's usage and cost.

>>> from decimal import Decimal
>>> from tokman.ledger import UsageRecord, open_ledger
>>> ledger = open_ledger("memory://")
>>> _ = ledger.record(UsageRecord(id="r1", model="gpt-4o", prompt_tokens=100,
...                               completion_tokens=20, cost=Decimal("0.00045")))
>>> [(r.id, r.total_tokens, r.cost) for r in ledger.query(model="gpt-4o")]
[('r1', 120, Decimal('0.00045'))]

Stores: ``memory://`` (tests), ``sqlite:///path`` (the default, no server) and
``postgresql://...`` / ``postgres://...`` (many processes or hosts; ``pip install
"tokman[postgres]"``); URLs are parsed and redacted by ``tokman._backends``, and
``open_ledger(url, mode="ro")`` only reads. Importing this package loads no database library;
the store's modules load when a ledger is opened.
"""

from __future__ import annotations

from tokman.ledger._base import LedgerStore, SummaryRow
from tokman.ledger._ledger import AsyncLedger, Ledger, open_async_ledger, open_ledger
from tokman.ledger._record import UsageRecord

__all__ = [
    "AsyncLedger",
    "Ledger",
    "LedgerStore",
    "SummaryRow",
    "UsageRecord",
    "open_async_ledger",
    "open_ledger",
]
