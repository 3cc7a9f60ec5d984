"""tokman.testing.FakeOpenAI driven by the real openai SDK: transport and HTTP server, sync
and async, OpenAI and Azure, with usage checked against tokman's own counts."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import httpx2
import openai
import pytest

import tokman
from tokman.errors import InvalidRequestError, UnknownModelError
from tokman.testing import FakeOpenAI, FakeServer

REPLY = "Hello there, friend."
MESSAGES: list[Any] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello to my friend, please."},
]
AZURE = "https://example.openai.azure.com"
API_VERSION = "2024-10-21"
VIA = ["transport", "server"]


@contextmanager
def sdk(
    fake: FakeOpenAI, via: str, *, azure: bool = False, aio: bool = False, max_retries: int = 2
) -> Iterator[Any]:
    """An openai client (OpenAI or AzureOpenAI, sync or async) talking to ``fake`` via ``via``."""
    kind: Any = {
        (False, False): openai.OpenAI,
        (False, True): openai.AsyncOpenAI,
        (True, False): openai.AzureOpenAI,
        (True, True): openai.AsyncAzureOpenAI,
    }[azure, aio]
    options: dict[str, Any] = {"max_retries": max_retries}
    if azure:
        options |= {"api_key": "azure-secret", "api_version": API_VERSION}
    else:
        options["api_key"] = "sk-secret"
    if via == "server":
        with fake.serve() as server:
            where = {"azure_endpoint": server.azure_endpoint} if azure else {
                "base_url": server.base_url}  # fmt: skip
            client = kind(**options, **where)
            yield client
            if not aio:  # async tests close theirs with `async with`
                client.close()
    else:
        http = (httpx2.AsyncClient if aio else httpx2.Client)(transport=fake.transport())
        client = kind(**options, **({"azure_endpoint": AZURE} if azure else {}), http_client=http)
        yield client
        if not aio:
            client.close()


def expected_usage(fake: FakeOpenAI, **request: Any) -> tuple[int, int]:
    """(prompt, completion) tokens as the API bills them, from tokman's own counting."""
    return tokman.count_prompt(**request), tokman.count(fake.reply, model=request["model"])


# -- Chat Completions ------------------------------------------------------------------------


@pytest.mark.parametrize("via", VIA)
def test_chat_completion_has_exact_usage(via: str) -> None:
    """A plain chat call returns the reply with usage equal to tokman's prompt and reply counts."""
    fake = FakeOpenAI(REPLY, cached_tokens=4, reasoning_tokens=3)
    with sdk(fake, via) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
        done = raw.parse()
    prompt, reply = expected_usage(fake, model="gpt-4o", messages=MESSAGES)
    assert done.choices[0].message.content == REPLY
    assert done.choices[0].finish_reason == "stop"
    assert done.id.startswith("chatcmpl-") and done.model == "gpt-4o"
    assert done.usage.prompt_tokens == prompt == 23
    assert done.usage.completion_tokens == reply + 3 == 8
    assert done.usage.total_tokens == prompt + reply + 3
    assert done.usage.prompt_tokens_details.cached_tokens == 4
    assert done.usage.completion_tokens_details.reasoning_tokens == 3
    assert raw.headers["x-request-id"].startswith("req_")
    assert fake.served == [done.usage.model_dump(exclude_none=True)]
    (seen,) = fake.requests
    assert (seen.method, seen.path, seen.status) == ("POST", "/v1/chat/completions", 200)
    assert seen.body["messages"] == MESSAGES and seen.usage == fake.served[0]
    assert seen.headers["authorization"] == "Bearer REDACTED"
    assert "sk-secret" not in repr(fake.requests)


@pytest.mark.parametrize("via", VIA)
def test_chat_stream_ends_with_the_usage_chunk(via: str) -> None:
    """include_usage: every chunk has usage None but the last, whose choices are empty."""
    fake = FakeOpenAI(REPLY)
    with sdk(fake, via) as client:
        chunks = list(client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True}))  # fmt: skip
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY and len(chunks) == 6  # role, 3 pieces, finish, usage
    assert [c.choices[0].finish_reason for c in chunks[:-1]][-1] == "stop"
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].choices == []
    prompt, reply = expected_usage(fake, model="gpt-4o-mini", messages=MESSAGES)
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (prompt, reply)
    assert len({c.id for c in chunks}) == 1
    assert fake.served == [chunks[-1].usage.model_dump(exclude_none=True)]


def test_chat_stream_without_include_usage_sends_none_but_bills() -> None:
    """Without include_usage no chunk has usage; the request still records what was billed."""
    fake = FakeOpenAI(REPLY)
    with sdk(fake, "transport") as client:
        chunks = list(client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True))  # fmt: skip
    assert len(chunks) == 5 and all(c.usage is None for c in chunks)
    assert fake.served == []
    prompt, reply = expected_usage(fake, model="gpt-4o", messages=MESSAGES)
    assert fake.requests[0].usage["prompt_tokens"] == prompt
    assert fake.requests[0].usage["completion_tokens"] == reply


@pytest.mark.parametrize("via", VIA)
def test_async_chat_stream(via: str) -> None:
    """The async SDK client streams the same chunks, through the transport and the server."""
    fake = FakeOpenAI(REPLY)

    async def run() -> list[Any]:
        with sdk(fake, via, aio=True) as client:
            async with client:
                stream = await client.chat.completions.create(
                    model="gpt-4o", messages=MESSAGES, stream=True,
                    stream_options={"include_usage": True})  # fmt: skip
                return [chunk async for chunk in stream]

    chunks = asyncio.run(run())
    prompt, reply = expected_usage(fake, model="gpt-4o", messages=MESSAGES)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (prompt, reply)


def test_completion_limit_cuts_the_reply() -> None:
    """max_tokens / max_completion_tokens cut the reply to that many tokens: finish 'length'."""
    fake = FakeOpenAI("one two three four five six seven", reasoning_tokens=1)
    with sdk(fake, "transport") as client:
        done = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=3)
        later = client.chat.completions.create(
            model="o3-mini", messages=MESSAGES, max_completion_tokens=4, n=2)  # fmt: skip
    assert done.choices[0].finish_reason == "length"
    assert done.choices[0].message.content == "one two"  # 1 reasoning + 2 visible tokens
    assert done.usage.completion_tokens == 3
    assert done.usage.completion_tokens_details.reasoning_tokens == 1
    assert [c.message.content for c in later.choices] == ["one two three"] * 2
    assert later.usage.completion_tokens == 8  # every choice is billed
    assert later.usage.prompt_tokens == tokman.count_prompt(model="o3-mini", messages=MESSAGES)


# -- Azure -----------------------------------------------------------------------------------


@pytest.mark.parametrize("via", VIA)
def test_azure_stream_shapes_parse_in_the_sdk(via: str) -> None:
    """Azure: the prompt annotation first (empty model), filter results on chunks, an offsets
    annotation without delta, the usage chunk; the model is the deployment's."""
    fake = FakeOpenAI(REPLY, deployments={"chat-prod": "gpt-4o-2024-11-20"})
    with sdk(fake, via, azure=True) as client:
        chunks = list(client.chat.completions.create(
            model="chat-prod", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True}))  # fmt: skip
    first, annotation, last = chunks[0], chunks[-2], chunks[-1]
    assert (first.model, first.id, first.choices) == ("", "", [])
    verdicts = first.prompt_filter_results[0]["content_filter_results"]
    assert verdicts["jailbreak"] == {"filtered": False, "detected": False}
    assert chunks[2].choices[0].content_filter_results["hate"]["severity"] == "safe"
    assert annotation.model == "" and annotation.choices[0].delta is None
    assert "delta" not in annotation.choices[0].model_dump(exclude_unset=True)
    assert annotation.choices[0].content_filter_offsets["end_offset"] == len(REPLY)
    assert {c.model for c in chunks if c.model} == {"gpt-4o-2024-11-20"}
    deltas = [c.choices[0].delta for c in chunks if c.choices and c.choices[0].delta]
    assert "".join(d.content or "" for d in deltas) == REPLY
    prompt, reply = expected_usage(fake, model="gpt-4o-2024-11-20", messages=MESSAGES)
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (prompt, reply)
    (seen,) = fake.requests
    assert seen.path == "/openai/deployments/chat-prod/chat/completions"
    assert seen.query == {"api-version": API_VERSION}
    assert seen.headers["api-key"] == "REDACTED"


def test_azure_chat_helper_stream_and_plain_call() -> None:
    """The SDK's chat.completions.stream() helper survives Azure's annotation chunks; a plain
    Azure answer carries prompt_filter_results; registered deployments resolve too."""
    tokman.models.register_deployment("registered", model="gpt-4.1-mini")
    fake = FakeOpenAI(REPLY)
    with sdk(fake, "transport", azure=True) as client:
        with client.chat.completions.stream(model="registered", messages=MESSAGES) as stream:
            final = stream.get_final_completion()
        plain = client.chat.completions.create(model="registered", messages=MESSAGES)
    assert final.choices[0].message.content == REPLY
    assert plain.model == "gpt-4.1-mini"
    assert plain.prompt_filter_results[0]["prompt_index"] == 0  # type: ignore[attr-defined]
    assert plain.choices[0].content_filter_results["violence"]["filtered"] is False  # type: ignore[attr-defined]
    assert plain.usage.prompt_tokens == tokman.count_prompt(model="gpt-4.1-mini", messages=MESSAGES)


def test_azure_needs_api_version_and_a_known_deployment() -> None:
    """No api-version is a 400; an unknown deployment is a 404 DeploymentNotFound."""
    fake = FakeOpenAI()
    reply = fake.handle("POST", "/openai/deployments/x/chat/completions",
                        body={"model": "x", "messages": MESSAGES})  # fmt: skip
    assert reply.status == 400 and reply.json()["error"]["param"] == "api-version"
    with sdk(fake, "transport", azure=True) as client, pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="nobody-deployed-this", messages=MESSAGES)
    assert err.value.code == "DeploymentNotFound" and err.value.status_code == 404


# -- Responses API ---------------------------------------------------------------------------


@pytest.mark.parametrize("via", VIA)
def test_responses_plain_and_streamed(via: str) -> None:
    """A Response with output text and usage; the stream's events in order, usage in completed."""
    fake = FakeOpenAI(REPLY, cached_tokens=2)
    request = {"model": "gpt-4.1", "instructions": "Be brief.", "input": "Hello!"}
    with sdk(fake, via) as client:
        done = client.responses.create(**request)
        events = list(client.responses.create(**request, stream=True))
    prompt, reply = expected_usage(fake, **request)
    assert done.id.startswith("resp_") and done.status == "completed"
    assert done.output_text == REPLY
    assert (done.usage.input_tokens, done.usage.output_tokens) == (prompt, reply)
    assert done.usage.input_tokens_details.cached_tokens == 2
    assert done.usage.total_tokens == prompt + reply
    assert [e.type for e in events] == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added", *["response.output_text.delta"] * 3,
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed",
    ]  # fmt: skip
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == REPLY
    assert events[0].response.usage is None
    assert events[-1].response.usage.input_tokens == prompt
    assert events[-1].response.output_text == REPLY
    assert fake.served == [done.usage.model_dump(exclude_none=True)] * 2


def test_responses_limit_gives_incomplete_and_the_stream_helper_works() -> None:
    """max_output_tokens cuts the reply: status incomplete, response.incomplete event."""
    fake = FakeOpenAI(REPLY)
    with sdk(fake, "transport") as client:
        done = client.responses.create(model="gpt-4o", input="Hi", max_output_tokens=2)
        events = list(client.responses.create(
            model="gpt-4o", input="Hi", max_output_tokens=2, stream=True))  # fmt: skip
        with client.responses.stream(model="gpt-4o", input="Hi") as stream:
            final = stream.get_final_response()
    assert done.status == "incomplete" and done.incomplete_details.reason == "max_output_tokens"
    assert done.output_text == "Hello there" and done.usage.output_tokens == 2
    assert events[-1].type == "response.incomplete"
    assert final.output_text == REPLY and final.usage.output_tokens == 5


@pytest.mark.parametrize("via", VIA)
def test_azure_responses_take_the_deployment_from_the_body(via: str) -> None:
    """Azure Responses go to /openai/responses (deployment in model); the v1 API to
    /openai/v1/responses with no api-version."""
    fake = FakeOpenAI(REPLY, deployments={"resp-dep": {"model": "gpt-4o-mini"}})
    with sdk(fake, via, azure=True) as client:
        done = client.responses.create(model="resp-dep", input="Hi")
    if via == "server":
        with fake.serve() as server:
            v1 = openai.OpenAI(api_key="k", base_url=server.url + "/openai/v1")
            later = v1.responses.create(model="resp-dep", input="Hi")
            v1.close()
        assert fake.requests[-1].path == "/openai/v1/responses"
        assert fake.requests[-1].query == {}
        assert later.usage.input_tokens == done.usage.input_tokens
    assert done.model == "gpt-4o-mini"
    assert done.usage.input_tokens == tokman.count_prompt(model="gpt-4o-mini", input="Hi")
    assert fake.requests[0].path == "/openai/responses"
    assert fake.requests[0].body["model"] == "resp-dep"


# -- embeddings ------------------------------------------------------------------------------


@pytest.mark.parametrize("via", VIA)
def test_embeddings_base64_by_default(via: str) -> None:
    """The SDK asks for base64 unless told; the fake sends float32 base64 and the SDK decodes it;
    usage is the inputs' tokens."""
    fake = FakeOpenAI()
    inputs = ["hello world", "the quick brown fox", [1, 2, 3]]
    with sdk(fake, via) as client:
        done = client.embeddings.create(model="text-embedding-3-small", input=inputs)
        floats = client.embeddings.create(
            model="text-embedding-3-small", input="hi", encoding_format="float", dimensions=4)
    assert fake.requests[0].body["encoding_format"] == "base64"
    assert [len(d.embedding) for d in done.data] == [8, 8, 8]
    expected = tokman.count(inputs[0], model="text-embedding-3-small") + tokman.count(
        inputs[1], model="text-embedding-3-small") + 3  # fmt: skip
    assert done.usage.prompt_tokens == done.usage.total_tokens == expected
    assert isinstance(floats.data[0].embedding, list) and len(floats.data[0].embedding) == 4
    sent = json.loads(fake.handle("POST", "/v1/embeddings", body={
        "model": "text-embedding-3-small", "input": "hi", "encoding_format": "base64"}).body)
    vector = struct.unpack("<8f", base64.b64decode(sent["data"][0]["embedding"]))
    assert list(vector) == pytest.approx(floats.data[0].embedding + list(vector[4:]), abs=1e-6)


def test_azure_embeddings_on_a_deployment() -> None:
    """Azure embeddings: /openai/deployments/{dep}/embeddings, model named by the deployment."""
    fake = FakeOpenAI(deployments={"emb": "text-embedding-3-large"})
    with sdk(fake, "transport", azure=True) as client:
        done = client.embeddings.create(model="emb", input="hello")
    assert done.model == "text-embedding-3-large" and done.usage.prompt_tokens == 1
    assert fake.requests[0].path == "/openai/deployments/emb/embeddings"


# -- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize("via", VIA)
def test_429_then_success_is_retried_by_the_sdk(via: str) -> None:
    """A scripted 429 with rate-limit headers: the SDK waits retry-after-ms and retries."""
    fake = FakeOpenAI(REPLY)
    fake.fail_next(429, headers={"retry-after-ms": "1", "x-ratelimit-remaining-tokens": "0",
                                 "x-ratelimit-reset-tokens": "6m0s"})  # fmt: skip
    with sdk(fake, via, max_retries=1) as client:
        done = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert done.choices[0].message.content == REPLY
    assert [r.status for r in fake.requests] == [429, 200]
    assert [r.headers["x-stainless-retry-count"] for r in fake.requests] == ["0", "1"]
    assert fake.requests[0].usage is None and len(fake.served) == 1


def test_429_without_retries_raises_with_its_headers_and_body() -> None:
    """max_retries=0: RateLimitError with OpenAI's body (rate_limit_exceeded) and the headers."""
    fake = FakeOpenAI()
    fake.fail_next(429, headers={"retry-after": "20", "x-ratelimit-reset-tokens": "6m0s"},
                   times=2)  # fmt: skip
    with sdk(fake, "transport", max_retries=0) as client:
        for _ in range(2):
            with pytest.raises(openai.RateLimitError) as err:
                client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            assert err.value.code == "rate_limit_exceeded" and err.value.type == "tokens"
            assert err.value.response.headers["x-ratelimit-reset-tokens"] == "6m0s"
            assert err.value.response.headers["retry-after"] == "20"
        assert client.chat.completions.create(model="gpt-4o", messages=MESSAGES).usage
    assert [r.status for r in fake.requests] == [429, 429, 200]


def test_scripted_400_and_500() -> None:
    """fail_next(400, code=...) is a BadRequestError with that code; a 500 is retried."""
    fake = FakeOpenAI()
    fake.fail_next(400, code="context_length_exceeded")
    fake.fail_next(500, headers={"retry-after-ms": "1"})
    with sdk(fake, "transport", max_retries=1) as client:
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert err.value.code == "context_length_exceeded"
        assert client.chat.completions.create(model="gpt-4o", messages=MESSAGES).usage
    assert [r.status for r in fake.requests] == [400, 500, 200]


def test_custom_failure_body() -> None:
    """fail_next(body=...) sends that body verbatim."""
    fake = FakeOpenAI()
    fake.fail_next(403, body={"error": {"message": "nope", "code": "forbidden"}})
    reply = fake.handle("POST", "/v1/chat/completions", body={"model": "gpt-4o"})
    assert reply.status == 403
    assert reply.json() == {"error": {"message": "nope", "code": "forbidden"}}


def test_real_limits_and_unknown_models_are_answered_like_the_api() -> None:
    """An unknown model is 404 model_not_found; an input over the limit is 400
    context_length_exceeded; a bad request is 400 naming the field."""
    fake = FakeOpenAI()
    with sdk(fake, "transport", max_retries=0) as client:
        with pytest.raises(openai.NotFoundError) as missing:
            client.chat.completions.create(model="gpt-nope", messages=MESSAGES)
        with pytest.raises(openai.BadRequestError) as too_long:
            client.embeddings.create(model="text-embedding-3-small", input="hi " * 9000)
        with pytest.raises(openai.BadRequestError) as bad:
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user"}])
    assert missing.value.code == "model_not_found"
    assert missing.value.body == {"message": "The model `gpt-nope` does not exist or you do "
                                  "not have access to it.", "type": "invalid_request_error",
                                  "param": None, "code": "model_not_found"}  # fmt: skip
    assert too_long.value.code == "context_length_exceeded"
    assert bad.value.param is not None and bad.value.param.startswith("messages[0]")
    assert fake.handle("POST", "/v1/nothing").status == 404
    assert fake.handle("GET", "/v1/chat/completions").json()["error"]["message"] == (
        "Invalid URL (GET /v1/chat/completions)")
    assert fake.handle("POST", "/v1/chat/completions", body=b"{not json").status == 400


# -- cut streams -----------------------------------------------------------------------------


@pytest.mark.parametrize("via", VIA)
def test_cut_stream_raises_in_the_sdk(via: str) -> None:
    """A cut stream yields its first chunks, then the SDK raises APIConnectionError; no usage is
    served, but the request shows what was billed; the next stream is whole again."""
    fake = FakeOpenAI(REPLY)
    fake.cut_stream_next(after=2)
    got: list[Any] = []
    with sdk(fake, via) as client:
        with pytest.raises(openai.APIConnectionError) as err:
            for chunk in client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, stream=True,
                stream_options={"include_usage": True},
            ):  # fmt: skip
                got.append(chunk)
        again = list(client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True}))  # fmt: skip
    assert [c.choices[0].delta.content for c in got] == ["", "Hello"]
    assert isinstance(err.value.__cause__, httpx2.RemoteProtocolError)
    assert fake.requests[0].usage is not None and fake.requests[0].status == 200
    assert len(fake.served) == 1 and again[-1].usage is not None


def test_async_cut_responses_stream() -> None:
    """Cutting an async Responses stream: the SDK raises before response.completed."""
    fake = FakeOpenAI(REPLY)
    fake.cut_stream_next(after=4)

    async def run() -> list[str]:
        with sdk(fake, "transport", aio=True) as client:
            async with client:
                seen: list[str] = []
                stream = await client.responses.create(model="gpt-4o", input="Hi", stream=True)
                with pytest.raises(openai.APIConnectionError):
                    async for event in stream:
                        seen.append(event.type)
                return seen

    assert asyncio.run(run())[-1] == "response.content_part.added"
    assert fake.served == []


# -- legacy httpx (openai 1.x/2.x) -----------------------------------------------------------


def test_legacy_httpx_client_sync_and_async() -> None:
    """transport(module=httpx) serves a legacy httpx client, the cut raising httpx's error."""
    fake = FakeOpenAI(REPLY)
    http = cast(Any, httpx.Client(transport=fake.transport(module=httpx)))
    with openai.OpenAI(api_key="k", http_client=http) as client:
        done = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        fake.cut_stream_next(after=1)
        with pytest.raises(openai.APIConnectionError) as err:
            list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert done.usage.prompt_tokens == tokman.count_prompt(model="gpt-4o", messages=MESSAGES)
    assert isinstance(err.value.__cause__, httpx.RemoteProtocolError)

    async def run() -> Any:
        http = cast(Any, httpx.AsyncClient(transport=fake.transport(module=httpx)))
        async with openai.AsyncOpenAI(api_key="k", http_client=http) as client:
            return await client.responses.create(model="gpt-4o", input="Hi")

    assert asyncio.run(run()).output_text == REPLY


# -- the server and the object itself --------------------------------------------------------


def test_server_serves_concurrent_clients_and_stops() -> None:
    """Many threads at once each get their answer; every usage is served once; after the block
    the port is closed."""
    fake = FakeOpenAI(REPLY, headers={"x-ratelimit-remaining-requests": "99"})
    with fake.serve() as server, openai.OpenAI(api_key="k", base_url=server.base_url) as client:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert server.azure_endpoint == server.url and isinstance(server, FakeServer)

        def call(i: int) -> int:
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi " * i}])
            assert raw.headers["x-ratelimit-remaining-requests"] == "99"
            return raw.parse().usage.prompt_tokens

        with ThreadPoolExecutor(8) as pool:
            prompts = list(pool.map(call, range(1, 17)))
        url = server.url
    assert sorted(prompts) == sorted(s["prompt_tokens"] for s in fake.served)
    assert prompts == [tokman.count_prompt(model="gpt-4o",
                       messages=[{"role": "user", "content": "hi " * i}]) for i in range(1, 17)]
    with pytest.raises(httpx2.ConnectError):
        httpx2.post(url + "/v1/chat/completions", json={})


def test_reset_and_argument_checks() -> None:
    """reset() forgets everything; bad arguments are refused with typed errors."""
    fake = FakeOpenAI()
    fake.fail_next(429)
    fake.cut_stream_next()
    fake.handle("POST", "/v1/chat/completions", body={"model": "gpt-4o", "messages": MESSAGES})
    fake.reset()
    assert fake.requests == [] and fake.served == []
    ok = fake.handle("POST", "/v1/chat/completions",
                     body={"model": "gpt-4o", "messages": MESSAGES, "stream": True})  # fmt: skip
    assert ok.status == 200 and ok.events is not None and not ok.cut
    assert ok.events[-1] == b"data: [DONE]\n\n"
    with pytest.raises(InvalidRequestError, match="status"):
        fake.fail_next(200)
    with pytest.raises(InvalidRequestError, match="times"):
        fake.fail_next(429, times=0)
    with pytest.raises(InvalidRequestError, match="after"):
        fake.cut_stream_next(after=-1)
    with pytest.raises(InvalidRequestError, match="cached_tokens"):
        FakeOpenAI(cached_tokens=-1)
    with pytest.raises(InvalidRequestError, match="reply"):
        FakeOpenAI(reply=None)  # type: ignore[arg-type]
    with pytest.raises(UnknownModelError):
        FakeOpenAI(deployments={"d": "gpt-nope"})


def test_import_tokman_testing_loads_no_http_library() -> None:
    """`import tokman.testing` loads neither openai nor httpx/httpx2 (only transport() does)."""
    probe = ("import sys, tokman.testing; tokman.testing.FakeOpenAI(); "
             "print([m for m in ('openai', 'httpx', 'httpx2') if m in sys.modules])")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_readme_example_runs() -> None:
    """The README's "Testing your code without the internet" example runs as written."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Testing your code without the internet", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})


def test_arrival_times_and_delay() -> None:
    """Each request records when it arrived (time.monotonic); ``delay=`` slows every answer
    and is checked like any other number of seconds."""
    import time

    from tokman.errors import InvalidRequestError
    from tokman.testing import FakeOpenAI

    fake = FakeOpenAI(delay=0.05)
    before = time.monotonic()
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
    fake.handle("POST", "/v1/chat/completions", body=body)
    after = time.monotonic()
    [request] = fake.requests
    assert before <= request.arrived <= after - 0.05
    for bad in (-1, float("nan"), "1"):
        with pytest.raises(InvalidRequestError, match="delay"):
            FakeOpenAI(delay=bad)  # type: ignore[arg-type]
