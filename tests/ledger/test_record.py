"""UsageRecord: construction, validation, response parsing and serialisation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest

from tokman import UsageRecord
from tokman.errors import InvalidRequestError


def test_keyword_construction_with_defaults() -> None:
    """The issue's example works; defaults fill id, time, status and operation."""
    r = UsageRecord(id="r1", model="gpt-4o", prompt_tokens=100, completion_tokens=20)
    assert (r.id, r.cost, r.status, r.operation, r.total_tokens) == ("r1", None, "ok", "chat", 120)
    assert r.time.tzinfo is timezone.utc
    assert datetime.now(timezone.utc) - r.time < timedelta(seconds=5)
    assert UsageRecord().id.startswith("tokman-") and UsageRecord().id != UsageRecord().id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prompt_tokens": -1}, "UsageRecord.prompt_tokens"),
        ({"completion_tokens": 1.5}, "UsageRecord.completion_tokens"),
        ({"status": "weird"}, "UsageRecord.status"),
        ({"cost": 0.1}, "UsageRecord.cost"),
        ({"id": ""}, "UsageRecord.id"),
        ({"tags": {"user": 7}}, "UsageRecord.tags['user']"),
    ],
)
def test_invalid_fields_are_named(kwargs: dict[str, object], field: str) -> None:
    """Bad values raise InvalidRequestError naming the field."""
    with pytest.raises(InvalidRequestError, match=field.replace("[", r"\[").replace("]", r"\]")):
        UsageRecord(**kwargs)  # type: ignore[arg-type]


def test_naive_time_is_utc_and_cost_accepts_str() -> None:
    """A naive time is taken as UTC; str/int costs become Decimal."""
    r = UsageRecord(time=datetime(2025, 1, 1, 12), cost="0.5")  # type: ignore[arg-type]
    assert r.time == datetime(2025, 1, 1, 12, tzinfo=timezone.utc)
    assert r.cost == Decimal("0.5")


def test_from_chat_completion_object() -> None:
    """An SDK-style object's id, model and detailed usage are read."""
    response = SimpleNamespace(
        id="chatcmpl-abc",
        model="o3-mini-2025-01-31",
        object="chat.completion",
        usage=SimpleNamespace(
            prompt_tokens=1000,
            completion_tokens=500,
            prompt_tokens_details=SimpleNamespace(cached_tokens=512),
            completion_tokens_details=SimpleNamespace(reasoning_tokens=384),
        ),
    )
    r = UsageRecord.from_response(response, deployment="d", tags={"user": "ann"}, latency=0.5)
    assert (r.id, r.model, r.deployment, r.operation) == (
        "chatcmpl-abc",
        "o3-mini-2025-01-31",
        "d",
        "chat",
    )
    assert (r.prompt_tokens, r.cached_tokens, r.completion_tokens, r.reasoning_tokens) == (
        1000,
        512,
        500,
        384,
    )
    assert (r.tags, r.latency) == ({"user": "ann"}, 0.5)


def test_from_responses_api_and_embeddings() -> None:
    """Responses usage (input/output tokens) and embeddings usage are understood."""
    r = UsageRecord.from_response(
        {
            "id": "resp_1",
            "object": "response",
            "model": "gpt-4.1",
            "usage": {
                "input_tokens": 40,
                "output_tokens": 9,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 3},
            },
        }
    )
    assert (r.operation, r.prompt_tokens, r.completion_tokens, r.reasoning_tokens) == (
        "responses",
        40,
        9,
        3,
    )
    e = UsageRecord.from_response(
        {"object": "list", "model": "text-embedding-3-small", "usage": {"prompt_tokens": 8}}
    )
    assert (e.operation, e.prompt_tokens, e.id.startswith("tokman-")) == ("embeddings", 8, True)
    bare = UsageRecord.from_response({"prompt_tokens": 3, "completion_tokens": 4}, model="m")
    assert (bare.model, bare.total_tokens) == ("m", 7)


def test_dict_round_trip() -> None:
    """to_dict/from_dict (the spool's format) round-trips every field."""
    r = UsageRecord(id="x", model="m", cost=Decimal("0.1"), latency=0.2, tags={"a": "b"})
    assert UsageRecord.from_dict(r.to_dict()) == r


def test_priced_leaves_unknown_models_unpriced() -> None:
    """A model without a price keeps cost None instead of failing the write."""
    r = UsageRecord(model="surely-not-a-model", prompt_tokens=10)
    assert r.priced() is r
    given = UsageRecord(model="gpt-4o", cost=Decimal(1))
    assert given.priced() is given
