"""Every fix an error message suggests works when followed literally.

Each case builds a request the API would reject, takes the error ``validate_request`` (or
``trim_messages``) raises, reads the suggested fix out of the message text (the code it shows
is evaluated as written; names and values are parsed from it), applies it and checks that the
request then passes ``validate_request``. A message whose advice does not work fails here.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

import tokman
from tokman.errors import ContextWindowExceededError, InvalidRequestError, TokmanError

SYSTEM = {"role": "system", "content": "You are terse."}
HI = [{"role": "user", "content": "Hi"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def _error(request: dict[str, Any]) -> TokmanError:
    with pytest.raises(TokmanError) as info:
        tokman.validate_request(**request)
    return info.value


def _trim_call(message: str) -> str:
    match = re.search(r"(tokman\.trim_messages\(.*?\)) and send result\.messages", message)
    assert match, message
    return match.group(1)


def _apply_trim(request: dict[str, Any], error: TokmanError) -> dict[str, Any]:
    """Evaluate the suggested ``trim_messages(...)`` call as written, send its messages."""
    scope = {"tokman": tokman, **request}
    result = eval(_trim_call(str(error)), scope)  # the message's own code, verbatim
    return {**request, "messages": result.messages}


def _history(turns: int, words: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [SYSTEM]
    for i in range(turns):
        messages.append({"role": "user", "content": f"Question {i}: " + "word " * words})
        messages.append({"role": "assistant", "content": f"Answer {i}: " + "word " * words})
    messages.append({"role": "user", "content": "And finally?"})
    return messages


CONTEXT_CASES = {
    "long history": {"model": "gpt-4", "messages": _history(12, 400), "max_tokens": 500},
    "single long message": {
        "model": "gpt-4",
        "messages": [SYSTEM, {"role": "user", "content": "word " * 9000}],
        "max_tokens": 500,
    },
    "list-content message": {
        "model": "gpt-4o-mini",
        "messages": [
            SYSTEM,
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe this. " * 30000},
                    {"type": "image_url", "image_url": {"url": "https://x.test/a.png",
                                                        "detail": "low"}},
                    {"type": "text", "text": "And this part too. " * 20000},
                ],
            },
        ],
        "max_completion_tokens": 1000,
    },
    "newest turn is a long tool result": {
        "model": "gpt-4",
        "messages": [
            *_history(2, 50),
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny " * 9000},
        ],
        "tools": [WEATHER_TOOL],
        "max_tokens": 500,
    },
    "history with tools and a named tool_choice": {
        "model": "gpt-4",
        "messages": _history(12, 400),
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "max_tokens": 500,
    },
}  # fmt: skip


@pytest.mark.parametrize("case", list(CONTEXT_CASES))
def test_context_window_trim_fix_works(case: str) -> None:
    """The trim_messages call in a ContextWindowExceededError fits the request as written."""
    request = copy.deepcopy(CONTEXT_CASES[case])
    error = _error(request)
    assert isinstance(error, ContextWindowExceededError)
    fixed = _apply_trim(request, error)
    assert tokman.validate_request(**fixed).ok


@pytest.mark.parametrize("case", list(CONTEXT_CASES))
def test_context_window_bigger_models_fit(case: str) -> None:
    """Every model named as 'a bigger window' accepts the request unchanged (a model that
    would refuse it, e.g. for needing the size of a remote image, is not named)."""
    request = CONTEXT_CASES[case]
    message = str(_error(request))
    if case == "list-content message":  # every bigger model bills this image by its size
        assert "use a model with a bigger window" not in message
        return
    _assert_bigger_models_pass(request, message)


def _assert_bigger_models_pass(request: dict[str, Any], message: str) -> None:
    listed = re.search(r"use a model with a bigger window: (.*)\.$", message)
    assert listed, message
    for name in re.findall(r"([\w.-]+) \([\d,]+\)", listed.group(1)):
        assert tokman.validate_request(**{**request, "model": name}).ok, name


LOWER_CASES = {
    "completion pushes the prompt over the window": {
        "model": "gpt-4",
        "messages": [SYSTEM, {"role": "user", "content": "word " * 7000}],
        "max_tokens": 2000,
    },
    "completion over the model's max output": {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_completion_tokens": 20_000,
    },
}


@pytest.mark.parametrize("case", list(LOWER_CASES))
def test_lowering_the_completion_limit_fits(case: str) -> None:
    """'lower max_tokens to N' / 'lower max_completion_tokens to 16,384 or less'."""
    request = LOWER_CASES[case]
    message = str(_error(request))
    match = re.search(r"lower (\w+) to ([\d,]+)", message)
    assert match, message
    fixed = {**request, match.group(1): int(match.group(2).replace(",", ""))}
    assert tokman.validate_request(**fixed).ok


def test_max_tokens_on_a_reasoning_model_fix() -> None:
    """'pass max_completion_tokens=1000 instead' (of max_tokens)."""
    request = {"model": "o3-mini", "messages": [{"role": "user", "content": "Hi"}],
               "max_tokens": 1000}  # fmt: skip
    error = _error(request)
    assert isinstance(error, InvalidRequestError) and error.field == "max_tokens"
    match = re.search(r"pass (\w+)=(\d+) instead", str(error))
    assert match, str(error)
    fixed = {k: v for k, v in request.items() if k != error.field}
    fixed[match.group(1)] = int(match.group(2))
    assert tokman.validate_request(**fixed).ok


def test_unanswered_tool_call_fix() -> None:
    """Add a tool message for each unanswered id right after the assistant message."""
    call = {"id": "call_2", "type": "function",
            "function": {"name": "get_weather", "arguments": "{}"}}  # fmt: skip
    answered = {**call, "id": "call_1"}
    messages = [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [answered, call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "user", "content": "Thanks"},
    ]
    request = {"model": "gpt-4o", "messages": messages, "tools": [WEATHER_TOOL]}
    error = _error(request)
    assert isinstance(error, InvalidRequestError)
    assert "right after the assistant message" in str(error)
    where = int(re.match(r"messages\[(\d+)\]\.tool_calls", error.field).group(1))  # type: ignore[union-attr]
    template = re.search(r"add a (\{.*?\}) message for each", str(error))
    assert template, str(error)
    answers = [
        eval(template.group(1).replace("<id>", repr(i)).replace("<result>", "'21C'"))
        for i in error.value
    ]
    fixed = {**request, "messages": messages[: where + 1] + answers + messages[where + 1 :]}
    assert tokman.validate_request(**fixed).ok


@pytest.mark.parametrize(
    ("typo", "value"), [("max_token", 100), ("temprature", 0.2), ("tool_choise", "auto")]
)
def test_unknown_keyword_fix(typo: str, value: object) -> None:
    """'Rename max_token= to max_tokens=' for a misspelt create() argument."""
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], typo: value,
               "tools": [WEATHER_TOOL]}  # fmt: skip
    error = _error(request)
    assert isinstance(error, InvalidRequestError) and error.field == typo
    match = re.search(r"Rename (\w+)= to (\w+)=", str(error))
    assert match and match.group(1) == typo, str(error)
    fixed = {k: v for k, v in request.items() if k != typo}
    fixed[match.group(2)] = value
    assert tokman.validate_request(**fixed).ok


def test_both_completion_limits_fix() -> None:
    """'remove max_tokens=' when max_completion_tokens is set too."""
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}],
               "max_completion_tokens": 100, "max_tokens": 100}  # fmt: skip
    message = str(_error(request))
    match = re.search(r"remove (\w+)=", message)
    assert match, message
    fixed = {k: v for k, v in request.items() if k != match.group(1)}
    assert tokman.validate_request(**fixed).ok


@pytest.mark.parametrize("role", ["system", "developer"])
def test_o1_mini_system_message_fix(role: str) -> None:
    """'change messages[0].role to 'user'' for a model that refuses system messages."""
    request = {"model": "o1-mini", "messages": [{"role": role, "content": "Be brief."},
                                                {"role": "user", "content": "Hi"}]}  # fmt: skip
    message = str(_error(request))
    match = re.search(r"change messages\[(\d+)\]\.role to '(\w+)'", message)
    assert match, message
    fixed = copy.deepcopy(request)
    fixed["messages"][int(match.group(1))]["role"] = match.group(2)
    assert tokman.validate_request(**fixed).ok
    for name in re.findall(r"use a model that takes them \(([^)]*)\)", message)[0].split(", "):
        assert tokman.validate_request(**{**request, "model": name}).ok


def test_tool_choice_not_in_tools_fix() -> None:
    """'name one of those' (the defined functions)."""
    choice = {"type": "function", "function": {"name": "get_wether"}}
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}],
               "tools": [WEATHER_TOOL], "tool_choice": choice}  # fmt: skip
    message = str(_error(request))
    match = re.search(r"\(defined: '([^']+)'", message)
    assert match and "name one of those" in message, message
    fixed = {**request, "tool_choice": {"type": "function", "function": {"name": match[1]}}}
    assert tokman.validate_request(**fixed).ok


def test_embedding_input_over_the_limit_fix() -> None:
    """'split it with tokman.chunk(text, ...) and embed each chunk'."""
    text = "word " * 9000
    request = {"model": "text-embedding-3-small", "input": ["short", text]}
    error = _error(request)
    assert isinstance(error, ContextWindowExceededError)
    call = re.search(r"(tokman\.chunk\(text, .*?\)) and embed each chunk", str(error))
    assert call, str(error)
    chunks = eval(call.group(1), {"tokman": tokman, "text": text})
    fixed = {**request, "input": ["short", *(c.text for c in chunks)]}
    assert tokman.validate_request(**fixed).ok


def test_trim_error_shorten_fix() -> None:
    """trim_messages' own error: 'Pass shorten='tail' ...' then fits."""
    messages = [SYSTEM, {"role": "user", "content": [{"type": "text", "text": "word " * 500}]}]
    with pytest.raises(ContextWindowExceededError) as info:
        tokman.trim_messages(messages, model="gpt-4o", max_tokens=100)
    match = re.search(r"Pass shorten='(\w+)'", str(info.value))
    assert match, str(info.value)
    result = tokman.trim_messages(messages, model="gpt-4o", max_tokens=100, shorten=match[1])  # type: ignore[arg-type]
    assert result.tokens <= 100
    assert tokman.validate_request(model="gpt-4o", messages=result.messages).ok


def test_unanswered_call_fix_in_the_responses_form() -> None:
    """The Responses wording: add a function_call_output item after the function_call."""
    items = [
        {"role": "user", "content": "Weather?"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"role": "user", "content": "Well?"},
    ]
    request = {"model": "gpt-4.1", "input": items}
    error = _error(request)
    assert isinstance(error, InvalidRequestError) and error.field == "input[1]"
    template = re.search(
        r"add a (\{.*?\}) item for each, right after the function_call", str(error)
    )
    assert template, str(error)
    answers = [
        eval(template.group(1).replace("<id>", repr(i)).replace("<result>", "'21C'"))
        for i in error.value
    ]
    fixed = {**request, "input": [*items[:2], *answers, items[2]]}
    assert tokman.validate_request(**fixed).ok


def test_unknown_argument_with_no_close_name_fix() -> None:
    """'remove it' when nothing is close; the request then passes."""
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "qqq": 1}
    error = _error(request)
    assert isinstance(error, InvalidRequestError) and "; remove it" in str(error)
    assert tokman.validate_request(**{k: v for k, v in request.items() if k != error.field}).ok


def test_stream_options_without_stream_fix() -> None:
    """'pass stream=True or remove it'."""
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}],
               "stream_options": {"include_usage": True}}  # fmt: skip
    error = _error(request)
    assert "pass stream=True or remove it" in str(error)
    assert tokman.validate_request(**{**request, "stream": True}).ok


def test_no_trim_suggested_when_the_system_prompt_alone_is_over() -> None:
    """Trimming keeps system messages, so when they alone are over it is not suggested."""
    system = {"role": "system", "content": "rule " * 9000}
    request = {"model": "gpt-4", "max_tokens": 100, "messages": [system, *HI]}
    message = str(_error(request))
    assert "trim_messages" not in message
    _assert_bigger_models_pass(request, message)
