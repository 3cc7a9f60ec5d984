"""tokman.instrument: the real openai SDK, instrumented, against tokman's fake server.

Every test drives the SDK's own code (retries, SSE parsing, Azure URL building); only the
network is replaced, by `tokman.testing.FakeOpenAI`'s transport.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openai
import pytest

import tokman
from tokman import models
from tokman.budgets import Budget, BudgetGuard
from tokman.errors import (
    BudgetExceededError,
    ContextWindowExceededError,
    InvalidRequestError,
    RateLimitExceededError,
    UnknownModelError,
)
from tokman.integrations.metrics import CollectingSink
from tokman.ledger import Ledger, open_ledger
from tokman.ratelimit import AsyncRateLimiter, Quota, RateLimiter
from tokman.testing import FakeClock, FakeOpenAI

# openai 3.x runs on httpx2, 1.x/2.x on httpx: the suite runs on whichever the SDK uses (CI runs
# it on the newest release and on the newest 1.x)
SDK_MAJOR = int(openai.__version__.split(".")[0])
HTTP: Any = importlib.import_module("httpx2" if SDK_MAJOR >= 3 else "httpx")
# openai >= 2.31 lets tokman's refusal through as is (an exception of both families); older
# SDKs get it as an HTTP answer and raise their own class, with tokman's code
RAISES_THROUGH = tuple(int(p) for p in openai.__version__.split(".")[:2]) >= (2, 31)
KEY = "sk-test-0123456789abcdefSECRET"
MESSAGES = [{"role": "user", "content": "Tell me a story about a lighthouse."}]
REPLY = "Once upon a time, a lighthouse keeper counted every wave."


@pytest.fixture
def fake() -> FakeOpenAI:
    """A fake OpenAI/Azure service (exact usage) with one Azure deployment."""
    models.register_deployment("chat-prod", model="gpt-4o-mini")
    models.register_deployment("emb-prod", model="text-embedding-3-small")
    return FakeOpenAI(reply=REPLY, deployments={"chat-prod": "gpt-4o-mini",
                                                "emb-prod": "text-embedding-3-small"})


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    """An in-memory ledger."""
    with open_ledger("memory://") as opened:
        yield opened


def _refused(tokman_error: type[Exception], sdk_error: type[Exception]) -> Any:
    """``pytest.raises`` for a refusal: tokman's error, which is also the SDK's ``sdk_error``
    (openai >= 2.31), or the SDK's own ``sdk_error`` (older SDKs)."""
    return pytest.raises(tokman_error if RAISES_THROUGH else sdk_error)


def _client(fake: FakeOpenAI, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=KEY, http_client=HTTP.Client(transport=fake.transport(module=HTTP)), **kwargs
    )


def _azure(fake: FakeOpenAI, **kwargs: Any) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        api_key=KEY,
        api_version="2024-10-21",
        azure_endpoint="https://example.openai.azure.com",
        http_client=HTTP.Client(transport=fake.transport(module=HTTP)),
        **kwargs,
    )


def _served(fake: FakeOpenAI, i: int = -1) -> dict[str, Any]:
    usage: dict[str, Any] = fake.served[i]
    return usage


def _prompt(usage: dict[str, Any]) -> int:
    return int(usage.get("prompt_tokens", usage.get("input_tokens", 0)))


def _completion(usage: dict[str, Any]) -> int:
    return int(usage.get("completion_tokens", usage.get("output_tokens", 0)))


# -- what is recorded -------------------------------------------------------------------------


def test_chat_call_is_recorded_with_the_served_usage(fake: FakeOpenAI, ledger: Ledger) -> None:
    """One call, one ledger row: the served usage, priced, under the response id."""
    client = tokman.instrument(_client(fake), ledger=ledger, tags={"team": "search"})
    assert type(client) is openai.OpenAI
    response = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=50)
    assert response.choices[0].message.content == REPLY
    [row] = ledger.query()
    served = _served(fake)
    assert row.id == response.id
    assert (row.prompt_tokens, row.completion_tokens) == (_prompt(served), _completion(served))
    assert row.prompt_tokens == tokman.count_prompt(model="gpt-4o", messages=MESSAGES)
    assert row.model == response.model and row.status == "ok" and row.tags == {"team": "search"}
    assert row.cost == tokman.cost(response.usage, model=response.model).total
    assert row.cost is not None and row.cost > 0


def test_the_original_client_is_left_alone(fake: FakeOpenAI, ledger: Ledger) -> None:
    """instrument() returns a copy; the client it was given records nothing."""
    raw = _client(fake)
    tokman.instrument(raw, ledger=ledger)
    raw.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert ledger.query() == []


def test_chat_stream_gets_usage_without_the_caller_seeing_it(
    fake: FakeOpenAI, ledger: Ledger
) -> None:
    """A stream without include_usage: tokman asks for it, records it, hides the extra chunk."""
    client = tokman.instrument(_client(fake), ledger=ledger)
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert fake.requests[-1].body["stream_options"] == {"include_usage": True}
    assert all(chunk.usage is None for chunk in chunks)
    assert all(chunk.choices for chunk in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == REPLY
    [row] = ledger.query()
    served = _served(fake)
    assert (row.prompt_tokens, row.completion_tokens, row.status) == (
        _prompt(served), _completion(served), "ok",
    )  # fmt: skip


def test_chat_stream_that_asked_for_usage_sees_it(fake: FakeOpenAI, ledger: Ledger) -> None:
    """include_usage asked by the caller: the usage chunk reaches the caller."""
    client = tokman.instrument(_client(fake), ledger=ledger)
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True},
        )
    )  # fmt: skip
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    [row] = ledger.query()
    assert row.completion_tokens == chunks[-1].usage.completion_tokens


def test_stream_closed_early_records_an_estimate(fake: FakeOpenAI, ledger: Ledger) -> None:
    """Closed after two chunks: prompt exact, completion counted from what was received."""
    client = tokman.instrument(_client(fake), ledger=ledger)
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    received = ""
    for i, chunk in enumerate(stream):
        received += chunk.choices[0].delta.content or ""
        if i == 2:
            break
    stream.close()
    [row] = ledger.query()
    assert row.status == "estimated"
    assert row.prompt_tokens == tokman.count_prompt(model="gpt-4o", messages=MESSAGES)
    assert row.completion_tokens == tokman.count(received, model="gpt-4o")
    assert 0 < row.completion_tokens < tokman.count(REPLY, model="gpt-4o")


def test_cut_stream_raises_in_the_sdk_and_records_an_estimate(
    fake: FakeOpenAI, ledger: Ledger
) -> None:
    """The connection drops mid-stream: the SDK raises, the ledger has an estimated row."""
    client = tokman.instrument(_client(fake), ledger=ledger)
    fake.cut_stream_next(after=2)
    received = ""
    with pytest.raises(Exception):  # noqa: B017 - the SDK's/httpx2's own error
        for chunk in client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True
        ):
            received += chunk.choices[0].delta.content or "" if chunk.choices else ""
    [row] = ledger.query()
    assert row.status == "estimated"
    assert row.completion_tokens == tokman.count(received, model="gpt-4o")


def test_responses_plain_and_streaming(fake: FakeOpenAI, ledger: Ledger) -> None:
    """Responses: usage from the response, and from response.completed when streaming."""
    client = tokman.instrument(_client(fake), ledger=ledger)
    plain = client.responses.create(model="gpt-4.1", input="Hello", instructions="Be brief.")
    events = list(client.responses.create(model="gpt-4.1", input="Hello", stream=True))
    assert events[-1].type == "response.completed"
    rows = {row.id: row for row in ledger.query()}
    assert set(rows) == {plain.id, events[-1].response.id}
    assert plain.usage is not None
    assert rows[plain.id].prompt_tokens == plain.usage.input_tokens == tokman.count_prompt(
        model="gpt-4.1", input="Hello", instructions="Be brief."
    )
    streamed = events[-1].response.usage
    assert streamed is not None
    assert rows[events[-1].response.id].completion_tokens == streamed.output_tokens
    assert {row.operation for row in rows.values()} == {"responses"}


def test_embeddings(fake: FakeOpenAI, ledger: Ledger) -> None:
    """Embeddings: the inputs' tokens, no completion."""
    client = tokman.instrument(_client(fake), ledger=ledger)
    result = client.embeddings.create(model="text-embedding-3-small", input=["hello", "world"])
    [row] = ledger.query()
    assert row.prompt_tokens == result.usage.prompt_tokens == 2
    assert (row.completion_tokens, row.operation) == (0, "embeddings")


def test_raw_streaming_and_with_options_calls_are_covered(
    fake: FakeOpenAI, ledger: Ledger
) -> None:
    """with_raw_response, with_streaming_response and with_options keep the instrumentation."""
    client = tokman.instrument(_client(fake), ledger=ledger)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    assert raw.headers.get("x-request-id")
    raw.parse()
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=MESSAGES
    ) as response:
        response.read()
    client.with_options(timeout=30, max_retries=0).chat.completions.create(
        model="gpt-4o", messages=MESSAGES
    )
    assert len(ledger.query()) == 3


# -- Azure ------------------------------------------------------------------------------------


def test_azure_deployment_resolves_to_its_model(fake: FakeOpenAI, ledger: Ledger) -> None:
    """AzureOpenAI: the deployment from the URL maps to its model; recorded with it."""
    sink = CollectingSink()
    client = tokman.instrument(_azure(fake), ledger=ledger, metrics=sink)
    assert type(client) is openai.AzureOpenAI
    client.chat.completions.create(model="chat-prod", messages=MESSAGES, max_tokens=20)
    list(client.chat.completions.create(model="chat-prod", messages=MESSAGES, stream=True))
    client.embeddings.create(model="emb-prod", input="hello")
    client.responses.create(model="chat-prod", input="Hello")
    rows = ledger.query()
    assert [row.deployment for row in rows] == ["chat-prod"] * 2 + ["emb-prod", "chat-prod"]
    assert all(row.status == "ok" and row.prompt_tokens > 0 for row in rows)
    assert rows[0].prompt_tokens == tokman.count_prompt(model="gpt-4o-mini", messages=MESSAGES)
    assert {e.provider for e in sink.events} == {"azure.ai.openai"}
    assert [e.model for e in sink.events] == ["gpt-4o-mini"] * 2 + [
        "text-embedding-3-small", "gpt-4o-mini",
    ]  # fmt: skip
    assert all(e.request_model in {"chat-prod", "emb-prod"} for e in sink.events)


def test_azure_config_builds_an_instrumented_client(
    fake: FakeOpenAI, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AzureOpenAIConfig.from_env() reads the SDK's variables and masks the key everywhere."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://example.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    config = tokman.AzureOpenAIConfig.from_env()
    assert KEY not in repr(config) and KEY not in str(config)
    client = config.client(
        ledger=ledger,
        client_options={"http_client": HTTP.Client(transport=fake.transport(module=HTTP))},
    )
    client.chat.completions.create(model="chat-prod", messages=MESSAGES)
    [row] = ledger.query()
    assert row.deployment == "chat-prod"
    assert KEY not in json.dumps(row.to_dict())
    assert fake.requests[-1].headers["api-key"] != KEY  # redacted in the fake's log too


# -- refusals ---------------------------------------------------------------------------------


def test_rate_limit_refusal_is_both_tokmans_and_the_sdks_error(
    fake: FakeOpenAI, ledger: Ledger, name: str
) -> None:
    """No room within max_wait: RateLimitExceededError and openai.RateLimitError, nothing sent."""
    clock = FakeClock()
    limiter = RateLimiter(Quota(tpm=100, rpm=60), clock=clock, name=name)
    client = tokman.instrument(_client(fake), ledger=ledger, limiter=limiter, max_wait=0)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=80)
    sent = len(fake.requests)
    with _refused(RateLimitExceededError, openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=80)
    error = caught.value
    assert isinstance(error, openai.RateLimitError)
    assert error.status_code == 429 and error.code == "rate_limit_exceeded"
    assert int(error.response.headers["retry-after-ms"]) > 0
    if RAISES_THROUGH:
        assert isinstance(error, RateLimitExceededError)
        assert error.retry_after is not None and error.retry_after > 0
    assert len(fake.requests) == sent
    assert len(ledger.query()) == 1


def test_limiter_is_settled_to_the_real_usage(fake: FakeOpenAI, name: str) -> None:
    """The reservation (prompt + max_tokens) is replaced by the served total in its window."""
    limiter = RateLimiter(Quota(tpm=10_000, rpm=60), clock=FakeClock(), name=name)
    client = tokman.instrument(_client(fake), limiter=limiter)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=500)
    served = _served(fake)
    assert limiter.usage() == (_prompt(served) + _completion(served), 1)


def test_budget_refusal_and_settlement(fake: FakeOpenAI, ledger: Ledger) -> None:
    """A USD budget: the call settles its real cost; a call whose worst case does not fit is
    refused as BudgetExceededError and openai.RateLimitError."""
    guard = BudgetGuard(ledger)
    guard.add(Budget("team", Decimal("0.01")))
    client = tokman.instrument(_client(fake), ledger=ledger, budgets=guard)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=100)
    [row] = ledger.query()
    assert guard.status("team").spent == row.cost
    assert guard.status("team").reserved == 0
    with _refused(BudgetExceededError, openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=16_000)
    assert isinstance(caught.value, openai.RateLimitError)
    assert caught.value.code == "budget_exceeded"
    assert len(ledger.query()) == 1


def test_validation_refusal_is_a_bad_request(fake: FakeOpenAI) -> None:
    """A prompt over the window is refused before sending, as the API's 400."""
    client = tokman.instrument(_client(fake))
    huge = [{"role": "user", "content": "word " * 9000}]
    with _refused(ContextWindowExceededError, openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4", messages=huge)
    assert isinstance(caught.value, openai.BadRequestError)
    assert caught.value.code == "context_length_exceeded"
    assert fake.requests == []
    with _refused(InvalidRequestError, openai.BadRequestError) as typo:
        client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_body={"max_token": 5}
        )
    assert "max_tokens" in str(typo.value)


def test_unknown_model_raises_or_passes_by_on_error(
    fake: FakeOpenAI, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """on_error='raise': UnknownModelError (and NotFoundError), nothing sent; 'log': sent
    unaccounted, logged once."""
    strict = tokman.instrument(_client(fake), ledger=ledger)
    with _refused(UnknownModelError, openai.NotFoundError) as caught:
        strict.chat.completions.create(model="my-finetune", messages=MESSAGES)
    assert isinstance(caught.value, openai.NotFoundError)
    assert fake.requests == []
    lenient = tokman.instrument(_client(fake, max_retries=0), ledger=ledger, on_error="log")
    with caplog.at_level(logging.WARNING, logger="tokman.integrations"):
        for _ in range(2):  # the fake server does not know it either: its own 404
            with pytest.raises(openai.NotFoundError) as upstream:
                lenient.chat.completions.create(model="my-finetune", messages=MESSAGES)
            assert upstream.value.code == "model_not_found"  # the fake's, not tokman's
    assert len(fake.requests) == 2
    assert ledger.query() == []
    assert len([r for r in caplog.records if "my-finetune" in r.getMessage()]) == 1


# -- upstream errors --------------------------------------------------------------------------


def test_upstream_429_pauses_the_limiter_and_the_retry_is_recorded(
    fake: FakeOpenAI, ledger: Ledger, name: str
) -> None:
    """A 429 releases the reservation, pauses the quota for retry-after, records the failure;
    the SDK's retry goes through the transport again, waits out the pause (the limiter sleeps
    on the fake clock) and is recorded once."""
    clock = FakeClock()
    limiter = RateLimiter(Quota(tpm=100_000, rpm=600), clock=clock, sleep=clock.advance, name=name)
    fake.fail_next(status=429, headers={"retry-after-ms": "20"})
    client = tokman.instrument(_client(fake, max_retries=1), ledger=ledger, limiter=limiter)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=10)
    rows = sorted(ledger.query(), key=lambda r: r.status)
    assert [row.status for row in rows] == ["error", "ok"]
    assert rows[0].total_tokens == 0
    served = _served(fake)
    assert limiter.usage() == (_prompt(served) + _completion(served), 1)  # the 429 released
    assert clock.monotonic() >= 0.02  # the retry waited out the pause retry-after-ms asked for


def test_upstream_500_without_retries_releases_everything(
    fake: FakeOpenAI, ledger: Ledger, name: str
) -> None:
    """The SDK raises its own error; the reservation and the budget hold are released."""
    guard = BudgetGuard(ledger)
    guard.add(Budget("team", Decimal("5")))
    limiter = RateLimiter(Quota(tpm=100_000, rpm=600), clock=FakeClock(), name=name)
    fake.fail_next(status=500)
    client = tokman.instrument(
        _client(fake, max_retries=0), ledger=ledger, limiter=limiter, budgets=guard
    )
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert limiter.usage() == (0, 0)
    assert (guard.status("team").spent, guard.status("team").reserved) == (0, 0)
    assert [row.status for row in ledger.query()] == ["error"]


# -- async ------------------------------------------------------------------------------------


def test_async_clients(fake: FakeOpenAI, ledger: Ledger, name: str) -> None:
    """AsyncOpenAI and AsyncAzureOpenAI: plain, streaming, closed early; AsyncRateLimiter."""

    async def main() -> None:
        limiter = AsyncRateLimiter(Quota(tpm=1_000_000, rpm=6_000), name=name)
        plain = openai.AsyncOpenAI(
            api_key=KEY, http_client=HTTP.AsyncClient(transport=fake.transport(module=HTTP))
        )
        azure = openai.AsyncAzureOpenAI(
            api_key=KEY, api_version="2024-10-21", azure_endpoint="https://x.openai.azure.com",
            http_client=HTTP.AsyncClient(transport=fake.transport(module=HTTP)),
        )  # fmt: skip
        client = tokman.instrument(plain, ledger=ledger, limiter=limiter)
        az = tokman.instrument(azure, ledger=ledger, limiter=limiter)
        assert type(client) is openai.AsyncOpenAI and type(az) is openai.AsyncAzureOpenAI
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        stream = await az.chat.completions.create(model="chat-prod", messages=MESSAGES, stream=True)
        async for _ in stream:
            pass
        early = await client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True
        )
        async for _ in early:
            break
        await early.close()
        await client.responses.create(model="gpt-4.1", input="Hi")
        assert (await limiter.usage())[1] == 4

    asyncio.run(main())
    statuses = sorted(row.status for row in ledger.query())
    assert statuses == ["estimated", "ok", "ok", "ok"]
    assert {row.deployment for row in ledger.query()} == {None, "chat-prod"}


# -- arguments --------------------------------------------------------------------------------


def test_bad_arguments_are_refused_by_name(fake: FakeOpenAI, name: str) -> None:
    """Not a client, instrumenting twice, a sync limiter on an async client, a bad ledger."""
    with pytest.raises(InvalidRequestError, match="client"):
        tokman.instrument(object())
    once = tokman.instrument(_client(fake))
    with pytest.raises(InvalidRequestError, match="not instrumented yet"):
        tokman.instrument(once)
    async_client = openai.AsyncOpenAI(
        api_key=KEY, http_client=HTTP.AsyncClient(transport=fake.transport(module=HTTP))
    )
    with pytest.raises(InvalidRequestError, match="AsyncRateLimiter"):
        tokman.instrument(async_client, limiter=RateLimiter(Quota(tpm=10, rpm=1), name=name))
    with pytest.raises(InvalidRequestError, match="ledger"):
        tokman.instrument(_client(fake), ledger=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="on_error"):
        tokman.instrument(_client(fake), on_error="ignore")  # type: ignore[arg-type]


def test_ledger_url_and_legacy_httpx_client(fake: FakeOpenAI, tmp_path: Any) -> None:
    """A ledger URL is opened; a legacy httpx client (accepted by the SDK) works the same."""
    import httpx

    legacy = openai.OpenAI(
        api_key=KEY,
        http_client=httpx.Client(transport=fake.transport(module=httpx)),  # type: ignore[arg-type]
    )
    url = f"sqlite:///{tmp_path / 'usage.db'}"
    client = tokman.instrument(legacy, ledger=url)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    with open_ledger(url) as stored:
        rows = stored.query()
    assert [row.status for row in rows] == ["ok", "ok"]


def test_no_secret_reaches_the_ledger_logs_or_metrics(
    fake: FakeOpenAI, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """The API key is in no ledger row, no log line, no metric event."""
    sink = CollectingSink()
    client = tokman.instrument(_azure(fake), ledger=ledger, metrics=sink)
    with caplog.at_level(logging.DEBUG):
        client.chat.completions.create(model="chat-prod", messages=MESSAGES)
        with _refused(UnknownModelError, openai.NotFoundError):
            client.chat.completions.create(model="nope", messages=MESSAGES)
    assert KEY not in caplog.text
    assert all(KEY not in json.dumps(row.to_dict()) for row in ledger.query())
    assert all(KEY not in repr(event) for event in sink.events)


def test_readme_example_runs() -> None:
    """The README's "The openai SDK" example runs as written."""
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## The openai SDK\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    if SDK_MAJOR < 3:  # the same example on the SDK's older HTTP library
        code = code.replace("httpx2", "httpx")
        code = code.replace("fake.transport()", "fake.transport(module=httpx)")
    exec(compile(code, "README.md#the-openai-sdk", "exec"), {})


def test_cancelled_async_stream_is_recorded_as_an_estimate(
    fake: FakeOpenAI, ledger: Ledger
) -> None:
    """A task cancelled mid-stream still leaves one row: prompt exact, completion estimated."""
    received: list[str] = []

    async def main() -> None:
        client = tokman.instrument(
            openai.AsyncOpenAI(
                api_key=KEY, http_client=HTTP.AsyncClient(transport=fake.transport(module=HTTP))
            ),
            ledger=ledger,
        )
        first = asyncio.Event()

        async def consume() -> None:
            stream = await client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, stream=True
            )
            async for chunk in stream:
                received.append(chunk.choices[0].delta.content or "")
                first.set()
                await asyncio.sleep(10)  # cancelled here

        task = asyncio.create_task(consume())
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)  # let the stream's cleanup run

    asyncio.run(main())
    [row] = ledger.query()
    assert row.status == "estimated"
    assert row.prompt_tokens == tokman.count_prompt(model="gpt-4o", messages=MESSAGES)
    assert row.completion_tokens == tokman.count("".join(received), model="gpt-4o")


def test_abandoned_stream_is_recorded_when_collected(fake: FakeOpenAI, ledger: Ledger) -> None:
    """A stream dropped without close(): the SDK closes it when it is collected; tokman records
    the estimate then."""
    import gc

    client = tokman.instrument(_client(fake), ledger=ledger)
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    first = next(iter(stream))
    assert first.choices
    del stream
    gc.collect()
    [row] = ledger.query()
    assert row.status == "estimated"
    assert row.prompt_tokens == tokman.count_prompt(model="gpt-4o", messages=MESSAGES)


def test_async_client_on_one_sqlite_file_for_ledger_and_budgets(
    fake: FakeOpenAI, tmp_path: Any
) -> None:
    """An async client whose ledger and budgets share a fresh SQLite file: the budget tables
    are made before the first call's group commit (not inside it, where their migration would
    wait on that very transaction's lock)."""
    import time

    ledger = open_ledger(f"sqlite:///{tmp_path / 'usage.db'}")
    guard = BudgetGuard(ledger)

    async def main() -> None:
        client = tokman.instrument(
            openai.AsyncOpenAI(
                api_key=KEY, http_client=HTTP.AsyncClient(transport=fake.transport(module=HTTP))
            ),
            ledger=ledger,
            budgets=guard,
        )
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 10
    assert [row.status for row in ledger.query()] == ["ok"]
    ledger.close()
