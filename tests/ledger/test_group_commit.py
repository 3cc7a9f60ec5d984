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


def test_a_group_whose_commit_fails_runs_each_step_again_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed COMMIT rolls the whole group back; every step then commits on its own, so no
    record is lost and every caller gets its own result."""
    import sqlalchemy as sa
    from sqlalchemy.engine.base import RootTransaction

    ledger = open_ledger(f"sqlite:///{tmp_path}/c.db")
    store = ledger.store
    gate = threading.Event()
    blocker = store.submit(gate.wait)
    futures = [store.submit(lambda i=i: ledger.record(_record(i))) for i in range(4)]
    real_commit = RootTransaction.commit
    failed: list[int] = []

    def commit_failing_once(self: RootTransaction) -> None:
        if not failed and threading.current_thread().name == "tokman-group-commit":
            failed.append(1)
            raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))
        real_commit(self)

    monkeypatch.setattr(RootTransaction, "commit", commit_failing_once)
    gate.set()
    blocker.result(10)
    assert [f.result(10).id for f in futures] == ["r0", "r1", "r2", "r3"]
    assert failed == [1]
    ids = {r.id for r in open_ledger(f"sqlite:///{tmp_path}/c.db").query()}
    assert ids == {"r0", "r1", "r2", "r3"}


def test_a_group_whose_database_is_gone_spools_its_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The COMMIT fails, and so does every step alone: the records go to the spool."""
    import sqlalchemy as sa
    from sqlalchemy.engine.base import RootTransaction

    ledger = open_ledger(f"sqlite:///{tmp_path}/s.db", spool=tmp_path / "spool.jsonl")
    store = ledger.store
    ledger.record(_record(100))  # the schema exists; the database works until now
    gate = threading.Event()
    blocker = store.submit(gate.wait)
    futures = [store.submit(lambda i=i: ledger.record(_record(i))) for i in range(3)]

    def commit_fails(self: RootTransaction) -> None:
        raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(RootTransaction, "commit", commit_fails)
    gate.set()
    blocker.result(10)
    for f in futures:
        f.result(10)  # spooled: the caller is not failed
    monkeypatch.undo()
    assert ledger.spool is not None and ledger.spool.pending()
    ledger.replay_spool()
    ids = {r.id for r in open_ledger(f"sqlite:///{tmp_path}/s.db").query()}
    assert ids == {"r100", "r0", "r1", "r2"}
