"""The SDK integration's pure core: reading a call, planning it, recording it."""

from __future__ import annotations

import json

import pytest

import tokman
from tokman import models
from tokman.errors import ContextWindowExceededError, InvalidRequestError, UnknownModelError
from tokman.integrations._pipeline import (
    estimated_usage,
    event_for,
    plan_call,
    read_call,
    record_for,
)
from tokman.usage import Usage

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Tell me a story."}]}


def _body(obj: object) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    ("path", "api", "deployment", "provider"),
    [
        ("/v1/chat/completions", "chat", None, "openai"),
        ("/chat/completions", "chat", None, "openai"),
        ("/v1/responses", "responses", None, "openai"),
        ("/v1/embeddings", "embeddings", None, "openai"),
        ("/openai/deployments/chat-prod/chat/completions", "chat", "chat-prod", "azure.ai.openai"),
        ("/openai/deployments/emb/embeddings", "embeddings", "emb", "azure.ai.openai"),
        ("/openai/responses", "responses", "gpt-4o", "azure.ai.openai"),
        ("/openai/v1/responses", "responses", "gpt-4o", "azure.ai.openai"),
    ],
)
def test_read_call_knows_the_api_and_the_azure_deployment(
    path: str, api: str, deployment: str | None, provider: str
) -> None:
    """The API comes from the path; Azure's deployment from the path, or the body for Responses."""
    call = read_call("POST", path, _body(CHAT), host="example.org", port=443)
    assert call is not None
    assert (call.api, call.deployment, call.provider) == (api, deployment, provider)
    assert (call.server_address, call.server_port) == ("example.org", 443)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/models", b""),
        ("GET", "/v1/responses/resp_1", b""),
        ("POST", "/v1/responses/resp_1/cancel", b"{}"),
        ("POST", "/v1/responses/input_tokens", b'{"model": "gpt-4o", "input": "x"}'),
        ("POST", "/v1/files", b"--multipart--"),
        ("POST", "/v1/chat/completions", b"not json"),
        ("POST", "/v1/chat/completions", b"[1, 2]"),
    ],
)
def test_read_call_passes_other_requests_through(method: str, path: str, body: bytes) -> None:
    """Requests that are not a covered call are None: they go out untouched."""
    assert read_call(method, path, body) is None


def test_azure_client_marks_the_call_azure_whatever_the_path() -> None:
    """A custom base URL on an Azure client is still Azure (provider and Responses deployment)."""
    call = read_call("POST", "/gw/responses", _body({"model": "dep", "input": "x"}), azure=True)
    assert call is not None
    assert (call.provider, call.deployment) == ("azure.ai.openai", "dep")


def test_plan_counts_the_prompt_exactly_and_reserves_the_worst_case() -> None:
    """prompt_tokens is count_prompt's; the limit is max_tokens x n."""
    body = {**CHAT, "max_tokens": 100, "n": 3}
    call = read_call("POST", "/v1/chat/completions", _body(body))
    assert call is not None
    plan = plan_call(call)
    assert plan.prompt_tokens == tokman.count_prompt(**CHAT) == 12
    assert plan.completion_limit == 300
    assert plan.worst_case == 312
    assert plan.model == "gpt-4o"
    assert plan.body is None and not plan.hide_usage


def test_plan_without_a_limit_reserves_the_models_maximum_output() -> None:
    """No max_tokens: Azure charges the model's maximum output, so tokman reserves it."""
    call = read_call("POST", "/v1/chat/completions", _body(CHAT))
    assert call is not None
    assert plan_call(call).completion_limit == models.get("gpt-4o").max_output_tokens == 16_384


def test_plan_of_embeddings_reserves_only_the_inputs() -> None:
    """Embeddings produce no completion."""
    body = {"model": "text-embedding-3-small", "input": ["hello world", "goodbye"]}
    call = read_call("POST", "/v1/embeddings", _body(body))
    assert call is not None
    plan = plan_call(call)
    counts = [tokman.count(t, model="text-embedding-3-small") for t in body["input"]]
    assert counts == [2, 2]
    assert (plan.prompt_tokens, plan.completion_limit) == (4, 0)


def test_plan_asks_a_chat_stream_for_usage_and_hides_it() -> None:
    """stream=True without include_usage: the body asks for it, the plan hides the chunk."""
    body = {**CHAT, "stream": True, "stream_options": {"include_obfuscation": False}}
    call = read_call("POST", "/v1/chat/completions", _body(body))
    assert call is not None
    plan = plan_call(call)
    assert plan.hide_usage and plan.body is not None
    sent = json.loads(plan.body)
    assert sent["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert {k: v for k, v in sent.items() if k != "stream_options"} == {
        k: v for k, v in body.items() if k != "stream_options"
    }


def test_plan_leaves_a_stream_that_asked_for_usage_alone() -> None:
    """The caller asked for usage: nothing rewritten, nothing hidden."""
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    call = read_call("POST", "/v1/chat/completions", _body(body))
    assert call is not None
    plan = plan_call(call)
    assert not plan.hide_usage and plan.body is None


def test_plan_resolves_an_azure_deployment_to_its_model() -> None:
    """The deployment in the path maps to its model through the deployment map."""
    models.register_deployment("chat-prod", model="gpt-4o-mini")
    body = {"model": "chat-prod", "messages": CHAT["messages"]}
    call = read_call("POST", "/openai/deployments/chat-prod/chat/completions", _body(body))
    assert call is not None
    plan = plan_call(call)
    assert plan.model == "gpt-4o-mini"
    assert plan.completion_limit == models.get("gpt-4o-mini").max_output_tokens


def test_plan_refuses_what_the_api_would_reject() -> None:
    """validate=True: a prompt over the window or a misspelt parameter is refused."""
    huge = {"model": "gpt-4", "messages": [{"role": "user", "content": "word " * 9000}]}
    call = read_call("POST", "/v1/chat/completions", _body(huge))
    assert call is not None
    with pytest.raises(ContextWindowExceededError, match="8,192"):
        plan_call(call)
    typo = read_call("POST", "/v1/chat/completions", _body({**CHAT, "max_token": 5}))
    assert typo is not None
    with pytest.raises(InvalidRequestError, match="max_tokens"):
        plan_call(typo)
    assert plan_call(typo, validate=False).prompt_tokens == 12


def test_plan_of_an_unknown_model_names_it() -> None:
    """An unknown model or deployment is an UnknownModelError, never another model's numbers."""
    call = read_call("POST", "/v1/chat/completions", _body({**CHAT, "model": "gpt-9-turbo"}))
    assert call is not None
    with pytest.raises(UnknownModelError, match="gpt-9-turbo"):
        plan_call(call)


def test_record_prices_what_was_served_under_the_response_id() -> None:
    """The record is the served usage, priced, keyed by the response id, with the plan's tags."""
    call = read_call("POST", "/v1/chat/completions", _body(CHAT))
    assert call is not None
    plan = plan_call(call, tags={"team": "search"})
    usage = Usage(prompt_tokens=12, completion_tokens=30, cached_tokens=0)
    record = record_for(
        plan, usage=usage, status="ok", response_id="chatcmpl-9",
        response_model="gpt-4o-2024-08-06", latency=0.5,
    )  # fmt: skip
    assert (record.id, record.model, record.status) == ("chatcmpl-9", "gpt-4o-2024-08-06", "ok")
    assert (record.prompt_tokens, record.completion_tokens) == (12, 30)
    assert record.cost == tokman.cost(
        {"prompt_tokens": 12, "completion_tokens": 30}, model="gpt-4o-2024-08-06"
    ).total
    assert record.tags == {"team": "search"}
    failed = record_for(plan, usage=None, status="error")
    assert (failed.total_tokens, failed.status, failed.cost) == (0, "error", 0)


def test_estimate_counts_the_text_received() -> None:
    """A stream without usage: the prompt as counted, the completion from the text received."""
    call = read_call("POST", "/v1/chat/completions", _body(CHAT))
    assert call is not None
    plan = plan_call(call)
    usage = estimated_usage(plan, "Once upon a time")
    assert (usage.prompt_tokens, usage.completion_tokens) == (12, 4)
    assert estimated_usage(plan, "").completion_tokens == 0


def test_event_describes_the_call_without_secrets() -> None:
    """The metrics event carries the models, tokens and cost, and the host only."""
    models.register_deployment("chat-prod", model="gpt-4o")
    body = {"model": "chat-prod", "messages": CHAT["messages"]}
    call = read_call(
        "POST", "/openai/deployments/chat-prod/chat/completions", _body(body),
        host="r.openai.azure.com", port=443,
    )  # fmt: skip
    assert call is not None
    plan = plan_call(call)
    record = record_for(plan, usage=Usage(12, 5), status="ok", response_model="gpt-4o-2024-11-20")
    event = event_for(plan, call, "ok", record=record, status_code=200, duration=0.25)
    assert (event.provider, event.model, event.request_model, event.deployment) == (
        "azure.ai.openai", "gpt-4o", "chat-prod", "chat-prod",
    )  # fmt: skip
    assert (event.input_tokens, event.output_tokens, event.cost_usd) == (12, 5, record.cost)
    assert event.server_address == "r.openai.azure.com"
    refused = event_for(None, call, "refused", error_type="rate_limit_exceeded")
    assert (refused.model, refused.input_tokens, refused.error_type) == (
        "chat-prod", 0, "rate_limit_exceeded",
    )  # fmt: skip
