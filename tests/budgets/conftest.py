"""Fixtures shared by the ledger, budget and report suites live in tests/servers.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from servers import (
    ledger,
    ledger_url,
    make_ledger,
    postgres_url,
    store_kind,
    table_prefix,
)

__all__ = ["ledger", "ledger_url", "make_ledger", "postgres_url", "store_kind", "table_prefix"]
