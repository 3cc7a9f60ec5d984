"""The seed's TokenManager API, called the way the seed's code and its callers call it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from decimal import Decimal

import pytest

import tokman
from tokman import AzureOpenAIConfig, LoggerSetup, TokenManager, TokenUsage, chunk_text
from tokman import estimate_tokens as module_estimate_tokens
from tokman.errors import InvalidRequestError, UnknownModelError

SEED_KEYS = {"prompt_tokens", "max_completion_tokens", "total_tokens", "model_limit", "chunk_size"}


def test_one_import_gives_every_seed_name() -> None:
    """`from tokman import ...` offers every name `core.token_management` exported."""
    import tokman.compat

    assert TokenManager is tokman.compat.TokenManager
    assert AzureOpenAIConfig is tokman.integrations.openai.AzureOpenAIConfig
    assert tokman.compat.__all__ == [
        "AzureOpenAIConfig", "LoggerSetup", "TokenManager", "TokenUsage", "chunk_text",
        "estimate_tokens",
    ]  # fmt: skip


def test_seed_constructor_positional_and_keyword() -> None:
    """TokenManager(model, deployment_name, config, metrics_collector) as the seed took it."""
    config = AzureOpenAIConfig("https://r.openai.azure.com", "0123456789abcdef", "2024-10-21")
    manager = TokenManager("gpt-4o", None, config, None)
    assert (manager.model, manager.deployment_name, manager.config) == ("gpt-4o", None, config)
    assert manager.metrics_collector is None
    assert TokenManager().model == "gpt-4"  # the seed's default model
    assert TokenManager(model="gpt-4o-mini", config=None).model == "gpt-4o-mini"


def test_seed_attributes_exist() -> None:
    """encoding, model_config and the two running totals the seed kept are still there."""
    manager = TokenManager("gpt-4o")
    assert manager.encoding.name == "o200k_base"
    assert manager.encoding.encode("hello world") == [24912, 2375]
    assert dict(manager.model_config) == {
        "max_tokens": 128_000,
        "chunk_size": 111_616,
        "cost_per_1k_prompt": 0.0025,
        "cost_per_1k_completion": 0.01,
        "cached_cost_per_1k_prompt": 0.00125,
    }
    assert (manager.total_prompt_tokens, manager.total_completion_tokens) == (0, 0)


def test_estimate_tokens_is_exact() -> None:
    """The seed's estimate is now the exact count, for every kind of text."""
    manager = TokenManager("gpt-4")
    for text in ("hello world", "naïve café 🤖", "def f(x):\n    return x\n", ""):
        assert manager.estimate_tokens(text) == tokman.count(text, model="gpt-4")
    assert manager.estimate_tokens("hello world") == 2


def test_special_token_text_is_counted_as_plain_text() -> None:
    """`<|endoftext|>` in a prompt is text the API accepts: counted, never 0, never an error."""
    assert TokenManager("gpt-4").estimate_tokens("<|endoftext|>") == 7
    assert TokenManager("gpt-4o").estimate_tokens("<|endoftext|>") == 7
    assert TokenManager("gpt-4o").estimate_tokens("a <|im_start|> b") == tokman.count(
        "a <|im_start|> b", model="gpt-4o"
    )


def test_estimate_tokens_refuses_what_it_cannot_count() -> None:
    """The seed returned 0 on any error; now a typed error names the argument."""
    manager = TokenManager("gpt-4o")
    with pytest.raises(InvalidRequestError, match="text=") as info:
        manager.estimate_tokens(b"bytes")  # type: ignore[arg-type]
    assert info.value.field == "text"
    with pytest.raises(InvalidRequestError, match="lone surrogate"):
        manager.estimate_tokens("a\udfffb")


def test_validate_request_as_the_seed_awaited_it() -> None:
    """`await validate_request(prompt, max_completion_tokens)` returns (bool, dict, str)."""
    manager = TokenManager("gpt-4o")
    ok, metrics, message = asyncio.run(manager.validate_request("Summarise this.", 500))
    assert ok is True
    assert message == "Request validated successfully"
    assert metrics.keys() >= SEED_KEYS
    prompt = tokman.count_prompt(
        model="gpt-4o", messages=[{"role": "user", "content": "Summarise this."}]
    )
    assert prompt == 12  # what usage.prompt_tokens will say: 5 text + 7 chat framing
    assert metrics == {
        "prompt_tokens": prompt,
        "max_completion_tokens": 500,
        "total_tokens": prompt + 500,
        "model_limit": 128_000,
        "chunk_size": 111_616,
        "text_tokens": 5,
        "framing_tokens": 7,
        "context_window": 128_000,
        "max_output_tokens": 16_384,
        "over_by": 0,
    }


def test_validate_request_without_a_completion_limit() -> None:
    """With no max_completion_tokens the dict shows what the model can still produce."""
    manager = TokenManager("gpt-4")
    ok, metrics, _ = asyncio.run(manager.validate_request("hello"))
    assert ok is True
    assert metrics["prompt_tokens"] == 8
    assert metrics["max_completion_tokens"] == 8192 - 8
    assert metrics["total_tokens"] == 8192


def test_validate_request_sync_gives_the_same_answer() -> None:
    """The sync twin answers exactly what the coroutine does."""
    manager = TokenManager("gpt-4o")
    for args in (("hi", None), ("hi " * 200_000, 1000), ("hi", 20_000)):
        assert manager.validate_request_sync(*args) == asyncio.run(manager.validate_request(*args))


def test_chunk_text_as_validate_request_used_it() -> None:
    """chunk_text(text) with the model's chunk_size, and the seed's helper with a model name."""
    manager = TokenManager("gpt-4")
    text = "First sentence. Second sentence. " * 1500
    chunks = manager.chunk_text(text)
    assert len(chunks) == 3
    assert "".join(chunks) == text
    assert all(manager.estimate_tokens(c) <= 4096 for c in chunks)
    assert chunk_text(text) == chunks  # the module-level helper, default model gpt-4


def test_calculate_usage_as_the_seed_called_it() -> None:
    """calculate_usage(prompt, completion) -> TokenUsage with the seed's four fields first."""
    usage = TokenManager("gpt-4").calculate_usage(1000, 500)
    assert dataclasses.astuple(usage)[:4] == (1000, 500, 1500, 0.06)
    assert usage.cost == Decimal("0.06")  # 1000 x $30/1M + 500 x $60/1M
    assert isinstance(usage.estimated_cost, float)
    json.dumps(dataclasses.asdict(usage), default=str)  # callers serialise it
    assert usage.estimated_cost + 0.5 == 0.56  # and add it to float totals


def test_token_usage_built_by_hand_like_the_seed() -> None:
    """TokenUsage(prompt, completion, total, cost) still builds; new fields have defaults."""
    usage = TokenUsage(10, 5, 15, 0.001)
    assert (usage.cached_tokens, usage.reasoning_tokens, usage.cost) == (0, 0, None)
    with pytest.raises(InvalidRequestError, match=r"prompt_tokens \+ completion_tokens = 15"):
        TokenUsage(10, 5, 16, 0.001)
    with pytest.raises(InvalidRequestError, match=r"TokenUsage\.estimated_cost"):
        TokenUsage(10, 5, 15, float("nan"))


def test_track_request_and_usage_stats() -> None:
    """track_request(request_tokens, response_tokens) adds up; get_usage_stats reports it."""
    manager = TokenManager("gpt-4o")
    manager.track_request(100, 20)
    manager.track_request(50, 5)
    stats = manager.get_usage_stats()
    assert stats["total_prompt_tokens"] == 150
    assert stats["total_completion_tokens"] == 25
    assert stats == {
        "total_prompt_tokens": 150,
        "total_completion_tokens": 25,
        "total_tokens": 175,
        "total_cached_tokens": 0,
        "total_reasoning_tokens": 0,
        "requests": 2,
    }
    assert (manager.total_prompt_tokens, manager.total_completion_tokens) == (150, 25)


def test_get_model_limits_has_the_registry_values() -> None:
    """The four keys the seed returned, with the real limits of each model."""
    assert TokenManager("gpt-4").get_model_limits() == {
        "max_tokens": 8192, "chunk_size": 4096, "max_prompt_tokens": 8192,
        "max_completion_tokens": 8192,
    }  # fmt: skip
    assert TokenManager("gpt-4o").get_model_limits() == {
        "max_tokens": 128_000, "chunk_size": 111_616, "max_prompt_tokens": 128_000,
        "max_completion_tokens": 16_384,
    }  # fmt: skip
    assert TokenManager("gpt-5").get_model_limits() == {
        "max_tokens": 400_000, "chunk_size": 272_000, "max_prompt_tokens": 272_000,
        "max_completion_tokens": 128_000,
    }  # fmt: skip


def test_get_token_costs_plain_and_cached() -> None:
    """get_token_costs(cached) gives USD per 1k; completion tokens are never cached."""
    manager = TokenManager("gpt-4o")
    assert manager.get_token_costs() == {
        "prompt_cost_per_1k": 0.0025,
        "completion_cost_per_1k": 0.01,
    }
    assert manager.get_token_costs(True) == {
        "prompt_cost_per_1k": 0.00125,
        "completion_cost_per_1k": 0.01,
    }
    # gpt-4 publishes no cached price: a cache hit costs the input price
    assert TokenManager("gpt-4").get_token_costs(cached=True)["prompt_cost_per_1k"] == 0.03


def test_reset_cache() -> None:
    """reset_cache() forgets the remembered counts; counting still works after it."""
    manager = TokenManager("gpt-4o")
    manager.estimate_tokens("hello world")
    assert len(manager._cache) == 1
    manager.reset_cache()
    assert len(manager._cache) == 0
    assert manager.estimate_tokens("hello world") == 2


def test_module_level_helpers() -> None:
    """estimate_tokens(text, model) and chunk_text(text, model) with the seed's defaults."""
    assert module_estimate_tokens("hello world") == 2  # gpt-4
    assert module_estimate_tokens("hello world", model="gpt-4o") == 2
    assert module_estimate_tokens("<|endoftext|>", "gpt-4o") == 7
    assert chunk_text("One. Two.", model="gpt-4o") == ["One. Two."]


def test_module_level_helpers_reuse_one_manager_per_model() -> None:
    """The seed built a TokenManager per call; one is now shared per model name."""
    from tokman.compat import _manager

    first = _manager._shared("gpt-4o")
    assert _manager._shared("gpt-4o") is first
    assert _manager._shared("gpt-4") is not first
    module_estimate_tokens("cached text", model="gpt-4o")
    assert len(first._cache) == 1


def test_module_level_helpers_follow_registry_changes() -> None:
    """A registration drops the shared managers, so a changed model is never stale."""
    from tokman.compat import _manager

    first = _manager._shared("gpt-4o")
    tokman.models.register("my-model", encoding="o200k_base", context_window=1000)
    assert _manager._shared("gpt-4o") is not first
    assert module_estimate_tokens("hello world", model="my-model") == 2


def test_logger_setup_get_logger() -> None:
    """The seed's LoggerSetup.get_logger(__name__) gives a standard logger under tokman."""
    logger = LoggerSetup.get_logger("core.token_management")
    assert logger.name == "tokman.core.token_management"
    assert logger.handlers == []
    assert LoggerSetup.get_logger("tokman.compat").name == "tokman.compat"
    with pytest.raises(InvalidRequestError, match="name="):
        LoggerSetup.get_logger("")


def test_unknown_model_is_an_error() -> None:
    """The seed silently used gpt-4's limits and prices for a model it did not know."""
    with pytest.raises(UnknownModelError, match="Unknown model 'gpt-9-ultra'"):
        TokenManager("gpt-9-ultra")
    with pytest.raises(UnknownModelError):
        module_estimate_tokens("hi", model="gpt-9-ultra")
