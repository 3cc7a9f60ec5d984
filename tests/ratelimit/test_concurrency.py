"""20 threads (memory and Redis) and 20 processes (Redis) against one quota, on a fake clock.

Each worker asks for room (``try_acquire``) until there is none at the current instant, then
waits for the clock to move; the driver moves the fake clock one step only when every worker
is blocked, so the quota is saturated at every instant. Workers settle some reservations below
their estimate and release others (a failed call). From the admission log (time, final tokens):
in *every* 60-s interval the tokens, and in every 10-s interval the requests, stay within the
quota, and at least 95 % of the quota is admitted.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from ratelimit._log import admitted_in, window_max
from tokman.ratelimit import Quota, RateLimiter

S = 1_000_000
WORKERS = 20
STEP = 0.5
DURATION = 180.0  # three token windows
# tokens bind (small rpm never reached) / requests bind (small requests)
SCENARIOS = {
    "tokens": (Quota(tpm=60_000, rpm=6_000), (500, 3_000)),
    "requests": (Quota(tpm=1_000_000, rpm=600), (10, 100)),
}


class SharedClock:
    """A fake clock every process reads: µs in a shared integer."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def monotonic(self) -> float:
        return int(self.value.value) / S

    def now(self) -> Any:
        from datetime import datetime, timezone

        return datetime.fromtimestamp(self.monotonic(), timezone.utc)


def work(
    index: int, backend: str, name: str, scenario: str, clock_value: Any, blocked: Any,
    out: Any,
) -> None:  # fmt: skip
    quota, (low, high) = SCENARIOS[scenario]
    clock = SharedClock(clock_value)
    limiter = RateLimiter(quota, backend, name=name, clock=clock)
    rng = random.Random(index)
    log: list[tuple[int, int]] = []
    end = round(DURATION * S)
    while True:
        now = clock_value.value
        if now >= end:
            break
        hold = limiter.try_acquire(rng.randint(low, high))
        if hold is not None:
            roll = rng.random()
            if roll < 0.1:
                hold.release()
            else:
                if roll < 0.5:
                    hold.settle(rng.randint(0, hold.tokens))
                log.append((hold.time, hold.tokens))
            continue
        blocked[index] = now
        while clock_value.value == now:
            time.sleep(0.0002)
    limiter.close()
    out(log)


def drive(clock_value: Any, blocked: Any, alive: Callable[[], bool]) -> None:
    end = round(DURATION * S)
    while clock_value.value < end:
        now = clock_value.value
        while any(blocked[i] != now for i in range(WORKERS)):
            if not alive():
                raise AssertionError("a worker died")
            time.sleep(0.0002)
        clock_value.value = now + round(STEP * S)


def check(quota: Quota, log: list[tuple[int, int]]) -> None:
    tokens = window_max(log, quota.token_window_us)
    requests = window_max([(t, 1) for t, _ in log], quota.request_window_us)
    assert tokens <= quota.tpm, (tokens, quota.tpm)
    assert requests <= quota.request_limit, (requests, quota.request_limit)
    windows = int(DURATION / quota.token_window)
    admitted_tokens = admitted_in(log, 0, windows * quota.token_window_us)
    admitted_requests = len(log)
    # saturated: the binding limit's whole quota, in every window, minus at most 5 %
    token_share = admitted_tokens / (windows * quota.tpm)
    request_share = admitted_requests / (DURATION / quota.request_window * quota.request_limit)
    print(f"admitted: {token_share:.3f} of the tokens, {request_share:.3f} of the requests")
    assert max(token_share, request_share) >= 0.95, (token_share, request_share)


class _Value:
    def __init__(self) -> None:
        self.value = 0


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_twenty_threads(backend: str, name: str, scenario: str) -> None:
    clock_value = _Value()
    blocked = [-1] * WORKERS
    logs: list[list[tuple[int, int]]] = []
    threads = [
        threading.Thread(
            target=work,
            args=(i, backend, name, scenario, clock_value, blocked, logs.append),
            daemon=True,
        )
        for i in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    drive(clock_value, blocked, lambda: all(t.is_alive() for t in threads))
    for thread in threads:
        thread.join(60)
    assert len(logs) == WORKERS
    check(SCENARIOS[scenario][0], [entry for log in logs for entry in log])


def _process(index: int, backend: str, name: str, scenario: str, clock_value: Any,
             blocked: Any, queue: Any) -> None:  # fmt: skip
    work(index, backend, name, scenario, clock_value, blocked, queue.put)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_twenty_processes_on_redis(redis_url: str, name: str, scenario: str) -> None:
    context = multiprocessing.get_context("fork")
    clock_value = context.Value("q", 0, lock=False)
    blocked = context.Array("q", [-1] * WORKERS, lock=False)
    queue = context.Queue()
    processes = [
        context.Process(
            target=_process,
            args=(i, redis_url, name, scenario, clock_value, blocked, queue),
            daemon=True,
        )
        for i in range(WORKERS)
    ]
    for process in processes:
        process.start()
    try:
        drive(clock_value, blocked, lambda: all(p.is_alive() for p in processes))
        logs = [queue.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    check(SCENARIOS[scenario][0], [entry for log in logs for entry in log])
