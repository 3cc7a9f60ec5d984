"""A local JSONL spool: where records wait, fsync'd, while the ledger's database is down.

Opt-in (``open_ledger(url, spool=PATH)``). A record that cannot be written because the database
is unreachable is appended here and fsync'd before `Ledger.record` returns, so it is as durable as
a committed row; `Ledger.replay_spool` (also tried after every successful write) moves the lines
into the database and empties the file. Replays are idempotent (records keep their ids), and an
exclusive file lock keeps appends and replays of several processes from interleaving.

Spooled records are not checked for duplicates when spooled (the database is what knows the
stored ids, and it is down): `Ledger.record` returns them as given, and on replay an id stored
meanwhile keeps its stored record, as with any insert.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import IO

from tokman._args import file_path
from tokman.ledger._record import UsageRecord

try:  # POSIX; elsewhere a single process per spool file is assumed
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Spool"]

_log = logging.getLogger("tokman.ledger")


class Spool:
    """An append-only, fsync'd JSONL file of `UsageRecord` dicts."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = file_path(path, field="spool", what="spool file", expand=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[IO[str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as f:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield f
            finally:
                if fcntl is not None:
                    fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def append(self, records: Sequence[UsageRecord]) -> None:
        """Append ``records`` and fsync before returning."""
        data = "".join(json.dumps(r.to_dict(), separators=(",", ":")) + "\n" for r in records)
        with self._locked() as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    def pending(self) -> bool:
        """Whether the spool holds anything (a cheap ``stat``)."""
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    def replay(self, write: Callable[[Sequence[UsageRecord]], object]) -> int:
        """Write every spooled record with ``write``, then empty the spool; returns the count.

        If ``write`` fails the spool is left as it was (nothing is lost; the error propagates).
        A torn last line (a process killed mid-append, never acknowledged) is dropped.
        """
        with self._locked() as f:
            f.seek(0)
            records = []
            for n, line in enumerate(f, 1):
                try:
                    records.append(UsageRecord.from_dict(json.loads(line)))
                except (ValueError, TypeError, KeyError):
                    _log.warning("spool %s line %d is not a record; skipped", self.path, n)
            if records:
                write(records)
            f.truncate(0)
            f.flush()
            os.fsync(f.fileno())
        return len(records)
