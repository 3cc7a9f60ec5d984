"""tokman.testing: the fake clock and API-shaped responses users test their code with."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tokman.errors import InvalidRequestError
from tokman.testing import FakeClock, batch_line, fake_response
from tokman.types import Clock, SystemClock
from tokman.usage import Usage, read_response


def test_fake_clock_moves_only_when_told() -> None:
    """advance() moves both readings; set() moves the wall clock only; reads do not move it."""
    start = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)
    clock = FakeClock(start, monotonic=5.0)
    assert isinstance(clock, Clock)
    assert (clock.now(), clock.monotonic()) == (start, 5.0)
    assert clock.now() == clock.now()
    clock.advance(1.5)
    assert (clock.now(), clock.monotonic()) == (start + timedelta(seconds=1.5), 6.5)
    clock.set(datetime(2025, 1, 1))  # naive = UTC, and may go backwards
    assert clock.now() == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert clock.monotonic() == 6.5
    assert clock.now().tzinfo is timezone.utc


@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf"), "1", None])
def test_fake_clock_refuses_to_run_backwards_or_on_junk(seconds: object) -> None:
    """advance() takes finite seconds >= 0; set() and the start take datetimes."""
    clock = FakeClock()
    with pytest.raises(InvalidRequestError, match="seconds"):
        clock.advance(seconds)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="when"):
        clock.set("2025-01-01")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="start"):
        FakeClock("now")  # type: ignore[arg-type]


def test_system_clock_is_a_clock() -> None:
    """SystemClock reads the real clocks: aware UTC now, non-decreasing monotonic."""
    clock = SystemClock()
    assert isinstance(clock, Clock)
    a, b = clock.monotonic(), clock.monotonic()
    assert b >= a
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(seconds=5)
    assert clock.now().tzinfo is timezone.utc


@pytest.mark.parametrize("kind", ["chat", "responses", "embeddings"])
def test_fake_responses_read_back_as_built(kind: str) -> None:
    """Every fake response shape is read by tokman.usage to exactly the counts it was built with."""
    completion = 0 if kind == "embeddings" else 30
    r = fake_response(kind, model="m", prompt_tokens=100, completion_tokens=completion,
                      cached_tokens=0 if kind == "embeddings" else 64, id="id-1")  # fmt: skip
    report = read_response(r)
    assert report.id == "id-1" and report.model == "m"
    expected = Usage(100, completion, 0 if kind == "embeddings" else 64)
    assert report.usage == expected
    with pytest.raises(InvalidRequestError, match="include_usage"):
        read_response(fake_response(kind, usage=False))


def test_fake_responses_refuse_bad_input_and_batch_lines_wrap() -> None:
    """Unknown kinds and bad counts are refused; batch_line wraps or fails a body."""
    with pytest.raises(InvalidRequestError, match="kind"):
        fake_response("audio")
    with pytest.raises(InvalidRequestError, match="prompt_tokens"):
        fake_response(prompt_tokens=-1)
    line = batch_line(fake_response(prompt_tokens=3, id="c"), custom_id="x")
    assert (line["custom_id"], line["response"]["status_code"]) == ("x", 200)
    assert read_response(line).operation == "batch"
    failed = batch_line(fake_response(prompt_tokens=3), status_code=500)
    assert "usage" not in failed["response"]["body"]
