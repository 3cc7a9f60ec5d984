"""Rate-limiter admission cost: tokman vs ``limits`` (sliding-window counter) and ``throttled-py``
(GCRA), in memory and on the same Redis.

What is timed, per admitted request, sequentially on one client (best of ``--repeat`` rounds;
each round runs every case once, in turn):

* tokman: ``try_acquire(tokens)`` (TPM and RPM reserved together, one EVALSHA on Redis) and
  ``try_acquire`` + ``settle(actual)`` (the refund into the reservation's own window: a second
  EVALSHA). The async limiter (``redis.asyncio``) is timed with 20 concurrent tasks.
* limits 5.8 ``SlidingWindowCounterRateLimiter``: ``hit(tpm, cost=tokens)`` (TPM only), and
  ``hit(tpm, cost=tokens)`` + ``hit(rpm)`` (both limits, not atomic: RPM can be taken while TPM
  then fails). No refund exists.
* throttled-py 3.5 GCRA: ``limit(key, cost=tokens)`` (TPM only), and a second ``limit`` on an
  RPM key. No refund exists.

The quota is far above what the run admits, so every call is an admission. Goal (issue 11):
tokman no slower than either peer for what they can do, while they cannot refund or reserve TPM
and RPM together. Also prints the Redis memory one window of 4,000-token reservations takes.
Run: ``python benchmarks/bench_ratelimit.py [--n 1000] [--repeat 10] [--redis redis://127.0.0.1:6379/0]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import Callable

import redis

from tokman.ratelimit import AsyncRateLimiter, Quota, RateLimiter

BIG = 10**12


def _script_usec(client: redis.Redis | None) -> float:
    """The server's total µs spent in EVALSHA/EVAL so far (``INFO commandstats``)."""
    if client is None:
        return 0.0
    stats = client.info("commandstats")
    return float(sum(stats.get(f"cmdstat_{c}", {}).get("usec", 0) for c in ("evalsha", "eval")))


def _best(
    runs: dict[str, Callable[[int], None]], n: int, repeat: int, client: redis.Redis | None = None
) -> dict[str, tuple[float, float]]:
    """Per case: (µs per operation, best of ``repeat``; server µs in scripts per operation).

    The cases take turns, one run of each per round, so a slow phase of a shared machine (other
    processes, CPU frequency) hits every library alike instead of whichever ran during it."""
    best = {label: (float("inf"), float("inf")) for label in runs}
    for _ in range(repeat):
        for label, run in runs.items():
            before = _script_usec(client)
            start = time.perf_counter()
            run(n)
            elapsed = (time.perf_counter() - start) / n * 1e6
            server = (_script_usec(client) - before) / n
            best[label] = (min(best[label][0], elapsed), min(best[label][1], server))
    return best


def _sizes(n: int) -> list[int]:
    rng = random.Random(1)
    return [rng.randint(500, 4_000) for _ in range(n)]


def tokman_runs(url: str) -> dict[str, Callable[[int], None]]:
    limiter = RateLimiter(Quota(tpm=BIG, rpm=BIG), url, name=f"bench-{uuid.uuid4().hex[:8]}")

    def acquire(n: int) -> None:
        for tokens in _sizes(n):
            limiter.try_acquire(tokens)

    def acquire_settle(n: int) -> None:
        for tokens in _sizes(n):
            hold = limiter.try_acquire(tokens)
            assert hold is not None
            hold.settle(tokens // 3)

    return {"reserve TPM+RPM": acquire, "reserve TPM+RPM + settle": acquire_settle}


def limits_runs(url: str) -> dict[str, Callable[[int], None]]:
    from limits import RateLimitItemPerMinute, RateLimitItemPerSecond, storage, strategies

    store = storage.MemoryStorage() if url == "memory://" else storage.RedisStorage(url)
    limiter = strategies.SlidingWindowCounterRateLimiter(store)
    tpm = RateLimitItemPerMinute(BIG)
    rpm = RateLimitItemPerSecond(BIG, 10)
    key = f"bench-{uuid.uuid4().hex[:8]}"

    def tokens_only(n: int) -> None:
        for tokens in _sizes(n):
            limiter.hit(tpm, key, "tpm", cost=tokens)

    def both(n: int) -> None:
        for tokens in _sizes(n):
            limiter.hit(tpm, key, "tpm", cost=tokens) and limiter.hit(rpm, key, "rpm")

    return {"TPM only": tokens_only, "TPM + RPM (2 calls)": both}


def throttled_runs(url: str) -> dict[str, Callable[[int], None]]:
    import throttled

    store = throttled.MemoryStore() if url == "memory://" else throttled.RedisStore(server=url)
    key = f"bench-{uuid.uuid4().hex[:8]}"
    tpm = throttled.Throttled(using="gcra", quota=throttled.per_min(BIG), store=store)
    rpm = throttled.Throttled(using="gcra", quota=throttled.per_min(BIG), store=store)

    def tokens_only(n: int) -> None:
        for tokens in _sizes(n):
            tpm.limit(key + ":tpm", cost=tokens)

    def both(n: int) -> None:
        for tokens in _sizes(n):
            tpm.limit(key + ":tpm", cost=tokens)
            rpm.limit(key + ":rpm")

    return {"TPM only": tokens_only, "TPM + RPM (2 calls)": both}


def _async_tokman(url: str, n: int, *, settle: bool, tasks: int = 20) -> float:
    async def main() -> float:
        limiter = AsyncRateLimiter(
            Quota(tpm=BIG, rpm=BIG), url, name=f"bench-{uuid.uuid4().hex[:8]}"
        )
        sizes = _sizes(n)

        async def worker(part: list[int]) -> None:
            for tokens in part:
                hold = await limiter.try_acquire(tokens)
                assert hold is not None
                if settle:
                    await hold.settle(tokens // 3)

        start = time.perf_counter()
        await asyncio.gather(*(worker(sizes[i::tasks]) for i in range(tasks)))
        elapsed = time.perf_counter() - start
        await limiter.aclose()
        return n / elapsed

    return asyncio.run(main())


def _async_throttled(url: str, n: int, tasks: int = 20) -> float:
    from throttled.asyncio import RedisStore, Throttled, per_min

    async def main() -> float:
        store = RedisStore(server=url)
        tpm = Throttled(using="gcra", quota=per_min(BIG), store=store)
        key = f"bench-{uuid.uuid4().hex[:8]}:tpm"
        sizes = _sizes(n)

        async def worker(part: list[int]) -> None:
            for tokens in part:
                await tpm.limit(key, cost=tokens)

        start = time.perf_counter()
        await asyncio.gather(*(worker(sizes[i::tasks]) for i in range(tasks)))
        return n / (time.perf_counter() - start)

    return asyncio.run(main())


def _memory_footprint(url: str) -> int:
    name = f"bench-mem-{uuid.uuid4().hex[:8]}"
    limiter = RateLimiter(Quota(tpm=1_000_000, rpm=10_000), url, name=name)
    for _ in range(250):  # a full 1M-TPM window of 4,000-token reservations
        assert limiter.try_acquire(4_000) is not None
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{{tokman:{name}}}*"))
    total = sum(int(client.memory_usage(k) or 0) for k in keys)
    client.delete(*keys)
    client.close()
    limiter.close()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    for url in ("memory://", args.redis):
        where = "memory" if url == "memory://" else "Redis"
        n = args.n * (10 if url == "memory://" else 1)
        print(
            f"\n{where}: µs per admitted request (sequential, best of {args.repeat} rounds, "
            f"n={n:,})"
        )
        client = None if url == "memory://" else redis.Redis.from_url(url)
        runs = {
            f"{lib}: {label}": run
            for lib, lib_runs in (
                ("tokman", tokman_runs(url)),
                ("limits sliding-window counter", limits_runs(url)),
                ("throttled-py GCRA", throttled_runs(url)),
            )
            for label, run in lib_runs.items()
        }
        rows = _best(runs, n, args.repeat, client)
        width = max(len(k) for k in rows)
        base = rows["tokman: reserve TPM+RPM"][0]
        for label, (us, server) in rows.items():
            inside = f"  (server: {server:5.1f} µs in Lua)" if client is not None else ""
            print(
                f"  {label:<{width}}  {us:8.1f} µs  {1e6 / us:>10,.0f}/s  ({us / base:.2f}x)"
                + inside
            )
        if url != "memory://":
            many = args.n * 5
            print(
                f"  async, 20 tasks: tokman acquire {_async_tokman(url, many, settle=False):,.0f}/s"
                f", acquire+settle {_async_tokman(url, many, settle=True):,.0f}/s; "
                f"throttled-py GCRA limit {_async_throttled(url, many):,.0f}/s"
            )
            print(
                "  Redis memory for a full window (250 x 4,000 tokens of a 1M TPM quota): "
                f"{_memory_footprint(url):,} bytes"
            )


if __name__ == "__main__":
    main()
