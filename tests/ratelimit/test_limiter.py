"""RateLimiter / AsyncRateLimiter behaviour, on every backend, on a fake clock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tokman.errors import InvalidRequestError, RateLimitExceededError, UnknownModelError
from tokman.models import register_deployment
from tokman.ratelimit import AsyncRateLimiter, Quota, RateLimiter, parse_duration
from tokman.testing import FakeClock

QUOTA = Quota(tpm=1_000, rpm=60)  # 10 requests per 10 s


def limiter(backend: str, name: str, clock: FakeClock, **kwargs: Any) -> RateLimiter:
    return RateLimiter(QUOTA, backend, name=name, clock=clock, sleep=clock.advance, **kwargs)


def test_acquire_waits_for_the_window_and_timeout_raises_with_retry_after(
    backend: str, name: str
) -> None:
    clock = FakeClock(monotonic=1000.0)
    rl = limiter(backend, name, clock)
    first = rl.acquire(700)
    assert first.tokens == 700 and first.limited
    assert rl.try_acquire(400) is None
    with pytest.raises(RateLimitExceededError) as caught:
        rl.acquire(400, timeout=30)
    assert caught.value.retry_after == pytest.approx(60)
    assert caught.value.http_status == 429
    second = rl.acquire(400)  # blocks: the fake clock moves 60 s
    assert clock.monotonic() == pytest.approx(1060)
    assert second.time - first.time == 60_000_000
    rl.close()


def test_a_request_larger_than_the_whole_quota_is_rejected_at_once(backend: str, name: str) -> None:
    rl = limiter(backend, name, FakeClock())
    with pytest.raises(InvalidRequestError, match="never be admitted") as caught:
        rl.acquire(1_001)
    assert caught.value.field == "tokens"
    with pytest.raises(InvalidRequestError, match="exactly one"):
        rl.acquire()
    with pytest.raises(InvalidRequestError):
        rl.acquire(-1)


def test_settle_refunds_into_the_window_it_was_reserved_in(backend: str, name: str) -> None:
    clock = FakeClock()
    rl = limiter(backend, name, clock)
    early = rl.acquire(900)
    clock.advance(50)
    late = rl.acquire(100)
    assert early.settle({"prompt_tokens": 150, "completion_tokens": 50})  # usage dict: 200
    assert early.tokens == 200
    assert rl.usage() == (300, 1)
    assert rl.try_acquire(700) is not None  # the refund is usable now
    clock.advance(10)  # 60 s: the early entry (200) leaves its window, not the late one's
    assert rl.usage() == (800, 0)  # (both later requests left the 10-s window)
    assert late.settle(100)
    clock.advance(60)
    assert not early.settle(5)  # aged out: nothing left to correct


def test_release_on_error_and_keep_on_normal_exit(backend: str, name: str) -> None:
    rl = limiter(backend, name, FakeClock())
    with pytest.raises(ZeroDivisionError), rl.acquire(600) as hold:
        raise ZeroDivisionError
    assert hold.state == "released" and rl.usage() == (0, 0)
    with rl.acquire(600) as kept:
        pass
    assert kept.state == "held" and rl.usage() == (600, 1)
    assert kept.release() and not kept.release()
    with pytest.raises(InvalidRequestError):
        kept.settle(1)


def test_requests_are_limited_per_request_window(backend: str, name: str) -> None:
    clock = FakeClock()
    rl = limiter(backend, name, clock)
    for _ in range(10):
        assert rl.try_acquire(1) is not None
    assert rl.try_acquire(1) is None
    clock.advance(10)
    assert rl.try_acquire(1) is not None


def test_a_429_observed_by_one_limiter_pauses_every_limiter_of_the_quota(
    backend: str, name: str
) -> None:
    clock = FakeClock()
    one, two = limiter(backend, name, clock), limiter(backend, name, clock)
    one.observe(429, {"Retry-After-Ms": "2500"})
    assert two.try_acquire(1) is None
    with pytest.raises(RateLimitExceededError) as caught:
        two.acquire(1, timeout=0)
    assert caught.value.retry_after == pytest.approx(2.5)
    clock.advance(2.5)
    assert two.try_acquire(1) is not None
    two.observe(429, {"x-ratelimit-reset-tokens": "6m0s", "x-ratelimit-reset-requests": "1s"})
    clock.advance(359)
    assert one.try_acquire(1) is None
    clock.advance(1)
    assert one.try_acquire(1) is not None
    one.observe(429, {"retry-after": "3"})
    clock.advance(2.9)
    assert one.try_acquire(1) is None
    clock.advance(0.1)
    one.observe(429, {})  # no hint: pause 1 s
    assert one.try_acquire(1) is None


def test_remaining_tokens_header_lowers_the_view_and_minus_one_is_unknown(
    backend: str, name: str
) -> None:
    clock = FakeClock()
    rl = limiter(backend, name, clock)
    rl.acquire(100)
    rl.observe(200, {"x-ratelimit-remaining-tokens": "-1", "x-ratelimit-reset-tokens": "0"})
    rl.observe(200, {"x-ratelimit-remaining-tokens": "0"})
    rl.observe(200, {"x-ratelimit-remaining-tokens": "950"})  # higher than ours: ignored
    assert rl.usage() == (100, 1)
    rl.observe(200, {"x-ratelimit-remaining-tokens": "400"})
    assert rl.usage() == (600, 1)
    assert rl.try_acquire(401) is None and rl.try_acquire(400) is not None
    clock.advance(60)
    assert rl.usage() == (0, 0)


def test_a_large_waiter_is_not_starved_by_a_stream_of_small_requests(
    backend: str, name: str
) -> None:
    clock = FakeClock()
    quota = Quota(tpm=1_000, rpm=6_000)
    small = RateLimiter(quota, backend, name=name, clock=clock)
    for _ in range(10):
        assert small.try_acquire(100) is not None
        clock.advance(1)
    admitted: list[float] = []

    def sleep(seconds: float) -> None:  # small requests keep arriving while the big one waits
        for _ in range(int(seconds) or 1):
            clock.advance(min(seconds, 1))
            if small.try_acquire(100) is not None:
                admitted.append(clock.monotonic())

    big = RateLimiter(quota, backend, name=name, clock=clock, sleep=sleep, poll_interval=5)
    hold = big.acquire(900)
    # the small ones only got what the claim left free; the big one waited one window at most
    assert hold.time <= 70_000_000
    assert len(admitted) <= 2


def test_request_estimate_counts_the_prompt_and_completion_limit_times_copies(
    backend: str, name: str
) -> None:
    rl = RateLimiter(Quota(tpm=100_000, rpm=600), backend, name=name, clock=FakeClock())
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}],
               "max_tokens": 100, "n": 3}  # fmt: skip
    hold = rl.acquire(request=request)
    assert hold.tokens == 8 + 300  # count_prompt says 8 for this prompt
    embedding = rl.acquire(request={"model": "text-embedding-3-small", "input": ["a b", "c"]})
    assert embedding.tokens == 3
    with pytest.raises(InvalidRequestError, match="model"):
        rl.acquire(request={"messages": []})


def test_quota_arguments_and_deployments() -> None:
    assert Quota(tpm=600_000, rpm=3_600, request_window=1).request_limit == 60
    assert Quota(tpm=1, rpm=None).request_limit > 10**12
    for bad in ({"tpm": 0, "rpm": 1}, {"tpm": 1.5, "rpm": 1}, {"tpm": 1, "rpm": -2},
                {"tpm": 1, "rpm": 1, "token_window": 0}):  # fmt: skip
        with pytest.raises(InvalidRequestError):
            Quota(**bad)
    register_deployment("chat-prod", model="gpt-4o", tpm=450_000, rpm=2_700)
    quota = Quota.for_deployment("chat-prod")
    assert (quota.tpm, quota.rpm, quota.name) == (450_000, 2_700, "chat-prod")
    assert RateLimiter(quota).name == "chat-prod"
    register_deployment("no-rpm", model="gpt-4o", tpm=1_000)
    with pytest.raises(InvalidRequestError, match="never derived"):
        Quota.for_deployment("no-rpm")
    with pytest.raises(UnknownModelError, match="chat-prod"):
        Quota.for_deployment("chat-prd")
    for kwargs in ({"name": "a{b}"}, {"on_backend_error": "ignore"}, {"poll_interval": 0}):
        with pytest.raises(InvalidRequestError):
            RateLimiter(QUOTA, **kwargs)


def test_durations() -> None:
    assert parse_duration("1h2m3.5s") == 3723.5
    assert parse_duration("6m0s") == 360
    assert parse_duration("abc") is None and parse_duration("-1") is None


def test_async_twin(backend: str, name: str) -> None:
    clock = FakeClock()

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    async def main() -> None:
        async with AsyncRateLimiter(QUOTA, backend, name=name, clock=clock, sleep=sleep) as rl:
            async with await rl.acquire(700) as hold:
                await hold.settle(500)
            assert await rl.try_acquire(600) is None
            with pytest.raises(RateLimitExceededError):
                await rl.acquire(600, timeout=1)
            late = await rl.acquire(600)
            assert late.time - hold.time == 60_000_000
            with pytest.raises(KeyError):
                async with await rl.acquire(100):
                    raise KeyError
            assert await rl.usage() == (600, 1)
            await rl.observe(429, {"retry-after-ms": "1000"})
            assert await rl.try_acquire(1) is None

    asyncio.run(main())


def test_importing_the_limiter_does_not_import_redis() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tokman.ratelimit as r; r.RateLimiter(r.Quota(tpm=1, rpm=1)).try_acquire(1);"
        " print('redis' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
