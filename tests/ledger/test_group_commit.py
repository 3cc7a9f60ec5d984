"""SqlStore's group commit: concurrent steps share one transaction, each in its own savepoint."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tokman.ledger import UsageRecord, open_ledger


def _record(i: int) -> UsageRecord:
    return UsageRecord(id=f"r{i}", model="gpt-4o", prompt_tokens=i, completion_tokens=1)


def test_steps_commit_together_and_a_failing_step_is_undone_alone(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path}/g.db")
    store = ledger.store
    gate = threading.Event()
    blocker = store.submit(gate.wait)  # holds the thread so the next steps form one group

    def bad() -> None:
        ledger.record(_record(99))
        raise RuntimeError("step failed after writing")

    futures = [store.submit(lambda i=i: ledger.record(_record(i))) for i in range(5)]
    failing = store.submit(bad)
    holds = store.submit(lambda: ledger.record(_record(7)), durable=False)
    gate.set()
    blocker.result(10)
    assert [f.result(10).id for f in futures] == [f"r{i}" for i in range(5)]
    with pytest.raises(RuntimeError, match="step failed"):
        failing.result(10)
    assert holds.result(10).id == "r7"
    ids = {r.id for r in open_ledger(f"sqlite:///{tmp_path}/g.db").query()}
    assert ids == {"r0", "r1", "r2", "r3", "r4", "r7"}  # r99's savepoint was rolled back


def test_a_duplicate_inside_a_group_is_seen(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path}/d.db")
    gate = threading.Event()
    blocker = ledger.store.submit(gate.wait)
    first = ledger.store.submit(lambda: ledger.record(_record(1)))
    again = ledger.store.submit(lambda: ledger.record(_record(1)))
    gate.set()
    blocker.result(10)
    assert not first.result(10).duplicate
    assert again.result(10).duplicate
