"""The gateway, driven by the real openai SDK over HTTP, in front of the fake upstream."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from gateway_support import UPSTREAM_KEY, Running, config_for
from tokman import models
from tokman.budgets import Budget

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


_OPEN: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Any:
    """Every SDK client a test makes is closed with it (no socket left to a later test's gc)."""
    yield
    while _OPEN:
        _OPEN.pop().close()


def _client(gw: Running, **kwargs: Any) -> openai.OpenAI:
    client = openai.OpenAI(api_key=gw.key, base_url=gw.base_url, max_retries=0, **kwargs)
    _OPEN.append(client)
    return client


def test_chat_is_forwarded_recorded_and_tagged(start_gateway: Any, upstream: Any) -> None:
    """A call through the gateway: the upstream's answer unchanged, one ledger row with the
    served usage under the key's tenant; the upstream got the gateway's key, not the client's."""
    fake, _ = upstream
    gw = start_gateway()
    answer = _client(gw).chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=30)
    assert answer.choices[0].message.content == "Paris is the capital of France."
    [row] = gw.gateway.ledger.query()
    assert row.id == answer.id
    assert (row.prompt_tokens, row.completion_tokens) == (
        answer.usage.prompt_tokens, answer.usage.completion_tokens,
    )  # fmt: skip
    assert row.tags["tenant"] == "acme" and row.tags["key"] in gw.key
    assert fake.requests[-1].headers["authorization"] == "Bearer REDACTED"  # a key was sent
    assert gw.key not in json.dumps(fake.requests[-1].body)


def test_stream_usage_is_added_and_hidden(start_gateway: Any, upstream: Any) -> None:
    """A stream without include_usage: the gateway asks the upstream for it, records it, and
    the client sees the stream it asked for."""
    fake, _ = upstream
    gw = start_gateway()
    chunks = list(
        _client(gw).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    )
    assert fake.requests[-1].body["stream_options"] == {"include_usage": True}
    assert all(c.usage is None and c.choices for c in chunks)
    [row] = gw.gateway.ledger.query()
    assert row.status == "ok" and row.completion_tokens == fake.served[-1]["completion_tokens"]


def test_responses_and_embeddings(start_gateway: Any) -> None:
    """Responses (plain and streamed) and embeddings go through too."""
    gw = start_gateway()
    client = _client(gw)
    plain = client.responses.create(model="gpt-4o", input="Hello")
    events = list(client.responses.create(model="gpt-4o", input="Hello", stream=True))
    assert events[-1].type == "response.completed"
    rows = {r.id: r for r in gw.gateway.ledger.query()}
    assert plain.usage is not None and rows[plain.id].prompt_tokens == plain.usage.input_tokens
    assert events[-1].response.id in rows


def test_refusals_come_before_the_upstream(start_gateway: Any, upstream: Any) -> None:
    """401 bad key, 404 model not allowed, 400 context_length_exceeded with the breakdown:
    OpenAI's error shape with tokman's code, and nothing sent upstream."""
    fake, _ = upstream
    gw = start_gateway()
    stranger = openai.OpenAI(
        api_key="tk-000000000000-nope-nope-nope-nope-x", base_url=gw.base_url, max_retries=0
    )
    _OPEN.append(stranger)
    with pytest.raises(openai.AuthenticationError):
        stranger.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    with pytest.raises(openai.NotFoundError) as missing:
        _client(gw).chat.completions.create(model="gpt-5-ultra", messages=MESSAGES)
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as big:
        _client(gw).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "word " * 130_000}]
        )
    assert big.value.code == "context_length_exceeded"
    assert "Prompt:" in big.value.message  # the breakdown
    assert fake.requests == []


def test_key_models_and_revocation(start_gateway: Any) -> None:
    """A key limited to gpt-4o-mini cannot call gpt-4o; /v1/models lists what it may use; a
    revoked key stops working (after the lookup cache's seconds)."""
    from tokman.gateway import _keys

    gw = start_gateway()
    secret, key = gw.gateway.keys.create("beta", models=["gpt-4o-mini"])
    client = openai.OpenAI(api_key=secret, base_url=gw.base_url, max_retries=0)
    _OPEN.append(client)
    assert [m.id for m in client.models.list()] == ["gpt-4o-mini"]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert gw.gateway.keys.revoke(key.id)
    assert not gw.gateway.keys.revoke(key.id)
    assert _keys.CACHE_SECONDS <= 5  # other processes see it within this; this one at once
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def test_rate_limit_refusal_has_retry_after(start_gateway: Any, upstream: Any) -> None:
    """A request that does not fit the deployment's quota now: 429 rate_limit_exceeded with
    Retry-After, and the upstream is not called."""
    fake, server = upstream
    config = config_for(server.base_url, max_wait=0.001)
    config["upstreams"][0]["deployments"][0].update(tpm=200, rpm=600)
    gw = start_gateway(config)
    client = _client(gw)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=180)
    sent = len(fake.requests)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=180)
    assert caught.value.code == "rate_limit_exceeded"
    assert int(caught.value.response.headers["retry-after"]) >= 1
    assert len(fake.requests) == sent


def test_budget_refusal_is_429_or_402(start_gateway: Any, upstream: Any) -> None:
    """A key's budget: its worst case must fit; the refusal uses the configured status."""
    _, server = upstream
    for mode in (429, 402):
        gw = start_gateway(config_for(server.base_url, budget_mode=mode))
        secret, key = gw.gateway.keys.create("tiny")
        gw.gateway.budgets.add(Budget(key.budget_id, Decimal("0.001"), tags={"key": key.id}))
        client = openai.OpenAI(api_key=secret, base_url=gw.base_url, max_retries=0)
        _OPEN.append(client)
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=10)
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=4000)
        assert caught.value.status_code == mode and caught.value.code == "budget_exceeded"
        status = gw.gateway.budgets.status(key.budget_id)
        assert status.reserved == 0
        assert status.spent == sum(r.cost for r in gw.gateway.ledger.query(tags={"key": key.id}))


def test_azure_clients_and_failover(start_gateway: Any, upstream: Any) -> None:
    """AzureOpenAI pointed at the gateway works; two deployments serve one model; an upstream
    429 on the first moves the call to the second before anything reaches the client."""
    fake, server = upstream
    models.register_deployment("east-4o", model="gpt-4o")
    config = config_for(server.base_url)
    config["upstreams"].append({
        "name": "azure", "kind": "azure", "endpoint": server.azure_endpoint,
        "api_key_env": "AZURE_KEY", "api_version": "2024-10-21",
        "deployments": [{"name": "east-4o", "model": "gpt-4o", "tpm": 2_000_000, "rpm": 6_000}],
    })  # fmt: skip
    gw = start_gateway(config)
    azure = openai.AzureOpenAI(api_key=gw.key, azure_endpoint=gw.url, api_version="2024-10-21",
                               max_retries=0)  # fmt: skip
    _OPEN.append(azure)
    azure.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    list(azure.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    fake.fail_next(status=429, headers={"retry-after-ms": "1000"})
    done = _client(gw).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    statuses = [r.status for r in fake.requests]
    assert statuses[-2:] == [429, 200]  # failed over, and the client saw the success
    assert done.choices[0].message.content
    rows = gw.gateway.ledger.query()
    assert sorted(r.status for r in rows) == ["error", "ok", "ok", "ok"]
    assert {r.deployment for r in rows if r.status == "ok"} <= {None, "east-4o"}


def test_upstream_down_and_slow(start_gateway: Any, upstream: Any) -> None:
    """An unreachable upstream is a 502, one that does not answer in time a 504; both release
    their reservations."""
    from gateway_support import free_port

    dead = config_for(f"http://127.0.0.1:{free_port()}/v1")
    gw = start_gateway(dead)
    with pytest.raises(openai.APIStatusError) as down:
        _client(gw).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert down.value.status_code == 502
    [target] = gw.gateway.targets["gpt-4o"]
    assert target.guard.limiter is not None
    assert asyncio.run(target.guard.limiter.usage()) == (0, 0)
    assert [r.status for r in gw.gateway.ledger.query()] == ["error"]


def test_body_too_large(start_gateway: Any, upstream: Any) -> None:
    """A body over max_body_bytes is refused with 413."""
    _, server = upstream
    gw = start_gateway(config_for(server.base_url, max_body_bytes=1000))
    with pytest.raises(openai.APIStatusError) as caught:
        _client(gw).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x" * 2000}]
        )
    assert caught.value.status_code == 413


def test_health_ready_and_metrics(start_gateway: Any) -> None:
    """/healthz, /readyz and /metrics (the same totals as the ledger)."""
    gw = start_gateway()
    _client(gw).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert httpx.get(f"{gw.url}/healthz").text == "ok"
    assert httpx.get(f"{gw.url}/readyz").json() == {"ready": True}
    text = httpx.get(f"{gw.url}/metrics").text
    [row] = gw.gateway.ledger.query()
    line = next(
        x for x in text.splitlines()
        if x.startswith("tokman_tokens_total") and 'type="input"' in x
    )  # fmt: skip
    assert float(line.rsplit(" ", 1)[1]) == row.prompt_tokens


def test_client_disconnect_mid_stream_records_an_estimate(
    start_gateway: Any, upstream: Any
) -> None:
    """A client gone mid-stream: the upstream request is closed and the usage recorded as an
    estimate (prompt exact)."""
    fake, _ = upstream
    gw = start_gateway()
    body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True}
    with httpx.Client() as http, http.stream(
        "POST", f"{gw.base_url}/chat/completions", json=body,
        headers={"authorization": f"Bearer {gw.key}"},
    ) as response:  # fmt: skip
        for _ in response.iter_bytes():
            break  # hang up after the first bytes
    import time

    deadline = time.monotonic() + 5
    while not gw.gateway.ledger.query() and time.monotonic() < deadline:
        time.sleep(0.05)
    [row] = gw.gateway.ledger.query()
    assert row.status in ("estimated", "ok")
    assert row.prompt_tokens == fake.requests[-1].usage["prompt_tokens"]


def test_upstream_key_never_leaks(
    start_gateway: Any, upstream: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The upstream key is in no response, header, log line, metric or ledger row, even on
    errors; the client cannot pick the upstream URL."""
    fake, _ = upstream
    gw = start_gateway()
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG), httpx.Client() as http:
        headers = {"authorization": f"Bearer {gw.key}", "x-forwarded-host": "evil.example"}
        for body in (
            {"model": "gpt-4o", "messages": MESSAGES},
            {"model": "gpt-4o", "messages": MESSAGES, "stream": True},
            {"model": "nope", "messages": MESSAGES},
            {"model": "gpt-4o", "messages": "not a list"},
        ):
            r = http.post(f"{gw.base_url}/chat/completions?base_url=http://evil", json=body,
                          headers=headers)  # fmt: skip
            seen += [r.text, json.dumps(dict(r.headers))]
        fake.fail_next(status=500)
        r = http.post(f"{gw.base_url}/chat/completions", json={"model": "gpt-4o",
                      "messages": MESSAGES}, headers=headers)  # fmt: skip
        seen += [r.text, json.dumps(dict(r.headers))]
        seen.append(http.get(f"{gw.url}/metrics").text)
    seen.append(caplog.text)
    seen += [json.dumps(row.to_dict()) for row in gw.gateway.ledger.query()]
    assert all(UPSTREAM_KEY not in text for text in seen)
    assert all(r.path.startswith("/v1/") for r in fake.requests)


def test_fail_mode_hold_time_and_spool_options(
    start_gateway: Any, upstream: Any, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """on_limiter_error, budget_hold_seconds and ledger_spool reach the limiter, the budget
    guard and the ledger; with "allow", an unreachable Redis admits the call (logged once)
    instead of refusing it; a bad mode is refused naming the key."""
    from gateway_support import free_port
    from tokman.errors import ConfigurationError
    from tokman.gateway import parse_config

    _, server = upstream
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    spool = tmp_path / "spool.jsonl"
    gw = start_gateway(config_for(
        server.base_url, limiter=dead_redis, on_limiter_error="allow",
        budget_hold_seconds=30, ledger_spool=str(spool),
    ))  # fmt: skip
    assert gw.gateway.budgets.ttl == 30
    assert gw.gateway.ledger.spool is not None and gw.gateway.ledger.spool.path == spool
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            _client(gw).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert [r.status for r in gw.gateway.ledger.query()] == ["ok", "ok"]
    warned = [r for r in caplog.records if r.name == "tokman.ratelimit"]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING  # once, not per call
    defaults = parse_config(config_for(server.base_url))
    assert (defaults.on_limiter_error, defaults.budget_hold_seconds, defaults.ledger_spool) == (
        "raise", 600.0, None,
    )  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"gateway\.on_limiter_error"):
        parse_config(config_for(server.base_url, on_limiter_error="ignore"))
