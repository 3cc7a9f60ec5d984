"""tokman.usage: the one reader of API usage (every shape), and its refusal to guess."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from openai.types import CompletionUsage
from openai.types.completion_usage import CompletionTokensDetails, PromptTokensDetails
from openai.types.create_embedding_response import Usage as EmbeddingUsage
from openai.types.responses import ResponseUsage
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from tokman import pricing, usage
from tokman.errors import InvalidRequestError
from tokman.testing import batch_line, fake_response
from tokman.usage import Usage, read_response, read_usage


def test_chat_usage_sdk_object_with_every_detail() -> None:
    """Chat CompletionUsage: prompt, completion, cached, cache-write and reasoning parts."""
    u = CompletionUsage(
        prompt_tokens=1566,
        completion_tokens=1843,
        total_tokens=3409,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=1408, cache_write_tokens=100),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=448),
    )
    assert read_usage(u) == Usage(1566, 1843, 1408, 448, 100)
    assert read_usage(u).total_tokens == 3409


def test_responses_usage_with_cache_writes() -> None:
    """Responses ResponseUsage: input/output tokens and their details, cache writes included."""
    u = ResponseUsage(
        input_tokens=50_000,
        input_tokens_details=InputTokensDetails(cached_tokens=40_000, cache_write_tokens=8_000),
        output_tokens=2_000,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=1_500),
        total_tokens=52_000,
    )
    assert read_usage(u) == Usage(50_000, 2_000, 40_000, 1_500, 8_000)


def test_embeddings_usage_has_no_completion() -> None:
    """Embeddings usage (prompt and total only) is prompt tokens and zero completion."""
    assert read_usage(EmbeddingUsage(prompt_tokens=8, total_tokens=8)) == Usage(8, 0)


def test_whole_responses_report_id_model_and_operation() -> None:
    """A response object or dict gives its id, model and the operation its `object` names."""
    chat = SimpleNamespace(
        id="chatcmpl-1",
        object="chat.completion",
        model="gpt-4o-2024-08-06",
        usage=SimpleNamespace(prompt_tokens=5, completion_tokens=2),
    )
    r = read_response(chat)
    assert (r.id, r.model, r.operation, r.usage, r.estimated) == (
        "chatcmpl-1",
        "gpt-4o-2024-08-06",
        "chat",
        Usage(5, 2),
        False,
    )
    resp = read_response(fake_response("responses", model="gpt-5", prompt_tokens=9, id="resp_9"))
    assert (resp.id, resp.operation, resp.usage.prompt_tokens) == ("resp_9", "responses", 9)
    emb = read_response(fake_response("embeddings", prompt_tokens=4))
    assert (emb.id, emb.operation, emb.usage) == (None, "embeddings", Usage(4, 0))
    assert read_response({"prompt_tokens": 3, "completion_tokens": 1}).operation is None


def test_responses_stream_final_event() -> None:
    """A Responses stream's response.completed event carries the whole response and usage."""
    event = {
        "type": "response.completed",
        "response": fake_response("responses", prompt_tokens=7, completion_tokens=3, id="r"),
    }
    r = read_response(event)
    assert (r.id, r.usage.total_tokens, r.operation) == ("r", 10, "responses")


def test_batch_result_lines() -> None:
    """A Batch API output line is read through response.body; a failed line is an error."""
    body = fake_response(prompt_tokens=100, completion_tokens=20, cached_tokens=64, id="chatcmpl-b")
    r = read_response(batch_line(body, custom_id="task-7"))
    assert (r.id, r.operation, r.usage) == ("chatcmpl-b", "batch", Usage(100, 20, 64))
    with pytest.raises(InvalidRequestError, match="task-8") as caught:
        read_response(batch_line(body, custom_id="task-8", status_code=400))
    assert caught.value.field == "response.status_code"


@pytest.mark.parametrize(
    "response",
    [
        None,
        {},
        {"id": "chatcmpl-s", "object": "chat.completion", "usage": None},
        {"id": "chatcmpl-e", "object": "chat.completion", "usage": {}},
        SimpleNamespace(id="x", model="gpt-4o", usage=None),
    ],
)
def test_missing_usage_is_an_error_that_says_how_to_get_it(response: Any) -> None:
    """No usage (e.g. a stream without include_usage) raises; it is never read as zero tokens."""
    with pytest.raises(InvalidRequestError) as caught:
        read_response(response)
    assert caught.value.field == "usage"
    assert "include_usage" in str(caught.value) and "estimate" in str(caught.value)
    with pytest.raises(InvalidRequestError, match="include_usage"):
        pricing.cost(response, model="gpt-4o")


def test_an_estimate_is_used_only_when_asked_and_only_without_usage() -> None:
    """estimate= fills in a response without usage (estimated=True); real usage always wins."""
    streamed = fake_response(usage=False, id="chatcmpl-s")
    r = read_response(streamed, estimate={"prompt_tokens": 40, "completion_tokens": 12})
    assert (r.id, r.usage, r.estimated) == ("chatcmpl-s", Usage(40, 12), True)
    assert read_response(None, estimate=Usage(3, 4, 1)).usage == Usage(3, 4, 1)
    real = read_response(fake_response(prompt_tokens=5), estimate={"prompt_tokens": 99})
    assert (real.usage.prompt_tokens, real.estimated) == (5, False)
    with pytest.raises(InvalidRequestError, match=r"usage\.prompt_tokens"):
        read_response(None, estimate={"prompt_tokens": -1})


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"completion_tokens": 5}, "usage"),
        ({"total_tokens": 5}, "usage"),
        ({"prompt_tokens": "5"}, "usage.prompt_tokens"),
        ({"input_tokens": 5, "output_tokens": 1.0}, "usage.output_tokens"),
        (
            {"input_tokens": 5, "input_tokens_details": {"cache_write_tokens": 6}},
            "usage.input_tokens_details.cache_write_tokens",
        ),
        (
            {
                "input_tokens": 5,
                "output_tokens": 1,
                "output_tokens_details": {"reasoning_tokens": 2},
            },
            "usage.output_tokens_details.reasoning_tokens",
        ),
    ],
)
def test_bad_counts_name_the_field(raw: dict[str, Any], field: str) -> None:
    """Counts that are missing, of the wrong type or larger than their total name the field."""
    with pytest.raises(InvalidRequestError) as caught:
        read_usage(raw)
    assert caught.value.field == field


def test_pricing_reads_usage_here() -> None:
    """pricing.read_usage / pricing.Usage are this module's (one parser, old names kept)."""
    assert pricing.read_usage is usage.read_usage and pricing.Usage is usage.Usage
