"""Redis specifics: the Lua script mirrors the core, outages follow the policy, crashed holders
age out, keys share one hash tag and expire."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.crc import key_slot

from tokman.errors import RateLimitExceededError, StorageError
from tokman.ratelimit import AsyncRateLimiter, Quota, RateLimiter
from tokman.ratelimit._memory import MemoryBackend
from tokman.ratelimit._redis import RedisBackend
from tokman.testing import FakeClock

HOLDER = Path(__file__).with_name("_holder.py")
SRC = Path(__file__).parents[2] / "src"


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_lua_script_makes_the_same_decisions_as_the_core(
    redis_url: str, name: str, seed: int
) -> None:
    """The same random operation sequence and clock readings through memory and Redis."""
    from tokman._backends import parse_url

    rng = random.Random(seed)
    quota = Quota(tpm=5_000, rpm=120)  # 20 requests per 10 s
    memory = MemoryBackend(f"diff-{name}")
    red = RedisBackend(parse_url(redis_url), name=name, key_prefix="tokman")
    now, held, answers = 10**12, {}, 0
    for step in range(1500):
        now += rng.choice([0, 0, 1, 1_000, 250_000, 2_000_000, 7_000_000])
        roll = rng.random()
        if roll < 0.55:
            key, waiter = f"k{step}", rng.choice([None, None, "w1", "w2"])
            tokens = rng.randint(1, 2_500)
            one = memory.reserve(key, tokens, waiter, quota, now)
            two = red.reserve(key, tokens, waiter, quota, now)
            if one.admitted:
                held[key] = tokens
        elif roll < 0.7 and held:
            key, tokens, before = rng.choice(sorted(held)), rng.randint(0, 3_000), 0
            before, held[key] = held[key], tokens
            one, two = (b.settle(key, before, tokens, quota, now) for b in (memory, red))
        elif roll < 0.8 and held:
            key = rng.choice(sorted(held))
            tokens = held.pop(key)
            one, two = (b.release(key, tokens, quota, now) for b in (memory, red))
        elif roll < 0.85:
            seconds = rng.choice([1, 500_000, 3_000_000])
            one, two = (b.pause(seconds, quota, now) for b in (memory, red))
        elif roll < 0.9:
            remaining = rng.randint(1, 5_000)
            one, two = (b.lower(f"o{step}", remaining, quota, now) for b in (memory, red))
        elif roll < 0.93:
            waiter = rng.choice(["w1", "w2"])
            one, two = (b.unclaim(waiter, quota, now) for b in (memory, red))
        else:
            one, two = (b.usage(quota, now) for b in (memory, red))
        assert one == two, (step, one, two)
        assert memory.usage(quota, now) == red.usage(quota, now), step
        answers += 1
    assert answers == 1500
    red.close()


def test_keys_share_one_hash_tag_and_expire(redis_url: str, name: str) -> None:
    limiter = RateLimiter(Quota(tpm=1_000, rpm=60), redis_url, name=name)
    limiter.acquire(10).release()  # the entry keys are deleted when emptied...
    limiter.acquire(10)  # ...and made again: they must get an expiry again
    limiter.observe(429, {"retry-after-ms": "10"})
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{{tokman:{name}}}*"))
    assert len(keys) == 2  # entries and meta (no lowering: no ":o" zset)
    assert len({key_slot(k) for k in keys}) == 1
    assert all(0 < client.pttl(k) <= 121_000 for k in keys)
    # O(requests): one zset member per reservation, whatever its tokens
    assert client.zcard(f"{{tokman:{name}}}:t") == 1
    client.close()
    limiter.close()


def test_a_killed_process_reservation_ages_out(redis_url: str, name: str) -> None:
    env = dict(os.environ, PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    holder = subprocess.Popen(
        [sys.executable, str(HOLDER), redis_url, name, "hold"],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert holder.stdout is not None
        held_at = int(holder.stdout.readline())
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    quota = Quota(tpm=1_000, rpm=600, token_window=2.0, request_window=1.0)
    limiter = RateLimiter(quota, redis_url, name=name)
    assert limiter.usage()[0] == 900  # the dead process's reservation is still charged...
    hold = limiter.acquire(900, timeout=10)  # ...until its window passes
    assert hold.time - held_at >= 2_000_000
    assert limiter.usage()[0] == 900
    limiter.close()


def test_a_429_observed_by_another_process_pauses_this_one(redis_url: str, name: str) -> None:
    env = dict(os.environ, PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    done = subprocess.run(
        [sys.executable, str(HOLDER), redis_url, name, "observe"],
        capture_output=True, env=env, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert done.stdout.strip() == "observed"
    quota = Quota(tpm=1_000, rpm=600, token_window=2.0, request_window=1.0)
    limiter = RateLimiter(quota, redis_url, name=name)
    assert limiter.try_acquire(1) is None
    with pytest.raises(RateLimitExceededError) as caught:
        limiter.acquire(1, timeout=0)
    assert 0 < caught.value.retry_after <= 3.0  # the rest of the other process's pause
    limiter.close()


def test_redis_stopped_mid_test_raises_by_default(start_redis: Any, name: str) -> None:
    server = start_redis()
    clock = FakeClock()
    limiter = RateLimiter(Quota(tpm=1_000, rpm=60), server.url, name=name, clock=clock)
    hold = limiter.acquire(100)
    server.stop()
    with pytest.raises(StorageError) as caught:
        limiter.acquire(100)
    assert caught.value.retryable and caught.value.url == server.url
    assert "on_backend_error" in str(caught.value)
    with pytest.raises(StorageError):
        hold.settle(50)


@pytest.mark.parametrize("mode", ["allow", "local"])
def test_redis_stopped_mid_test_allow_or_local_logs_once(
    start_redis: Any, name: str, mode: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_redis()
    clock = FakeClock()
    limiter = RateLimiter(
        Quota(tpm=1_000, rpm=600), server.url, name=name, clock=clock, on_backend_error=mode
    )
    assert limiter.try_acquire(600) is not None
    server.stop()
    with caplog.at_level(logging.WARNING, logger="tokman.ratelimit"):
        first = limiter.try_acquire(600)
        second = limiter.try_acquire(600)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and mode in warnings[0].getMessage()
    assert first is not None
    if mode == "allow":
        assert not first.limited and second is not None
    else:  # this process alone, on a fresh local window of the same quota
        assert first.limited and second is None
        assert first.settle(100)
        assert limiter.try_acquire(500) is not None


def test_async_redis_outage_and_recovery(start_redis: Any, name: str) -> None:
    server = start_redis()

    async def main() -> None:
        limiter = AsyncRateLimiter(
            Quota(tpm=1_000, rpm=600), server.url, name=name, on_backend_error="local"
        )
        assert (await limiter.try_acquire(100)) is not None
        server.stop()
        hold = await limiter.try_acquire(950)
        assert hold is not None and hold.limited  # local: a fresh window
        assert await limiter.try_acquire(100) is None
        await limiter.aclose()
        raising = AsyncRateLimiter(Quota(tpm=1_000, rpm=600), server.url, name=name)
        with pytest.raises(StorageError):
            await raising.acquire(1)
        await raising.aclose()

    asyncio.run(main())


def test_async_limiters_on_redis_share_the_quota_with_sync_ones(redis_url: str, name: str) -> None:
    quota = Quota(tpm=1_000, rpm=600)
    sync = RateLimiter(quota, redis_url, name=name)

    async def main() -> None:
        limiter = AsyncRateLimiter(quota, redis_url, name=name)
        holds = await asyncio.gather(*(limiter.try_acquire(100) for _ in range(15)))
        assert sum(h is not None for h in holds) == 10
        await limiter.aclose()

    asyncio.run(main())
    assert sync.try_acquire(1) is None
    assert sync.usage() == (1_000, 10)
    sync.close()


def test_redis_url_options(redis_url: str, name: str) -> None:
    from tokman.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="socket_timeout"):
        RateLimiter(Quota(tpm=1, rpm=1), redis_url + "?bogus=1", name=name)
    limiter = RateLimiter(Quota(tpm=1, rpm=1), redis_url + "?socket_timeout=5", name=name)
    assert limiter.try_acquire(1) is not None
    limiter.close()


def test_redis_cluster_sync_and_async_share_one_quota(start_redis: Any, name: str) -> None:
    server = start_redis(cluster=True)
    assert server.url.startswith("redis+cluster://")
    quota = Quota(tpm=1_000, rpm=60)
    limiter = RateLimiter(quota, server.url, name=name)
    hold = limiter.acquire(600)
    assert limiter.try_acquire(600) is None
    assert hold.settle(100)

    async def main() -> None:
        twin = AsyncRateLimiter(quota, server.url, name=name)
        assert await twin.try_acquire(800) is not None
        assert await twin.usage() == (900, 2)
        await twin.aclose()

    asyncio.run(main())
    limiter.close()


def test_the_script_is_loaded_again_after_script_flush(start_redis: Any, name: str) -> None:
    """EVALSHA answers NOSCRIPT after a restart, failover or SCRIPT FLUSH: the backend loads
    the script again and the call succeeds (sync and async)."""
    server = start_redis()
    quota = Quota(tpm=1_000, rpm=600)
    limiter = RateLimiter(quota, server.url, name=name)
    assert limiter.try_acquire(100) is not None
    client = redis.Redis.from_url(server.url)
    client.script_flush()
    assert limiter.try_acquire(100) is not None

    async def main() -> None:
        twin = AsyncRateLimiter(quota, server.url, name=name)
        assert await twin.try_acquire(100) is not None
        client.script_flush()
        assert await twin.usage() == (300, 3)
        await twin.aclose()

    asyncio.run(main())
    client.close()
    limiter.close()


def test_the_request_bound_is_read_from_the_entries_themselves(redis_url: str, name: str) -> None:
    """The script skips counting the request window while the entries in ``:t`` leave room;
    that bound is the zset's own size (ZCARD), so an entry written by another writer (another
    tokman version in a rolling upgrade) counts even though no counter was updated for it."""
    quota = Quota(tpm=10_000, rpm=18)  # 3 requests per 10 s
    limiter = RateLimiter(quota, redis_url, name=name)
    for _ in range(2):
        assert limiter.try_acquire(1) is not None
    client = redis.Redis.from_url(redis_url)
    seconds, micros = client.time()
    client.zadd(f"{{tokman:{name}}}:t", {"foreign|1": seconds * 1_000_000 + micros})
    assert limiter.try_acquire(1) is None
    assert client.hget(f"{{tokman:{name}}}:m", "n") is None  # no stored counter to drift
    client.close()
    limiter.close()
