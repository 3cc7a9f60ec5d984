"""The pure decision core: windows, all-or-nothing, settle/release, pause, lowering, claim."""

from __future__ import annotations

from typing import Any

from tokman.ratelimit._core import CLAIM_GRACE_US, WindowLog

S = 1_000_000
LIMITS: dict[str, Any] = {"tpm": 1000, "request_limit": 3, "token_window": 60 * S,
                          "request_window": 10 * S}  # fmt: skip


def reserve(log: WindowLog, now: int, key: str, tokens: int, waiter: str | None = None) -> Any:
    return log.reserve(now, key, tokens, waiter=waiter, **LIMITS)


def test_tokens_fit_until_the_window_is_full_and_age_out_after_it() -> None:
    log = WindowLog()
    assert reserve(log, 0, "a", 600).admitted
    refused = reserve(log, 5 * S, "b", 500)
    assert not refused.admitted and refused.retry_after_us == 55 * S  # "a" leaves at 60 s
    assert reserve(log, 60 * S, "b", 500).admitted
    assert log.usage(60 * S, 60 * S, 10 * S) == (500, 1)


def test_requests_are_limited_per_request_window_and_nothing_is_written_when_refused() -> None:
    log = WindowLog()
    for i in range(3):
        assert reserve(log, i * S, f"r{i}", 1).admitted
    refused = reserve(log, 3 * S, "r3", 1)
    assert not refused.admitted and refused.retry_after_us == 7 * S  # r0 leaves at 10 s
    assert log.usage(3 * S, 60 * S, 10 * S) == (3, 3)  # all or nothing: no tokens taken
    assert reserve(log, 10 * S, "r3", 1).admitted


def test_settle_refunds_into_the_reservations_own_window() -> None:
    log = WindowLog()
    assert reserve(log, 0, "a", 900).admitted
    assert reserve(log, 50 * S, "b", 100).admitted
    assert log.settle("a", 200, 55 * S, 60 * S, 10 * S)
    assert reserve(log, 55 * S, "c", 700).admitted  # the refund is usable at once
    # "a" still leaves at 60 s with its settled 200, so at 60 s: b 100 + c 700 remain
    assert log.usage(60 * S, 60 * S, 10 * S) == (800, 1)  # c is still in the 10-s window
    assert not log.settle("a", 5, 61 * S, 60 * S, 10 * S)  # aged out: nothing to correct


def test_release_removes_tokens_and_request() -> None:
    log = WindowLog()
    assert reserve(log, 0, "a", 1000).admitted
    assert log.release("a", S, 60 * S, 10 * S)
    assert log.usage(S, 60 * S, 10 * S) == (0, 0)
    assert not log.release("a", S, 60 * S, 10 * S)


def test_pause_admits_nothing_until_it_ends() -> None:
    log = WindowLog()
    log.pause(30 * S)
    log.pause(10 * S)  # an earlier end never shortens a pause
    refused = reserve(log, 0, "a", 1)
    assert not refused.admitted and refused.retry_after_us == 30 * S
    assert reserve(log, 30 * S, "a", 1).admitted


def test_lower_takes_the_servers_smaller_remaining_and_it_ages_out() -> None:
    log = WindowLog()
    assert reserve(log, 0, "a", 100).admitted
    assert log.lower(S, "obs", 300, tpm=1000, token_window=60 * S, request_window=10 * S) == 600
    assert log.lower(S, "obs2", 900, tpm=1000, token_window=60 * S, request_window=10 * S) == 0
    assert not reserve(log, S, "b", 301).admitted
    assert log.usage(S, 60 * S, 10 * S) == (700, 1)  # the lowering is no request
    assert reserve(log, 61 * S, "b", 1000).admitted


def test_a_claim_keeps_small_requests_from_starving_a_large_one() -> None:
    log = WindowLog()
    limits = dict(LIMITS, request_limit=100)
    for i in range(9):
        assert log.reserve(i * S, f"s{i}", 100, **limits).admitted
    big = log.reserve(9 * S, "big", 800, waiter="W", **limits)
    assert not big.admitted and log.claim_id == "W"
    # with the claim live, a small request that would fit alone must leave room for it
    assert not log.reserve(10 * S, "s", 100, **limits).admitted
    assert log.reserve(66 * S, "big", 800, waiter="W", **limits).admitted
    assert log.claim_id is None


def test_a_claim_lapses_when_its_owner_does_not_come_back() -> None:
    log = WindowLog()
    assert reserve(log, 0, "a", 900).admitted
    refused = reserve(log, 0, "big", 900, waiter="W")
    assert refused.retry_after_us == 60 * S
    assert log.claim_until == 60 * S + CLAIM_GRACE_US
    assert reserve(log, 60 * S, "x", 50).admitted  # 50 + claim 900 <= 1000
    assert not reserve(log, 60 * S, "y", 100).admitted
    assert reserve(log, 62 * S, "y", 100).admitted  # the claim lapsed
    log.unclaim("nobody")
