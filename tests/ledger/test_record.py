"""UsageRecord: construction, validation, response parsing and serialisation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest

from tokman import UsageRecord, cost, models
from tokman.errors import InvalidRequestError
from tokman.testing import batch_line, fake_response


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
        ({"tags": ["a"]}, "UsageRecord.tags"),
        ({"prompt_tokens": 10, "cached_tokens": 11}, "UsageRecord.cached_tokens"),
        ({"completion_tokens": 5, "reasoning_tokens": 6}, "UsageRecord.reasoning_tokens"),
        ({"prompt_tokens": True}, "UsageRecord.prompt_tokens"),
        ({"prompt_tokens": 10.0}, "UsageRecord.prompt_tokens"),
        ({"cost": Decimal("-0.01")}, "UsageRecord.cost"),
        ({"cost": Decimal("NaN")}, "UsageRecord.cost"),
        ({"cost": Decimal("Infinity")}, "UsageRecord.cost"),
        ({"cost": "free"}, "UsageRecord.cost"),
        ({"latency": float("nan")}, "UsageRecord.latency"),
        ({"latency": -0.5}, "UsageRecord.latency"),
        ({"latency": True}, "UsageRecord.latency"),
        ({"operation": "chat.completion"}, "UsageRecord.operation"),
        ({"model": None}, "UsageRecord.model"),
        ({"duplicate": 1}, "UsageRecord.duplicate"),
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
    assert "duplicate" not in r.to_dict()


def test_duplicate_flag_is_not_compared_and_serialised_only_when_true() -> None:
    """duplicate marks the stored copy a ledger returns: equal to the original, kept by dicts."""
    r = UsageRecord(id="x", model="m", prompt_tokens=3)
    dup = r.replace(duplicate=True)
    assert dup == r and dup.duplicate and not r.duplicate
    assert dup.to_dict()["duplicate"] is True
    assert UsageRecord.from_dict(dup.to_dict()).duplicate is True


@pytest.mark.parametrize(
    "response",
    [
        None,
        {},
        {"id": "chatcmpl-stream", "model": "gpt-4o", "object": "chat.completion", "usage": None},
        SimpleNamespace(id="chatcmpl-s", model="gpt-4o", object="chat.completion", usage=None),
    ],
)
def test_response_without_usage_is_refused(response: object) -> None:
    """A stream without usage (or no response) raises, explaining include_usage and estimate."""
    with pytest.raises(InvalidRequestError) as caught:
        UsageRecord.from_response(response, model="gpt-4o")
    assert "include_usage" in str(caught.value)
    assert "estimate" in str(caught.value)


def test_explicit_estimate_builds_an_estimated_record() -> None:
    """estimate= is used only when the response has no usage, and marks status='estimated'."""
    streamed = fake_response(usage=False, id="chatcmpl-s", model="gpt-4o-2024-08-06")
    r = UsageRecord.from_response(
        streamed, estimate={"prompt_tokens": 812, "completion_tokens": 95}
    )
    assert (r.id, r.model, r.status, r.prompt_tokens, r.completion_tokens) == (
        "chatcmpl-s",
        "gpt-4o-2024-08-06",
        "estimated",
        812,
        95,
    )
    real = UsageRecord.from_response(
        fake_response(prompt_tokens=5, completion_tokens=1), estimate={"prompt_tokens": 9}
    )
    assert (real.status, real.prompt_tokens) == ("ok", 5)


def test_batch_line_record_is_priced_at_batch_rates() -> None:
    """A Batch API result line becomes a 'batch' record with the body's id, priced as batch."""
    body = fake_response(model="gpt-4.1", prompt_tokens=1_000_000, id="chatcmpl-b")
    r = UsageRecord.from_response(
        batch_line(body), time=datetime(2025, 6, 1, tzinfo=timezone.utc)
    ).priced()
    assert (r.id, r.operation, r.cost) == ("chatcmpl-b", "batch", Decimal("1"))


def test_priced_uses_the_deployment_type() -> None:
    """Issue 9 #2: a Data Zone deployment's record is priced at the Data Zone rate ($2.75/1M)."""
    models.register_deployment("dz", model="gpt-4o", deployment_type="DataZoneStandard")
    at = datetime(2025, 1, 1, tzinfo=timezone.utc)
    r = UsageRecord(model="gpt-4o", deployment="dz", prompt_tokens=1_000_000, time=at).priced()
    assert r.cost == Decimal("2.75")
    assert r.price_id is not None and "datazone" in r.price_id
    bare = UsageRecord(deployment="dz", prompt_tokens=1_000_000, time=at).priced()
    assert bare.cost == Decimal("2.75")
    openai = UsageRecord(model="gpt-4o", prompt_tokens=1_000_000, time=at).priced()
    assert openai.cost == Decimal("2.5")


def test_unregistered_deployment_is_left_unpriced() -> None:
    """A deployment tokman does not know has an unknown type: no guessed (OpenAI) price."""
    r = UsageRecord(model="gpt-4o", deployment="who-knows", prompt_tokens=1000)
    assert r.priced() is r


def test_priced_matches_cost_and_is_a_valid_record() -> None:
    """priced() bills exactly what tokman.cost bills, and its copy equals a validated one."""
    at = datetime(2025, 6, 1, tzinfo=timezone.utc)
    r = UsageRecord(
        id="p",
        model="o4-mini",
        prompt_tokens=1566,
        cached_tokens=1408,
        completion_tokens=1843,
        reasoning_tokens=448,
        time=at,
        tags={"a": "b"},
    )
    p = r.priced()
    c = cost(
        {
            "prompt_tokens": 1566,
            "completion_tokens": 1843,
            "prompt_tokens_details": {"cached_tokens": 1408},
        },
        model="o4-mini",
        at=at,
    )
    assert (p.cost, p.price_id) == (c.total, c.price_id) == (Decimal("0.0086702"), c.price_id)
    assert p == r.replace(cost=c.total, price_id=c.price_id)
    assert p.tags == {"a": "b"} and r.cost is None and p.duplicate is False
    assert p.replace(model="o3").model == "o3"  # a complete, ordinary record


def test_priced_leaves_unknown_models_unpriced() -> None:
    """A model without a price keeps cost None instead of failing the write."""
    r = UsageRecord(model="surely-not-a-model", prompt_tokens=10)
    assert r.priced() is r
    given = UsageRecord(model="gpt-4o", cost=Decimal(1))
    assert given.priced() is given


def test_priced_copy_keeps_every_other_field() -> None:
    """The fast copy in priced() sets every field: all but cost/price_id equal the original."""
    import dataclasses

    r = UsageRecord(
        id="all",
        time=datetime(2025, 6, 1, 1, 2, 3, tzinfo=timezone.utc),
        model="gpt-4o",
        deployment=None,
        operation="responses",
        prompt_tokens=9,
        cached_tokens=4,
        completion_tokens=7,
        reasoning_tokens=2,
        status="estimated",
        latency=0.25,
        tags={"t": "v"},
        duplicate=True,
    )
    p = r.priced()
    assert p.cost is not None and p.price_id is not None
    for f in dataclasses.fields(UsageRecord):
        if f.name not in ("cost", "price_id"):
            assert getattr(p, f.name) == getattr(r, f.name), f.name


def test_replace_checks_what_it_changes() -> None:
    """replace() of cost/price_id (the stores' per-record path) still refuses bad values."""
    r = UsageRecord(id="r", model="m", prompt_tokens=2)
    assert r.replace(cost="0.5").cost == Decimal("0.5")
    assert r.replace(cost=Decimal(1), price_id="p").price_id == "p"
    assert r.replace(cost=None).cost is None
    with pytest.raises(InvalidRequestError, match=r"UsageRecord\.cost"):
        r.replace(cost=0.5)
    with pytest.raises(InvalidRequestError, match=r"UsageRecord\.price_id"):
        r.replace(price_id=7)
    with pytest.raises(InvalidRequestError, match=r"UsageRecord\.cached_tokens"):
        r.replace(cached_tokens=3)


def test_unknown_model_stays_unpriced_until_registered() -> None:
    """An unknown model's failure is remembered only until the registry changes."""
    from tokman import models

    record = UsageRecord(id="u1", model="acme-llm", prompt_tokens=1_000_000)
    assert record.priced().cost is None
    assert record.priced().cost is None  # the remembered failure, same answer
    models.register("acme-llm", encoding="o200k_base", context_window=8_000,
                    prices=[{"effective": "2020-01-01", "provider": "openai",
                             "input": "1.5", "output": "2"}])  # fmt: skip
    assert record.priced().cost == Decimal("1.5")
