"""Every rate-limiter entry point refuses bad input with a typed error naming the parameter
(the style of tests/test_fuzz_public_api.py, whose baselines these become once the names are
exported from ``tokman``)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokman import models
from tokman.errors import LimitExceededError, TokmanError
from tokman.ratelimit import AsyncRateLimiter, Quota, RateLimiter
from tokman.testing import FakeClock

HELLO = [{"role": "user", "content": "hello"}]


def _limiter() -> RateLimiter:
    return RateLimiter(Quota(tpm=100_000, rpm=600), clock=FakeClock(), name="fuzz")


def _async(make: Callable[[], Any]) -> Any:
    return asyncio.run(make())


ENTRIES: dict[str, tuple[Callable[..., Any], Callable[[], dict[str, Any]], tuple[str, ...]]] = {
    "Quota": (Quota, lambda: {"tpm": 1000, "rpm": 60},
              ("tpm", "rpm", "token_window", "request_window")),
    "Quota.for_deployment": (Quota.for_deployment, lambda: {"name": "fuzz-dep"},
                             ("name", "token_window", "request_window")),
    "RateLimiter": (RateLimiter, lambda: {"quota": Quota(tpm=1, rpm=1)},
                    ("quota", "backend", "name", "clock", "on_backend_error", "poll_interval",
                     "key_prefix")),
    "AsyncRateLimiter": (AsyncRateLimiter, lambda: {"quota": Quota(tpm=1, rpm=1)},
                         ("quota", "backend", "name", "on_backend_error", "poll_interval")),
    "RateLimiter.acquire": (lambda **kw: _limiter().acquire(**kw), lambda: {"tokens": 10},
                            ("tokens", "timeout")),
    "RateLimiter.acquire(request)": (
        lambda **kw: _limiter().acquire(**kw),
        lambda: {"request": {"model": "gpt-4o", "messages": HELLO, "max_tokens": 5}},
        ("request",),
    ),
    "RateLimiter.try_acquire": (lambda **kw: _limiter().try_acquire(**kw),
                                lambda: {"tokens": 10}, ("tokens",)),
    "RateReservation.settle": (lambda **kw: _limiter().acquire(10).settle(**kw),
                               lambda: {"actual": 5}, ("actual",)),
    "RateLimiter.observe": (lambda **kw: _limiter().observe(**kw),
                            lambda: {"status": 429, "headers": {}}, ("status", "headers")),
    "AsyncRateLimiter.acquire": (
        lambda **kw: _async(lambda: AsyncRateLimiter(Quota(tpm=100, rpm=60)).acquire(**kw)),
        lambda: {"tokens": 10},
        ("tokens", "timeout"),
    ),
}  # fmt: skip

#: values for which a None / 0 / empty result is right (not a silent failure)
OK: dict[tuple[str, str], Callable[[Any], bool]] = {
    ("Quota", "rpm"): lambda v: v is None,  # explicitly no request limit
    ("RateLimiter", "name"): lambda v: v is None,  # the default
    ("RateLimiter", "clock"): lambda v: v is None,
    ("AsyncRateLimiter", "name"): lambda v: v is None,
    ("RateLimiter.acquire", "timeout"): lambda v: v is None,
    ("AsyncRateLimiter.acquire", "timeout"): lambda v: v is None,
    ("RateLimiter.acquire", "tokens"): lambda v: v == 0 and type(v) is int,
    ("RateLimiter.try_acquire", "tokens"): lambda v: v == 0 and type(v) is int,
    ("AsyncRateLimiter.acquire", "tokens"): lambda v: v == 0 and type(v) is int,
    ("RateReservation.settle", "actual"): lambda v: type(v) is int and v >= 0,
    ("RateLimiter.observe", "headers"): lambda v: isinstance(v, dict),
}

BAD = st.sampled_from(
    [None, object(), b"bytes", -1, 0, -(2**70), 2**70, math.nan, math.inf, -math.inf, -0.5, 1.5,
     True, "", " ", "\ud800", [], {}, (), [None], {"": None}, {"prompt_tokens": None},
     Decimal("NaN"), "not-a-model-\u0000", "a{b}"]
)  # fmt: skip
CASES = [(name, param) for name, (_, _, params) in ENTRIES.items() for param in params]


@pytest.mark.parametrize(("name", "param"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(bad=BAD)
def test_bad_values_get_typed_errors(name: str, param: str, bad: Any) -> None:
    call, valid, _ = ENTRIES[name]
    models.register_deployment("fuzz-dep", model="gpt-4o", tpm=1000, rpm=60)
    kwargs = valid()
    kwargs[param] = bad
    try:
        result = call(**kwargs)
    except LimitExceededError:
        return
    except TokmanError as exc:
        field = str(getattr(exc, "field", "") or "")
        assert param in str(exc) or param in field, f"{name}({param}={bad!r}): {exc}"
        return
    except Exception as exc:
        pytest.fail(f"{name}({param}={bad!r}) raised {type(exc).__name__}: {exc}")
    finally:
        models.reset()
    if name == "RateLimiter.observe" or not (result is None or result == 0 or result == ()):
        return  # observe returns None by design; a value that was read and used is fine
    accepted = OK.get((name, param))
    assert accepted is not None and accepted(bad), f"{name}({param}={bad!r}) -> {result!r}"
