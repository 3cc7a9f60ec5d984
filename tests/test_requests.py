"""normalize_request: one reading of chat, Responses and embeddings create() arguments."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from tokman.errors import InvalidRequestError
from tokman.requests import API_PARAMETERS, NormalizedRequest, normalize_request

HI = [{"role": "user", "content": "Hi"}]


def _fields(request: NormalizedRequest) -> list[str]:
    return [e.field for e in request.errors]


def test_chat_request_is_read_without_copying_the_messages() -> None:
    """The chat form passes its own list through; every other field is read once."""
    messages = list(HI)
    request = normalize_request(
        {"model": "gpt-4o", "messages": messages, "max_completion_tokens": 50, "n": 3,
         "stream": True, "stream_options": {"include_usage": True}, "temperature": 0.2,
         "user": "u-1"}
    )  # fmt: skip
    assert request.api == "chat" and request.model == "gpt-4o"
    assert request.messages is messages
    assert (request.completion_tokens, request.completion_param) == (50, "max_completion_tokens")
    assert (request.n, request.best_of, request.copies) == (3, None, 3)
    assert (request.stream, request.include_usage) == (True, True)
    assert request.extra == {"temperature": 0.2, "user": "u-1"}
    assert request.unknown == () and request.errors == ()


def test_stream_without_include_usage_reports_no_usage() -> None:
    """A chat stream ends with usage only when stream_options asks for it."""
    request = normalize_request({"model": "gpt-4o", "messages": HI, "stream": True})
    assert (request.stream, request.include_usage) == (True, False)
    bad = normalize_request(
        {"model": "gpt-4o", "messages": HI, "stream_options": {"include_usage": True}}
    )
    assert _fields(bad) == ["stream_options"]
    assert "only allowed with stream=True" in str(bad.errors[0])


def test_responses_request_becomes_chat_messages() -> None:
    """instructions, message/function_call/function_call_output items, flat tools, choice."""
    request = normalize_request({
        "model": "gpt-4.1",
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather?"},
                                         {"type": "input_image", "image_url": "data:x",
                                          "detail": "low"}]},
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "18C"},
        ],
        "tools": [{"type": "function", "name": "get_weather", "parameters": {}, "strict": True}],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "max_output_tokens": 200,
        "stream": True,
    })  # fmt: skip
    assert request.api == "responses" and request.errors == ()
    assert [m["role"] for m in request.messages] == ["system", "user", "assistant", "tool"]
    assert request.messages[1]["content"] == [
        {"type": "text", "text": "Weather?"},
        {"type": "image_url", "image_url": {"url": "data:x", "detail": "low"}},
    ]
    assert [c["id"] for c in request.messages[2]["tool_calls"]] == ["c1", "c2"]
    assert request.messages[3] == {"role": "tool", "tool_call_id": "c1", "content": "18C"}
    assert request.tools == [
        {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    ]
    assert request.tool_choice == {"type": "function", "function": {"name": "get_weather"}}
    assert (request.completion_tokens, request.completion_param) == (200, "max_output_tokens")
    assert request.include_usage  # a Responses stream always ends with response.completed


def test_string_input_is_one_user_message() -> None:
    """input='...' is a user message; instructions come first as a system message."""
    request = normalize_request({"model": "gpt-4o", "input": "Hi", "instructions": "Be kind."})
    assert list(request.messages) == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Hi"},
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("messages[0].content", "instructions"),
        ("messages[1].content[0].text", "input[0].content[0].text"),
        ("messages[1].content[1].image_url.url", "input[0].content[1].image_url"),
        ("messages[1].content[1].image_url.detail", "input[0].content[1].detail"),
        ("messages[2].tool_calls[1].function.name", "input[2].name"),
        ("messages[2].tool_calls[0].function.arguments", "input[1].arguments"),
        ("messages[2].tool_calls[1].id", "input[2].call_id"),
        ("messages[3].tool_call_id", "input[3].call_id"),
        ("messages[3].content", "input[3].output"),
        ("tools[0].function.name", "tools[0].name"),
        ("messages", "input"),
    ],
)
def test_chat_paths_map_back_to_the_responses_request(path: str, expected: str) -> None:
    """An error found in the converted messages names the field the caller wrote."""
    request = normalize_request({
        "model": "gpt-4.1",
        "instructions": "x",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "a"},
                                         {"type": "input_image", "image_url": "u"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "r"},
        ],
        "tools": [{"type": "function", "name": "f", "parameters": {}}],
    })  # fmt: skip
    assert request.request_path(path) == expected


def test_malformed_responses_input_names_the_item() -> None:
    """Unsupported items and parts are prompt errors with the request's path."""
    bad_item = normalize_request({"model": "gpt-4.1", "input": [{"type": "reasoning"}]})
    assert _fields(bad_item) == ["input[0].type"] and bad_item.prompt_errors
    bad_part = normalize_request(
        {"model": "gpt-4.1", "input": [{"role": "user", "content": [{"type": "input_file"}]}]}
    )
    assert _fields(bad_part) == ["input[0].content[0].type"]
    for junk in ([], None, 5, [5]):
        assert normalize_request(
            {"model": "gpt-4.1", "input": junk}, model_kind="chat"
        ).prompt_errors


@pytest.mark.parametrize(
    ("given", "inputs", "paths"),
    [
        ("hello", ("hello",), ("input",)),
        (["a", "b"], ("a", "b"), ("input[0]", "input[1]")),
        ([1, 2, 3], ([1, 2, 3],), ("input",)),
        ([[1, 2], [3]], ([1, 2], [3]), ("input[0]", "input[1]")),
    ],
)
def test_embeddings_input_forms(
    given: Any, inputs: tuple[Any, ...], paths: tuple[str, ...]
) -> None:
    """str | list[str] | list[int] | list[list[int]], each with its request path."""
    request = normalize_request(
        {"model": "text-embedding-3-small", "input": given, "dimensions": 256},
        model_kind="embedding",
    )
    assert request.api == "embeddings" and request.errors == ()
    assert request.inputs == inputs and request.sources == paths
    assert request.extra == {"dimensions": 256}


@pytest.mark.parametrize(
    ("given", "field"),
    [("", "input"), (["ok", ""], "input[1]"), ([[1, -2]], "input[0]"), ([], "input"),
     (None, "input"), ([True], "input[0]"), ([["a"]], "input[0]")],
)  # fmt: skip
def test_embeddings_input_that_cannot_be_read(given: Any, field: str) -> None:
    """Empty strings, negative or bool ids, nothing at all: an error naming the input."""
    request = normalize_request({"model": "m", "input": given}, api="embeddings")
    assert field in _fields(request)


def test_embeddings_model_given_chat_messages() -> None:
    """Chat messages for an embeddings model: one error saying to pass input=."""
    request = normalize_request(
        {"model": "text-embedding-3-small", "messages": HI}, model_kind="embedding"
    )
    assert _fields(request) == ["messages"]
    assert "this is an embeddings model: pass input=" in str(request.errors[0])


def test_api_is_inferred_from_the_shape() -> None:
    """messages= is chat, input= is Responses unless it is token ids or the model embeds."""
    assert normalize_request({"model": "m", "messages": HI}).api == "chat"
    assert normalize_request({"model": "m", "input": "x"}).api == "responses"
    assert normalize_request({"model": "m", "input": [[1, 2]]}).api == "embeddings"
    assert normalize_request({"model": "m", "input": "x"}, model_kind="embedding").api == (
        "embeddings"
    )
    assert normalize_request({"model": "m", "input": [1]}, model_kind="chat").api == "responses"


def test_unknown_arguments_get_the_closest_real_name() -> None:
    """A typo is an error naming the parameter and what it was probably meant to be."""
    request = normalize_request({"model": "gpt-4o", "messages": HI, "max_token": 100})
    assert request.unknown == ("max_token",) and request.extra == {"max_token": 100}
    assert str(request.errors[0]) == (
        "max_token=100 is invalid: client.chat.completions.create() has no max_token "
        "parameter; did you mean max_tokens? Rename max_token= to max_tokens= (other close "
        "names: max_completion_tokens)"
    )
    nothing_close = normalize_request({"model": "gpt-4o", "messages": HI, "zzz": 1})
    assert "remove it (to send a provider-specific field, put it in extra_body)" in str(
        nothing_close.errors[0]
    )


def test_parameters_of_another_api_are_renamed() -> None:
    """max_tokens on a Responses request, input= on a chat one: the right name is given."""
    responses = normalize_request({"model": "gpt-4o", "input": "x", "max_tokens": 5})
    assert "use max_output_tokens" in str(responses.errors[0])
    assert responses.limit_errors and responses.completion_tokens is None
    chat = normalize_request({"model": "gpt-4o", "messages": HI, "max_output_tokens": 5})
    assert "use max_completion_tokens" in str(chat.errors[0]) and chat.limit_errors


def test_two_completion_limits_are_an_error() -> None:
    """max_tokens with max_completion_tokens: the current one is used, the other flagged."""
    request = normalize_request(
        {"model": "gpt-4o", "messages": HI, "max_tokens": 10, "max_completion_tokens": 20}
    )
    assert (request.completion_tokens, request.completion_param) == (20, "max_completion_tokens")
    assert _fields(request) == ["max_tokens"]
    assert "remove max_tokens=" in str(request.errors[0])


@pytest.mark.parametrize("value", [0, -1, 1.5, "10", True, float("nan"), float("inf"), None])
def test_numbers_must_be_positive_integers(value: object) -> None:
    """n, best_of and limits: bools, floats, NaN, strings and <1 are refused, never 0."""
    request = normalize_request(
        {"model": "gpt-4o", "messages": HI, "n": value, "max_tokens": value, "best_of": value}
    )
    if value is None:
        assert request.errors[0].field == "best_of"  # not a chat parameter
    else:
        assert {"n", "max_tokens", "best_of"} <= set(_fields(request))
        assert (request.n, request.completion_tokens) == (1, None)


def test_never_raises_on_junk() -> None:
    """Bad input is reported, not raised; a non-mapping request is one error."""
    assert _fields(normalize_request(None)) == ["request"]  # type: ignore[arg-type]
    request = normalize_request({"model": 5, "messages": "hi", "stream": "yes"})
    assert _fields(request) == ["model", "messages", "stream"]
    assert all(isinstance(e, InvalidRequestError) for e in request.errors)


openai = pytest.importorskip("openai")


@pytest.mark.parametrize(
    ("api", "method"),
    [
        ("chat", "openai.resources.chat.completions.Completions.create"),
        ("responses", "openai.resources.responses.Responses.create"),
        ("embeddings", "openai.resources.embeddings.Embeddings.create"),
    ],
)
def test_known_parameters_are_the_sdks(api: str, method: str) -> None:
    """API_PARAMETERS is the installed SDK's create() signature, plus tokman's image_sizes."""
    import importlib

    module, cls, name = method.rsplit(".", 2)
    create = getattr(getattr(importlib.import_module(module), cls), name)
    sdk = set(inspect.signature(create).parameters) - {"self"}
    ours = set(API_PARAMETERS[api]) - {"image_sizes"}  # type: ignore[index]
    assert ours == sdk
