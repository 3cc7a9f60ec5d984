"""The shipped models.json: sound limits, encodings tiktoken agrees with, sourced prices."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources

import pytest
import tiktoken.model

from tokman import models
from tokman.encodings import encoding_name_for_model, list_encodings

ALL = models.list()
ALL_NAMES = sorted({name for info in ALL for name in info.names})


def test_data_file_is_json_with_string_prices() -> None:
    """Every price in the file is a string, so Decimal reads exactly what was written."""
    raw = json.loads(resources.files("tokman.models").joinpath("data/models.json").read_text())
    for entry in raw["models"]:
        for price in entry["prices"]:
            for key in ("input", "cached_input", "output", "batch_input", "batch_output"):
                if key in price:
                    assert isinstance(price[key], str), (entry["name"], key)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_name_has_an_encoding_tiktoken_agrees_with(name: str) -> None:
    """Each name, alias and snapshot maps to the encoding tiktoken and tokman's table give."""
    info = models.get(name)
    assert info.encoding in list_encodings()
    assert tiktoken.model.encoding_name_for_model(name) == info.encoding
    assert encoding_name_for_model(name) == info.encoding
    assert models.encoding_for(name) == info.encoding


@pytest.mark.parametrize("info", ALL, ids=lambda i: i.name)
def test_limits_are_consistent(info: models.ModelInfo) -> None:
    """The window holds the largest output, and the input limit is within the window."""
    assert info.context_window > 0
    assert 0 < info.max_input_tokens <= info.context_window
    if info.max_output_tokens is not None:
        assert 0 < info.max_output_tokens <= info.context_window
    else:
        assert info.kind == "embedding"


@pytest.mark.parametrize("info", ALL, ids=lambda i: i.name)
def test_every_model_has_a_sourced_current_price(info: models.ModelInfo) -> None:
    """Each model has prices, each names its source, and today's OpenAI price exists."""
    assert info.prices and info.source
    for price in info.prices:
        assert price.source, price.id
        assert price.input >= 0 and price.output >= 0
        if price.cached_input is not None:
            assert price.cached_input <= price.input, price.id
    assert info.input_price is not None


def test_derived_data_zone_prices_are_1_1_times_global() -> None:
    """Every Data Zone price marked derived is exactly 1.1 x the Global price of that date."""
    checked = 0
    for info in ALL:
        for price in info.prices:
            if price.deployment_type != "datazone" or not (price.derived or "").startswith(
                "Data Zone"
            ):
                continue
            glob = info.price_at(price.effective, deployment_type="global")
            assert price.input == glob.input * Decimal("1.1")
            assert price.output == glob.output * Decimal("1.1")
            checked += 1
    assert checked >= 4


def test_disagreements_are_decided_as_documented() -> None:
    """The decisions in SOURCES.md hold in the data."""
    gpt5 = models.get("gpt-5")
    assert (gpt5.context_window, gpt5.max_input_tokens, gpt5.max_output_tokens) == (
        400_000,
        272_000,
        128_000,
    )
    assert models.get("gpt-4").max_output_tokens == 8192  # OpenAI's page, not LiteLLM's 4096
    assert models.get("gpt-35-turbo").context_window == 16385  # AZ-M, not L1's 4097 / 16384
    assert models.get("gpt-5.1-chat").max_output_tokens == 16384  # not L1 azure's 128000
    assert models.get("text-embedding-3-small").context_window == 8191


def test_reasoning_flag_marks_o_series_and_gpt5() -> None:
    """Reasoning models (max_completion_tokens only) are flagged; chat-tuned gpt-5 is not."""
    reasoning = {info.name for info in models.list(reasoning=True)}
    assert {"o1", "o1-mini", "o3", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini"} <= reasoning
    assert "gpt-4o" not in reasoning and "gpt-5-chat-latest" not in reasoning


def test_required_families_are_covered() -> None:
    """The issue's families are all present."""
    names = set(ALL_NAMES)
    for required in (
        "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5.1", "gpt-5.2", "gpt-4.1", "gpt-4.1-mini",
        "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "gpt-4o-2024-08-06", "o1", "o1-mini", "o3",
        "o3-mini", "o4-mini", "gpt-4", "gpt-4-turbo", "gpt-4-32k", "gpt-3.5-turbo",
        "gpt-35-turbo", "text-embedding-3-small", "text-embedding-3-large",
        "text-embedding-ada-002",
    ):  # fmt: skip
        assert required in names, required
