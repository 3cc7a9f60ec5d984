"""Each defect the seed README lists, and the behaviour that replaces it."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import warnings
import weakref
from decimal import Decimal
from typing import Any

import pytest

import tokman
from tokman import AzureOpenAIConfig, TokenManager
from tokman.errors import InvalidRequestError, StorageError, UnknownModelError
from tokman.integrations.metrics import CollectingSink

# -- validate_request: an over-long request is refused, saying by how much and what to do ------


def test_over_long_request_is_rejected_with_by_how_much_and_what_to_do() -> None:
    """The seed answered True ("split into N chunks") for a request the API refuses."""
    manager = TokenManager("gpt-4")
    prompt = "hello " * 9000
    ok, metrics, message = asyncio.run(manager.validate_request(prompt))
    assert ok is False
    assert metrics["prompt_tokens"] == 9008
    assert metrics["over_by"] == 9008 - 8192 == 816
    assert "over the 8,192-token context window by 816" in message
    assert "To fix: trim the history" in message
    assert "chunk_text(prompt) splits the prompt into 3 chunks of at most 4,096 tokens" in message


def test_completion_that_does_not_fit_is_rejected() -> None:
    """Prompt plus requested completion over the window: False, with the completion to ask."""
    manager = TokenManager("gpt-4")
    ok, metrics, message = manager.validate_request_sync("hello " * 4000, 5000)
    assert ok is False
    assert metrics["total_tokens"] == 4008 + 5000
    assert metrics["over_by"] == 4008 + 5000 - 8192
    assert "lower max_completion_tokens to 4,184" in message


def test_completion_over_the_models_maximum_output_is_rejected() -> None:
    """gpt-4o returns at most 16,384 tokens, whatever room the window has."""
    ok, _, message = TokenManager("gpt-4o").validate_request_sync("hi", 20_000)
    assert ok is False
    assert "returns at most 16,384 completion tokens" in message


def test_configured_max_tokens_is_enforced_too() -> None:
    """A lower max_tokens in config.model_limits is a limit: over it is False, with the fix."""
    config = AzureOpenAIConfig(
        "https://r.openai.azure.com", model_limits={"gpt-4o": {"max_tokens": 1000}}
    )
    manager = TokenManager("gpt-4o", config=config)
    assert manager.get_model_limits()["max_tokens"] == 1000
    ok, metrics, message = manager.validate_request_sync("hello " * 900, 200)
    assert ok is False
    assert metrics["over_by"] == 908 + 200 - 1000
    assert "over config.model_limits['gpt-4o']['max_tokens'] (1,000) by 108" in message
    assert "lower max_completion_tokens to 92" in message
    assert manager.validate_request_sync("hello " * 900, 92)[0] is True


def test_prompt_over_chunk_size_that_fits_is_valid_and_says_how_to_split() -> None:
    """Fitting the window is valid; over chunk_size the message says how many chunks."""
    ok, metrics, message = TokenManager("gpt-4").validate_request_sync("hello " * 5000, 100)
    assert ok is True
    assert metrics["prompt_tokens"] == 5008 > metrics["chunk_size"] == 4096
    assert message == (
        "Request validated successfully; the prompt's 5,008 tokens are over chunk_size (4,096): "
        "chunk_text(prompt) splits it into 2 chunks"
    )


def test_validate_request_refuses_bad_arguments_by_name() -> None:
    """A bad argument is a programming error: an exception naming it, not (False, {}, str)."""
    manager = TokenManager("gpt-4o")
    with pytest.raises(InvalidRequestError) as info:
        asyncio.run(manager.validate_request(None))  # type: ignore[arg-type]
    assert info.value.field == "prompt"
    with pytest.raises(InvalidRequestError) as info:
        manager.validate_request_sync("hi", 0)
    assert info.value.field == "max_completion_tokens"
    with pytest.raises(InvalidRequestError) as info:
        manager.validate_request_sync("a\ud800")
    assert info.value.field == "prompt"


# -- chunk_text: lossless, never over the limit -------------------------------------------------


def test_chunks_rejoin_to_the_text_and_never_exceed_the_limit() -> None:
    """The seed split on '. ' only, appended '.' to every chunk and overflowed on long
    sentences; now the pieces are the text itself and each fits."""
    manager = TokenManager("gpt-4o")
    text = (
        "No full stop here " * 400 + "\n\nA paragraph. Another sentence! A question? "
        "Ellipsis... and an abbreviation e.g. this.  Two spaces. " * 30 + "end without a dot"
    )
    for limit in (7, 64, 333):
        chunks = manager.chunk_text(text, max_tokens=limit)
        assert "".join(chunks) == text
        assert all(0 < manager.estimate_tokens(c) <= limit for c in chunks)
    assert not manager.chunk_text("a.b")[0].endswith("..")  # nothing is added


def test_one_sentence_longer_than_the_limit_is_split() -> None:
    """A single sentence over chunk_size becomes several chunks, each within it."""
    config = AzureOpenAIConfig("https://r.openai.azure.com", model_limits={
        "gpt-4o": {"chunk_size": 50}})  # fmt: skip
    manager = TokenManager("gpt-4o", config=config)
    sentence = "word " * 400
    chunks = manager.chunk_text(sentence)
    assert len(chunks) == 9  # 401 tokens (400 words and the trailing space), 50 at most each
    assert "".join(chunks) == sentence
    assert max(manager.estimate_tokens(c) for c in chunks) == 50


def test_chunk_text_bad_limit_names_it() -> None:
    """max_tokens must be a whole number of tokens >= 1."""
    with pytest.raises(InvalidRequestError) as info:
        TokenManager("gpt-4o").chunk_text("hi", max_tokens=0)
    assert info.value.field == "max_tokens"


# -- the model name, deployments and unknown models --------------------------------------------


def test_deployment_name_resolves_through_the_deployment_map() -> None:
    """The seed's _get_model_name returned a dict; a registered deployment gives its model."""
    tokman.models.register_deployment(
        "chat-prod", model="gpt-4o-mini", deployment_type="DataZoneStandard"
    )
    manager = TokenManager(deployment_name="chat-prod")
    assert manager.model == "gpt-4o-mini"
    assert manager.deployment_name == "chat-prod"
    assert manager.encoding.name == "o200k_base"
    assert manager.get_model_limits()["max_tokens"] == 128_000
    # priced at the deployment's Azure type (Data Zone), exactly as tokman.cost does
    usage = manager.calculate_usage(1_000_000, 0)
    assert (
        usage.cost
        == tokman.cost(
            {"prompt_tokens": 1_000_000, "completion_tokens": 0}, model="chat-prod"
        ).total
    )


def test_unregistered_deployment_is_a_label_on_the_given_model() -> None:
    """An unknown deployment name keeps `model` (what the seed ended up using) as the model."""
    manager = TokenManager("gpt-4o", deployment_name="not-registered")
    assert (manager.model, manager.deployment_name) == ("gpt-4o", "not-registered")


def test_unknown_model_is_never_replaced_by_gpt4() -> None:
    """An unknown model raises UnknownModelError naming it and the closest names."""
    with pytest.raises(UnknownModelError) as info:
        TokenManager("gpt-4o-mni")
    assert info.value.name == "gpt-4o-mni"
    assert "gpt-4o-mini" in info.value.close_matches


def test_current_models_use_their_own_encoding() -> None:
    """The seed fell back to cl100k_base; gpt-4o, gpt-4.1, gpt-5 and o-series use o200k_base."""
    for model in ("gpt-4o", "gpt-4.1", "gpt-5", "o3-mini", "o1"):
        assert TokenManager(model).encoding.name == "o200k_base", model
    assert TokenManager("gpt-4").encoding.name == "cl100k_base"


# -- the count cache ----------------------------------------------------------------------------


def test_cache_keeps_no_manager_alive() -> None:
    """The seed's lru_cache on a method held every manager (self is in the key) forever."""
    manager = TokenManager("gpt-4o")
    for i in range(50):
        manager.estimate_tokens(f"text number {i}")
    ref = weakref.ref(manager)
    del manager
    gc.collect()
    alive = ref()
    assert alive is None, [type(r).__name__ for r in gc.get_referrers(alive)]


def test_module_helpers_keep_no_caller_manager_alive() -> None:
    """Using the module-level helpers beside a manager does not keep that manager either."""
    manager = TokenManager("gpt-4")
    manager.estimate_tokens("x")
    tokman.estimate_tokens("x")
    ref = weakref.ref(manager)
    del manager
    gc.collect()
    assert ref() is None


def test_cache_is_bounded_and_holds_no_text() -> None:
    """At most cache_size entries, keyed by a 16-byte digest rather than the prompt itself."""
    manager = TokenManager("gpt-4o", cache_size=3)
    big = "lorem ipsum " * 100_000
    assert manager.estimate_tokens(big) == tokman.count(big, model="gpt-4o")
    for text in ("a", "b", "c", "d"):
        manager.estimate_tokens(text)
    assert len(manager._cache) == 3
    assert all(len(key) == 16 for key in manager._cache._entries)
    assert manager.estimate_tokens(big) == tokman.count(big, model="gpt-4o")  # evicted, recounted


def test_cache_can_be_turned_off() -> None:
    """cache_size=0 remembers nothing; counts stay exact."""
    manager = TokenManager("gpt-4o", cache_size=0)
    assert manager.estimate_tokens("hello world") == 2
    assert len(manager._cache) == 0


# -- calculate_usage: partial cache hits, reasoning, the deprecated cached flag -----------------


def test_partial_cache_hits_are_priced_right() -> None:
    """Only the cached part of the prompt is billed at the cached price (the seed: all of it)."""
    manager = TokenManager("gpt-4o")
    usage = manager.calculate_usage(2000, 500, cached_tokens=1024)
    # 976 x $2.50/1M + 1024 x $1.25/1M + 500 x $10/1M
    assert usage.cost == Decimal("0.00244") + Decimal("0.00128") + Decimal("0.005")
    assert usage.cost == Decimal("0.00872")
    assert usage.estimated_cost == 0.00872
    assert (usage.prompt_tokens, usage.cached_tokens, usage.total_tokens) == (2000, 1024, 2500)
    same = tokman.cost(
        {"prompt_tokens": 2000, "completion_tokens": 500,
         "prompt_tokens_details": {"cached_tokens": 1024}},
        model="gpt-4o",
    )  # fmt: skip
    assert usage.cost == same.total


def test_reasoning_tokens_are_billed_as_output() -> None:
    """Reasoning tokens are part of the completion: they change nothing in the price."""
    manager = TokenManager("o3-mini")
    with_reasoning = manager.calculate_usage(100, 1000, reasoning_tokens=800)
    assert with_reasoning.cost == manager.calculate_usage(100, 1000).cost
    assert with_reasoning.reasoning_tokens == 800
    with pytest.raises(InvalidRequestError) as info:
        manager.calculate_usage(100, 10, reasoning_tokens=11)
    assert info.value.field == "reasoning_tokens"


def test_cached_flag_still_works_and_warns_what_it_means() -> None:
    """cached=True (keyword or the seed's third positional argument) warns and means every
    prompt token was a cache hit; completion tokens stay at the output price."""
    manager = TokenManager("gpt-4o")
    with pytest.warns(DeprecationWarning, match="cached=True now means cached_tokens=") as seen:
        flagged = manager.calculate_usage(1000, 100, cached=True)
    assert "prompt_tokens_details.cached_tokens" in str(seen[0].message)
    assert flagged.cost == manager.calculate_usage(1000, 100, cached_tokens=1000).cost
    assert flagged.cost == Decimal("0.00125") + Decimal("0.001")
    with pytest.warns(DeprecationWarning):
        positional = manager.calculate_usage(1000, 100, True)
    assert positional == flagged
    with pytest.warns(DeprecationWarning):
        assert manager.calculate_usage(1000, 100, cached=False).cached_tokens == 0


def test_cached_flag_and_cached_tokens_together_are_refused() -> None:
    """Saying it twice is ambiguous: an error naming cached."""
    with warnings.catch_warnings(), pytest.raises(InvalidRequestError) as info:
        warnings.simplefilter("ignore", DeprecationWarning)
        TokenManager("gpt-4o").calculate_usage(100, 10, 50, cached=True)
    assert info.value.field == "cached"


def test_configured_prices_override_the_registry() -> None:
    """The seed's cost_per_1k_* overrides (floats) are read as the decimals that were typed."""
    config = AzureOpenAIConfig("https://r.openai.azure.com", model_limits={"gpt-4": {
        "max_tokens": 8192, "chunk_size": 2048, "cost_per_1k_prompt": 0.01,
        "cost_per_1k_completion": 0.03, "cached_cost_per_1k_prompt": 0.005,
        "cached_cost_per_1k_completion": 0.03}})  # fmt: skip
    manager = TokenManager("gpt-4", config=config)
    usage = manager.calculate_usage(1000, 1000, cached_tokens=400)
    assert usage.cost == Decimal("0.006") + Decimal("0.002") + Decimal("0.03")
    assert manager.get_token_costs() == {"prompt_cost_per_1k": 0.01, "completion_cost_per_1k": 0.03}
    assert manager.get_token_costs(cached=True)["prompt_cost_per_1k"] == 0.005
    assert manager.get_model_limits()["chunk_size"] == 2048


def test_a_bad_override_names_its_place_in_the_config() -> None:
    """A negative price or a float limit in model_limits is an error that says where it is."""
    for entry, where in (
        ({"cost_per_1k_prompt": -1.0}, "config.model_limits['gpt-4']['cost_per_1k_prompt']"),
        ({"max_tokens": 8192.0}, "config.model_limits['gpt-4']['max_tokens']"),
    ):
        config = AzureOpenAIConfig("https://r.openai.azure.com", model_limits={"gpt-4": entry})
        with pytest.raises(InvalidRequestError) as info:
            TokenManager("gpt-4", config=config)
        assert info.value.field == where


def test_any_object_with_model_limits_is_a_config() -> None:
    """The seed's own core.config.AzureOpenAIConfig (or any such object) is accepted."""

    class SeedConfig:
        model_limits = {"gpt-4o": {"max_tokens": 128_000, "chunk_size": 4000}}  # noqa: RUF012

    assert TokenManager("gpt-4o", config=SeedConfig()).get_model_limits()["chunk_size"] == 4000
    with pytest.raises(InvalidRequestError) as info:
        TokenManager("gpt-4o", config=object())
    assert info.value.field == "config"


# -- track_request: sync, async, threads, collectors, ledger ------------------------------------


class SeedCollector:
    """The seed's core.monitoring.MetricsCollector shape, with a sync track_operation."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()

    def track_operation(
        self, operation_type: str, success: bool, duration: float, usage: dict[str, int]
    ) -> None:
        with self._lock:
            self.calls.append((operation_type, success, duration, usage))


class AsyncSeedCollector:
    """The same with ``async def track_operation``, as the seed's create_task implies."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.threads: set[str] = set()

    async def track_operation(
        self, operation_type: str, success: bool, duration: float, usage: dict[str, int]
    ) -> None:
        await asyncio.sleep(0)  # a real await: the call must be run, not just created
        self.threads.add(threading.current_thread().name)
        self.calls.append((operation_type, success, duration, usage))


def test_track_request_from_sync_code_with_an_async_collector() -> None:
    """Outside any event loop (the seed raised RuntimeError) the coroutine is run to the end."""
    collector = AsyncSeedCollector()
    manager = TokenManager("gpt-4o", metrics_collector=collector)
    manager.track_request(100, 20)
    assert collector.calls == [
        ("token_usage", True, 0, {"prompt_tokens": 100, "completion_tokens": 20})
    ]


def test_track_request_inside_a_running_loop_awaits_the_collector() -> None:
    """Inside a loop the coroutine becomes a referenced task; flush() waits for it."""
    collector = AsyncSeedCollector()

    async def main() -> None:
        manager = TokenManager("gpt-4o", metrics_collector=collector)
        manager.track_request(100, 20)
        manager.track_request(5, 1)
        await manager.flush()
        assert manager.get_usage_stats()["total_prompt_tokens"] == 105

    asyncio.run(main())
    assert [call[3] for call in collector.calls] == [
        {"prompt_tokens": 100, "completion_tokens": 20},
        {"prompt_tokens": 5, "completion_tokens": 1},
    ]


def test_track_request_from_worker_threads_while_the_loop_runs() -> None:
    """From a thread pool beside a running loop, the collector runs on that loop."""
    collector = AsyncSeedCollector()

    async def main() -> str:
        manager = TokenManager("gpt-4o", metrics_collector=collector)
        await asyncio.gather(*(asyncio.to_thread(manager.track_request, 10, 1) for _ in range(8)))
        await manager.flush()
        return threading.current_thread().name

    loop_thread = asyncio.run(main())
    assert len(collector.calls) == 8
    assert collector.threads == {loop_thread}


def test_track_request_from_20_threads_keeps_exact_totals() -> None:
    """20 threads x 250 requests: every token counted once, every call collected once."""
    seed = SeedCollector()
    sink = CollectingSink()
    managers = [
        TokenManager("gpt-4o", metrics_collector=seed),
        TokenManager("gpt-4o", metrics_collector=sink),
    ]
    start = threading.Barrier(20)

    def work(n: int) -> None:
        start.wait()
        for i in range(250):
            for manager in managers:
                manager.track_request(n + i, 1 + (i % 3))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    prompt = sum(n + i for n in range(20) for i in range(250))
    completion = sum(1 + (i % 3) for _ in range(20) for i in range(250))
    for manager in managers:
        stats = manager.get_usage_stats()
        assert (stats["total_prompt_tokens"], stats["total_completion_tokens"]) == (
            prompt, completion,
        )  # fmt: skip
        assert stats["requests"] == 5000
    assert len(seed.calls) == len(sink.events) == 5000
    assert sum(call[3]["prompt_tokens"] for call in seed.calls) == prompt
    assert sum(e.output_tokens for e in sink.events) == completion


def test_20_threads_with_an_async_collector_and_no_loop() -> None:
    """Each thread runs its own collector calls to completion: none is lost or left pending."""
    collector = AsyncSeedCollector()
    manager = TokenManager("gpt-4o", metrics_collector=collector)
    threads = [
        threading.Thread(target=lambda: [manager.track_request(3, 2) for _ in range(10)])
        for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert manager.get_usage_stats()["total_prompt_tokens"] == 600
    assert len(collector.calls) == 200


def test_a_tokman_metrics_sink_receives_call_events() -> None:
    """A MetricsSink gets one CallEvent per tracked request, with tokens and exact cost."""
    sink = CollectingSink()
    manager = TokenManager("gpt-4o", "eu-chat", metrics_collector=sink, tags={"team": "a"})
    manager.track_request(2000, 500, cached_tokens=1024)
    (event,) = sink.events
    assert (event.model, event.deployment, event.provider) == ("gpt-4o", "eu-chat",
                                                               "azure.ai.openai")  # fmt: skip
    assert (event.input_tokens, event.cached_input_tokens, event.output_tokens) == (2000, 1024, 500)
    assert event.cost_usd == Decimal("0.00872")
    assert event.tags == {"team": "a"}


def test_a_failing_collector_is_logged_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    """Metrics never break the request they describe; the first failure is logged at ERROR."""

    class Broken:
        def track_operation(self, *args: Any) -> None:
            raise RuntimeError("collector down")

    class BrokenAsync:
        async def track_operation(self, *args: Any) -> None:
            raise RuntimeError("async collector down")

    with caplog.at_level(logging.DEBUG, logger="tokman"):
        for collector in (Broken(), BrokenAsync()):
            manager = TokenManager("gpt-4o", metrics_collector=collector)
            manager.track_request(1, 1)
            manager.track_request(1, 1)
            assert manager.get_usage_stats()["requests"] == 2
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert "collector down" in caplog.text and "async collector down" in caplog.text


def test_a_bad_metrics_collector_is_refused() -> None:
    """Something with neither track_operation nor record_call cannot collect anything."""
    with pytest.raises(InvalidRequestError) as info:
        TokenManager("gpt-4o", metrics_collector=object())
    assert info.value.field == "metrics_collector"


def test_track_request_writes_the_ledger() -> None:
    """With a ledger, each tracked request is a UsageRecord, priced by the ledger itself."""
    ledger = tokman.open_ledger("memory://")
    manager = TokenManager("gpt-4o", ledger=ledger, tags={"tenant": "acme"})
    manager.track_request(2000, 500, cached_tokens=1024)
    manager.track_request(10, 5)
    records = ledger.query()
    assert [(r.model, r.prompt_tokens, r.cached_tokens, r.completion_tokens) for r in records] == [
        ("gpt-4o", 2000, 1024, 500), ("gpt-4o", 10, 5 - 5, 5),
    ]  # fmt: skip
    assert records[0].cost == manager.calculate_usage(2000, 500, 1024).cost == Decimal("0.00872")
    assert records[0].tags == {"tenant": "acme"}


def test_track_request_with_configured_prices_records_them() -> None:
    """A negotiated price from the config is what the ledger stores."""
    config = AzureOpenAIConfig("https://r.openai.azure.com", model_limits={"gpt-4o": {
        "cost_per_1k_prompt": 0.002, "cost_per_1k_completion": 0.008}})  # fmt: skip
    ledger = tokman.open_ledger("memory://")
    TokenManager("gpt-4o", config=config, ledger=ledger).track_request(1000, 1000)
    (record,) = ledger.query()
    assert record.cost == Decimal("0.01")
    assert record.price_id == "gpt-4o+config/openai@1970-01-01"


def test_an_async_ledger_is_awaited() -> None:
    """An AsyncLedger's record() is a coroutine: it is run, inside or outside a loop."""
    ledger = tokman.open_ledger("memory://")
    manager = TokenManager("gpt-4o", ledger=tokman.AsyncLedger(ledger))
    manager.track_request(7, 3)

    async def main() -> None:
        manager.track_request(8, 2)
        await manager.flush()

    asyncio.run(main())
    assert sorted(r.prompt_tokens for r in ledger.query()) == [7, 8]


def test_a_ledger_failure_is_raised() -> None:
    """Losing a usage record silently is worse than an error: StorageError reaches the caller."""

    class DownLedger:
        def record(self, record: tokman.UsageRecord) -> tokman.UsageRecord:
            raise StorageError("database is down", url="sqlite:///x.db", retryable=True)

    manager = TokenManager("gpt-4o", ledger=DownLedger())
    with pytest.raises(StorageError):
        manager.track_request(1, 1)
    assert manager.get_usage_stats()["requests"] == 1  # the usage itself is still counted


def test_track_request_refuses_bad_counts() -> None:
    """Counts are whole numbers >= 0, each error naming its argument."""
    manager = TokenManager("gpt-4o")
    for args, kwargs, field in (
        ((1.5, 1), {}, "request_tokens"),
        ((1, -1), {}, "response_tokens"),
        ((1, 1), {"cached_tokens": 2}, "cached_tokens"),
    ):
        with pytest.raises(InvalidRequestError) as info:
            manager.track_request(*args, **kwargs)
        assert info.value.field == field
    assert manager.get_usage_stats()["requests"] == 0


# -- logging: nothing printed, no key, no prompt -------------------------------------------------


def test_logs_hold_no_key_and_no_prompt(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every method at DEBUG: no log line holds the API key or the prompt; nothing printed."""
    key = "sk-SECRET-0123456789abcdef"
    secret_prompt = "the launch code is PURPLE-ELEPHANT"
    config = AzureOpenAIConfig("https://r.openai.azure.com", key, "2024-10-21")
    with caplog.at_level(logging.DEBUG, logger="tokman"):
        manager = TokenManager("gpt-4", config=config, metrics_collector=SeedCollector())
        manager.estimate_tokens(secret_prompt)
        manager.validate_request_sync(secret_prompt * 2000)
        manager.validate_request_sync(secret_prompt)
        manager.chunk_text(secret_prompt * 900)
        manager.calculate_usage(10, 2)
        manager.track_request(10, 2)
        manager.reset_cache()
        repr(manager)
    assert caplog.records  # it did log
    assert key not in caplog.text and "PURPLE" not in caplog.text
    assert key not in repr(config) and key not in repr(manager)
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""
    assert logging.getLogger("tokman").handlers == []
    assert logging.getLogger("tokman.compat").handlers == []


def test_no_coroutine_is_left_unawaited() -> None:
    """The seed's create_task from sync code left "coroutine ... was never awaited" behind."""
    collector = AsyncSeedCollector()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        manager = TokenManager("gpt-4o", metrics_collector=collector)
        manager.track_request(1, 1)

        async def main(inside: TokenManager) -> None:
            inside.track_request(2, 2)
            await inside.flush()

        asyncio.run(main(manager))
        del manager
        gc.collect()
    assert [str(w.message) for w in seen] == []
    assert len(collector.calls) == 2
