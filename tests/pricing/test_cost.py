"""Exact costs from API usage, hand-computed per family, plus the error cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types import CompletionUsage
from openai.types.completion_usage import CompletionTokensDetails, PromptTokensDetails
from openai.types.create_embedding_response import Usage as EmbeddingUsage
from openai.types.responses import ResponseUsage
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

import tokman
from tokman import models
from tokman.errors import InvalidRequestError, UnknownModelError
from tokman.pricing import Cost, cost, estimate_cost

D = Decimal


def chat(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def parts(c: Cost) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return c.input, c.cached_input, c.output, c.total


# (id, usage, model, kwargs, expected (input, cached_input, output, total)) -- by hand:
CASES = [
    # gpt-4o: 5,904 uncached x $2.50 + 4,096 cached x $1.25 + 1,000 x $10 (per 1M)
    ("gpt-4o cached", chat(10_000, 1_000, cached=4_096), "gpt-4o", {"at": "2025-06-01"},
     ("0.01476", "0.00512", "0.01", "0.02988")),
    # gpt-4o alias before 2024-10-02 pointed at 2024-05-13: $5 / $15
    ("gpt-4o dated", chat(10_000, 1_000), "gpt-4o", {"at": "2024-09-01"},
     ("0.05", "0", "0.015", "0.065")),
    # o3 after the 2025-06-10 cut: 2,000 x $2 + 5,000 (4,500 reasoning) x $8
    ("o3 reasoning", chat(2_000, 5_000, reasoning=4_500), "o3", {"at": "2025-07-01"},
     ("0.004", "0", "0.04", "0.044")),
    # o3 at launch: $10 / $40
    ("o3 launch", chat(2_000, 5_000, reasoning=4_500), "o3", {"at": "2025-05-01"},
     ("0.02", "0", "0.2", "0.22")),
    # o1-mini: $3 / $12 at launch, $1.10 / $4.40 from 2025-01-31
    ("o1-mini old", chat(1_000, 1_000), "o1-mini-2024-09-12", {"at": "2024-12-01"},
     ("0.003", "0", "0.012", "0.015")),
    ("o1-mini new", chat(1_000, 1_000), "o1-mini", {"at": "2025-03-01"},
     ("0.0011", "0", "0.0044", "0.0055")),
    # gpt-4.1 OpenAI Batch: $1 / $4
    ("gpt-4.1 batch", chat(1_000_000, 100_000), "gpt-4.1", {"batch": True, "at": "2025-06-01"},
     ("1", "0", "0.4", "1.4")),
    # gpt-4.1 Azure Data Zone: 800,000 x $2.20 + 200,000 x $0.55 + 50,000 x $8.80
    ("gpt-4.1 datazone", chat(1_000_000, 50_000, cached=200_000), "gpt-4.1",
     {"deployment_type": "DataZoneStandard", "at": "2025-06-01"},
     ("1.76", "0.11", "0.44", "2.31")),
    # gpt-5 Azure Global Batch, derived 50 %: 100,000 x $0.625 + 10,000 x $5
    ("gpt-5 global batch", chat(100_000, 10_000), "gpt-5",
     {"deployment_type": "GlobalBatch", "at": "2025-09-01"},
     ("0.0625", "0", "0.05", "0.1125")),
    # gpt-5.2 Data Zone derived 1.1 x Global: $1.925 / $15.40
    ("gpt-5.2 datazone", chat(1_000_000, 100_000), "gpt-5.2",
     {"deployment_type": "datazone", "at": "2026-01-01"},
     ("1.925", "0", "1.54", "3.465")),
    # gpt-5-mini via an azure/eu route: Data Zone $0.275 / $0.0275 / $2.20
    ("gpt-5-mini azure/eu", chat(10_000, 1_000, cached=2_000), "azure/eu/gpt-5-mini",
     {"at": "2025-09-01"}, ("0.0022", "0.000055", "0.0022", "0.004455")),
    # gpt-4: $30 / $60
    ("gpt-4", chat(1_000, 500), "gpt-4", {"at": "2024-01-01"}, ("0.03", "0", "0.03", "0.06")),
    # gpt-35-turbo on Azure (a price published without a deployment type): $0.50 / $1.50
    ("gpt-35-turbo azure", chat(2_000, 1_000), "gpt-35-turbo",
     {"deployment_type": "Standard", "at": "2025-01-01"}, ("0.001", "0", "0.0015", "0.0025")),
    # text-embedding-3-small: $0.02, batch $0.01
    ("embedding", {"prompt_tokens": 1_000_000, "total_tokens": 1_000_000},
     "text-embedding-3-small", {"at": "2025-01-01"}, ("0.02", "0", "0", "0.02")),
    ("embedding batch", {"prompt_tokens": 1_000_000, "total_tokens": 1_000_000},
     "text-embedding-3-small", {"at": "2025-01-01", "batch": True}, ("0.01", "0", "0", "0.01")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("usage", "model", "kwargs", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_hand_computed_costs(
    usage: dict[str, Any], model: str, kwargs: dict[str, Any], expected: tuple[str, ...]
) -> None:
    """Each family's cost matches the arithmetic done by hand from models.json."""
    result = cost(usage, model=model, **kwargs)
    assert parts(result) == tuple(D(x) for x in expected)
    assert result.total == result.input + result.cached_input + result.output


def test_cost_records_what_it_used() -> None:
    """The Cost names the model, the price id and date, and the token split."""
    c = cost(chat(10_000, 1_000, cached=4_096, reasoning=0), model="gpt-4o", at="2025-06-01")
    assert c.model == "gpt-4o"
    assert c.price_id == "gpt-4o/openai@2024-10-02"
    assert c.effective == dt.date(2024, 10, 2)
    assert (c.prompt_tokens, c.cached_tokens, c.completion_tokens) == (10_000, 4_096, 1_000)
    d = cost(chat(100, 10), model="gpt-5", deployment_type="GlobalBatch", at="2025-09-01")
    assert d.batch and d.price_id == "gpt-5/azure-global-batch@2025-08-07"
    assert any("50 %" in note for note in d.notes)


def test_cached_tokens_without_a_cached_price_are_billed_at_input_and_noted() -> None:
    """Azure Global gpt-4o-mini publishes no cached price: input price, and a note says so."""
    c = cost(chat(2_000, 0, cached=1_000), model="gpt-4o-mini", deployment_type="global",
             at="2025-01-01")  # fmt: skip
    assert (c.input, c.cached_input) == (D("0.00015"), D("0.00015"))
    assert any("no cached-input price" in note for note in c.notes)


def test_real_openai_usage_objects() -> None:
    """Chat CompletionUsage, Responses ResponseUsage and embeddings Usage all work."""
    chat_usage = CompletionUsage(
        prompt_tokens=1566,
        completion_tokens=1843,
        total_tokens=3409,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=1408),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=448),
    )
    c = cost(chat_usage, model="o4-mini", at="2025-06-01")
    # 158 x $1.10 + 1,408 x $0.275 + 1,843 x $4.40 per 1M
    assert parts(c) == (D("0.0001738"), D("0.0003872"), D("0.0081092"), D("0.0086702"))
    assert c.reasoning_tokens == 448
    responses_usage = ResponseUsage(
        input_tokens=50_000,
        input_tokens_details=InputTokensDetails(cached_tokens=40_000, cache_write_tokens=0),
        output_tokens=2_000,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=1_500),
        total_tokens=52_000,
    )
    r = cost(responses_usage, model="gpt-5", at="2025-09-01")
    # 10,000 x $1.25 + 40,000 x $0.125 + 2,000 x $10
    assert parts(r) == (D("0.0125"), D("0.005"), D("0.02"), D("0.0375"))
    e = cost(EmbeddingUsage(prompt_tokens=8_000, total_tokens=8_000),
             model="text-embedding-3-large", at="2025-01-01")  # fmt: skip
    assert e.total == D("0.00104")


@dataclass
class _Details:
    cached_tokens: int | None = None


@dataclass
class _StandIn:
    prompt_tokens: int
    completion_tokens: int
    prompt_tokens_details: _Details | None = None


@dataclass
class _Response:
    model: str
    usage: _StandIn


def test_duck_typed_usage_and_whole_responses() -> None:
    """Any object with the SDK's attribute shape works, as does the response that holds it."""
    usage = _StandIn(1_000, 100, _Details(None))
    assert cost(usage, model="gpt-4.1-nano", at="2025-06-01").total == D("0.00014")
    response = _Response("gpt-4.1-nano-2025-04-14", usage)
    assert cost(response, model=response.model, at="2025-06-01").total == D("0.00014")


@pytest.mark.parametrize(
    ("usage", "field", "fix"),
    [
        ({"prompt_tokens": -1, "completion_tokens": 0}, "usage.prompt_tokens", "negative"),
        ({"prompt_tokens": 10.0, "completion_tokens": 0}, "usage.prompt_tokens", "int"),
        ({"prompt_tokens": True, "completion_tokens": 0}, "usage.prompt_tokens", "int"),
        (chat(10, 5, cached=11), "usage.prompt_tokens_details.cached_tokens", "part of the 10"),
        (chat(10, 5, reasoning=6), "usage.completion_tokens_details.reasoning_tokens", "part of"),
        ({"completion_tokens": 5}, "usage", "prompt_tokens"),
        (
            {"prompt_tokens": 10, "completion_tokens": 5,
             "prompt_tokens_details": {"audio_tokens": 3}},
            "usage.prompt_tokens_details.audio_tokens",
            "audio",
        ),
    ],
)  # fmt: skip
def test_bad_usage_is_an_invalid_request_naming_field_and_fix(
    usage: dict[str, Any], field: str, fix: str
) -> None:
    """Bad counts are InvalidRequestError naming the field, the value and the fix."""
    with pytest.raises(InvalidRequestError) as caught:
        cost(usage, model="gpt-4o")
    assert caught.value.field == field
    assert fix in str(caught.value)


def test_missing_prices_are_errors_not_guesses() -> None:
    """No batch price, no price yet, a fine-tune, a provisioned deployment: all refuse."""
    usage = chat(100, 10)
    with pytest.raises(InvalidRequestError, match="no Batch price is recorded for gpt-5"):
        cost(usage, model="gpt-5", batch=True)
    with pytest.raises(InvalidRequestError, match="first recorded price starts 2025-08-07"):
        cost(usage, model="gpt-5", at="2025-01-01")
    with pytest.raises(InvalidRequestError, match="fine-tune of gpt-4o-mini"):
        cost(usage, model="ft:gpt-4o-mini-2024-07-18:acme::x1")
    with pytest.raises(InvalidRequestError, match="per PTU-hour"):
        cost(usage, model="gpt-4o", deployment_type="ProvisionedManaged")
    with pytest.raises(InvalidRequestError, match="no Batch price"):
        cost(usage, model="gpt-4", deployment_type="regional", batch=True)
    with pytest.raises(UnknownModelError, match="gpt-4o-mnii"):
        cost(usage, model="gpt-4o-mnii")
    with pytest.raises(InvalidRequestError, match="ISO date"):
        cost(usage, model="gpt-4o", at="yesterday")


def test_deployment_cost_uses_its_type() -> None:
    """A deployment name prices at its deployment type; an explicit argument overrides it."""
    models.register_deployment(
        "eu-chat", model="gpt-4o-2024-08-06", deployment_type="DataZoneStandard"
    )
    c = cost(chat(1_000_000, 0), model="eu-chat", at="2025-01-01")
    assert c.total == D("2.75") and c.model == "gpt-4o-2024-08-06"
    g = cost(chat(1_000_000, 0), model="eu-chat", deployment_type="global", at="2025-01-01")
    assert g.total == D("2.5")


def test_top_level_names() -> None:
    """tokman.cost / tokman.estimate_cost are the pricing functions."""
    assert tokman.cost is cost and tokman.estimate_cost is estimate_cost


MODELS_WITH_PRICES = [m.name for m in models.list()]


@given(
    model=st.sampled_from(MODELS_WITH_PRICES),
    prompt=st.integers(0, 2_000_000),
    cached_share=st.integers(0, 100),
    completion=st.integers(0, 200_000),
    reasoning_share=st.integers(0, 100),
)
def test_total_is_the_sum_of_non_negative_parts(
    model: str, prompt: int, cached_share: int, completion: int, reasoning_share: int
) -> None:
    """For any valid usage, every part is >= 0 and total == input + cached_input + output."""
    cached = prompt * cached_share // 100
    reasoning = completion * reasoning_share // 100
    info = models.get(model)
    c = cost(chat(prompt, completion, cached, reasoning), model=info, at="2026-06-01")
    assert min(c.input, c.cached_input, c.output) >= 0
    assert c.total == c.input + c.cached_input + c.output
    price = info.price_at("2026-06-01")
    rate = price.cached_input if price.cached_input is not None else price.input
    expected = ((prompt - cached) * price.input + cached * rate + completion * price.output) / (
        D(10) ** 6
    )
    assert c.total == expected


def _acme(price: str) -> None:
    models.register(
        "acme-chat",
        encoding="o200k_base",
        context_window=32_000,
        max_output_tokens=4_000,
        prices=[{"effective": "2025-01-01", "provider": "openai", "input": price, "output": "1"}],
    )


def test_resolved_prices_follow_registry_changes() -> None:
    """The rate cache is invalidated by every registry change: re-registration, deployments."""
    _acme("1.00")
    assert cost(chat(1_000_000, 0), model="acme-chat", at="2025-06-01").total == D("1")
    _acme("3.00")  # a corrected price must be used at once, not a cached one
    assert cost(chat(1_000_000, 0), model="acme-chat", at="2025-06-01").total == D("3")
    assert cost(chat(1_000_000, 0), model="gpt-4o", at="2025-01-01").total == D("2.5")
    models.register_deployment("gpt-4o", model="gpt-4o", deployment_type="DataZoneStandard")
    assert cost(chat(1_000_000, 0), model="gpt-4o", at="2025-01-01").total == D("2.75")
    models.reset()
    assert cost(chat(1_000_000, 0), model="gpt-4o", at="2025-01-01").total == D("2.5")
    with pytest.raises(InvalidRequestError, match="batch"):
        cost(chat(1, 0), model="gpt-4o", batch=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="deployment_type"):
        cost(chat(1, 0), model="gpt-4o", deployment_type=["global"])  # type: ignore[arg-type]


def test_cost_sets_every_field() -> None:
    """The fast Cost construction fills exactly the dataclass's fields, equal to the normal one."""
    import dataclasses

    c = cost(chat(10_000, 1_000, cached=4_096), model="gpt-4o", at="2025-06-01")
    names = [f.name for f in dataclasses.fields(Cost)]
    assert list(vars(c)) == names
    assert c == Cost(**{n: getattr(c, n) for n in names})


def test_cached_rates_respect_price_dates() -> None:
    """One cached price spans only its own dates: o3 before and after its 2025-06-10 cut."""
    usage = chat(2_000, 5_000)
    assert cost(usage, model="o3", at="2025-07-01").total == D("0.044")
    assert cost(usage, model="o3", at="2025-05-01").total == D("0.22")
    assert cost(usage, model="o3", at="2025-06-10").total == D("0.044")
    assert cost(usage, model="o3", at="2025-06-09").total == D("0.22")
    with pytest.raises(InvalidRequestError, match="first recorded price"):
        cost(usage, model="o3", at="2020-01-01")
