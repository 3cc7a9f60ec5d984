"""The warm worker pool behind count_batch and count_stream: reused between calls, replaced
when it no longer matches this process, never shared with a forked child, ended when idle."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

import tokman
from tokman.counting import _pool, batch, count_stream

DOCS = [f"document {i}: 的一是在不了有和人这中 and some words" for i in range(3_000)]


@pytest.fixture(autouse=True)
def _small_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test input here goes to the pool (it would be counted in-process otherwise), on
    processes: each test has its own encodings, which have not counted a corpus yet."""
    monkeypatch.setattr(tokman.encodings, "_encodings", {})
    monkeypatch.setattr(batch, "INLINE_CHARS", 1_000)
    monkeypatch.setattr(batch, "BATCH_TEXTS", 200)


def expected() -> list[int]:
    return [tokman.count(d, model="gpt-4o") for d in DOCS]


def pool_pids() -> set[int]:
    return {p.pid for p in multiprocessing.active_children() if p.pid is not None}


def wait_until(condition: object, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


def _pid(_: object) -> int:
    return os.getpid()


def _die(_: object) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0  # pragma: no cover - never reached


def test_the_workers_stay_warm_between_calls() -> None:
    """A second call counts on the processes the first one started."""
    truth = expected()
    assert tokman.count_batch(DOCS, model="gpt-4o", workers=2) == truth
    first = pool_pids()
    assert len(first) == 2
    assert tokman.count_batch(DOCS, model="gpt-4o", workers=2) == truth
    assert count_stream(iter(DOCS[:1000]), model="gpt-4o", workers=2, piece_chars=4_000) == (
        tokman.count("".join(DOCS[:1000]), model="gpt-4o")
    )
    assert pool_pids() == first


def test_shutdown_workers_ends_them_now() -> None:
    tokman.count_batch(DOCS, model="gpt-4o", workers=2)
    assert pool_pids()
    tokman.shutdown_workers()
    assert multiprocessing.active_children() == []
    tokman.shutdown_workers()  # nothing to end: a no-op
    assert tokman.count_batch(DOCS, model="gpt-4o", workers=2) == expected()


def test_an_idle_pool_ends_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pool, "IDLE_SECONDS", 0.2)
    tokman.count_batch(DOCS, model="gpt-4o", workers=2)
    assert pool_pids()
    assert wait_until(lambda: multiprocessing.active_children() == [])


def test_a_pool_in_use_does_not_idle_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """The idle clock runs only between calls: a long call keeps its workers."""
    monkeypatch.setattr(_pool, "IDLE_SECONDS", 0.05)
    counts = tokman.iter_count_batch(iter(DOCS), model="gpt-4o", workers=2)
    first = [next(counts) for _ in range(10)]
    time.sleep(0.3)
    assert first + list(counts) == expected()


@pytest.mark.parametrize(
    "change",
    [
        lambda mp: mp.setenv("TOKMAN_TOKENIZER", "bpe-openai"),
        lambda mp: tokman.encodings.configure(vocab_dir="/nonexistent/tokman-vocab"),
    ],
    ids=["environment", "configure"],
)
def test_a_changed_configuration_forks_new_workers(
    monkeypatch: pytest.MonkeyPatch, change: object
) -> None:
    """Workers forked under other settings would load encodings differently: replaced."""
    tokman.count_batch(DOCS, model="gpt-4o", workers=2)
    old = pool_pids()
    assert callable(change)
    change(monkeypatch)
    assert tokman.count_batch(DOCS, model="gpt-4o", workers=2) == expected()
    assert wait_until(lambda: not (pool_pids() & old))


def test_another_fork_key_or_worker_count_forks_new_workers() -> None:
    assert set(_pool.ordered_map(_pid, range(20), 2, fork_key="a")) <= pool_pids()
    old = pool_pids()
    again = set(_pool.ordered_map(_pid, range(20), 2, fork_key="a"))
    assert again <= old
    needing_nothing = set(_pool.ordered_map(_pid, range(20), 2))  # any warm pool serves it
    assert needing_nothing <= old
    other = set(_pool.ordered_map(_pid, range(20), 2, fork_key="b"))
    assert not (other & old)
    one = set(_pool.ordered_map(_pid, range(20), 1, fork_key="b"))
    assert len(one) == 1 and not (one & other)


def test_a_killed_worker_fails_that_call_and_the_next_one_forks_anew() -> None:
    from concurrent.futures.process import BrokenProcessPool

    tokman.count_batch(DOCS, model="gpt-4o", workers=2)
    old = pool_pids()
    with pytest.raises(BrokenProcessPool):
        list(_pool.ordered_map(_die, range(4), 2))
    assert tokman.count_batch(DOCS, model="gpt-4o", workers=2) == expected()
    assert not (pool_pids() & old)


def test_closing_a_stream_early_leaves_the_pool_usable() -> None:
    counts: Iterator[int] = tokman.iter_count_batch(iter(DOCS), model="gpt-4o", workers=2)
    assert next(counts) == expected()[0]
    counts.close()  # type: ignore[attr-defined]
    assert tokman.count_batch(DOCS, model="gpt-4o", workers=2) == expected()


def test_concurrent_calls_share_the_pool_and_keep_their_own_order() -> None:
    reversed_docs = DOCS[::-1]
    results: dict[str, list[int]] = {}

    def run(name: str, docs: list[str]) -> None:
        results[name] = tokman.count_batch(docs, model="gpt-4o", workers=2)

    threads = [threading.Thread(target=run, args=(str(i), DOCS if i % 2 else reversed_docs))
               for i in range(4)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    truth = expected()
    assert results == {"0": truth[::-1], "1": truth, "2": truth[::-1], "3": truth}
    assert len(pool_pids()) == 2


def _in_forked_child(queue: multiprocessing.Queue[object]) -> None:
    try:
        inherited = _pool._warm
        counts = tokman.count_batch(DOCS, model="gpt-4o", workers=2)
        queue.put((inherited is None, counts, sorted(pool_pids())))
    except BaseException as exc:  # pragma: no cover - reported to the parent
        queue.put(repr(exc))


def _fork_and_count() -> tuple[bool, list[int], list[int]]:
    """Fork a child that counts DOCS on workers of its own: (it inherited no pool, its
    counts, its workers' pids)."""
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[object] = ctx.Queue()
    child = ctx.Process(target=_in_forked_child, args=(queue,))
    child.start()
    result = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0, result
    assert isinstance(result, tuple), result
    return result


def test_an_idle_pool_is_ended_before_this_process_forks() -> None:
    """No thread or pipe of an idle pool crosses a fork; the child forks its own workers."""
    tokman.count_batch(DOCS, model="gpt-4o", workers=2)
    parents = pool_pids()
    fresh, counts, its_pids = _fork_and_count()
    assert fresh and counts == expected()
    assert its_pids and not (set(its_pids) & parents)
    assert not (pool_pids() & parents)  # ended before the fork
    assert tokman.count_batch(DOCS, model="gpt-4o", workers=2) == expected()


def test_a_child_forked_mid_call_never_uses_the_parents_pool() -> None:
    """Forked while a call is using the pool: the pool stays the parent's, and both count."""
    counts = tokman.iter_count_batch(iter(DOCS), model="gpt-4o", workers=2)
    first = [next(counts) for _ in range(10)]
    parents = pool_pids()
    fresh, child_counts, its_pids = _fork_and_count()
    assert fresh and child_counts == expected()
    assert not (set(its_pids) & parents)
    assert first + list(counts) == expected()
    assert parents <= pool_pids()  # the parent's workers were kept, and served the rest


def test_a_script_exits_promptly_with_its_pool_warm() -> None:
    """An interpreter that ends right after a pooled call does not wait out the idle time."""
    import subprocess
    import sys

    script = (
        "import tokman\n"
        "docs = ['some words and 中文 text %d' % i for i in range(60_000)]\n"
        "assert tokman.count_batch(docs, model='gpt-4o', workers=2)\n"
        "import multiprocessing; print(len(multiprocessing.active_children()))\n"
    )
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "2"  # warm when the script ended
    assert time.monotonic() - started < _pool.IDLE_SECONDS


def test_a_pool_that_cannot_start_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed fork fails that call; the next call starts a pool again."""

    def cannot_fork(warm: object) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    with monkeypatch.context() as mp:
        mp.setattr(_pool, "_start", cannot_fork)
        with pytest.raises(OSError):
            tokman.count_batch(DOCS, model="gpt-4o", workers=2)
    assert _pool._warm is None
    assert tokman.count_batch(DOCS, model="gpt-4o", workers=2) == expected()
    assert len(pool_pids()) == 2
