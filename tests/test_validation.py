"""validate_request / check_request: limits, parameter rules and well-formed messages."""

from __future__ import annotations

from typing import Any

import pytest

import tokman
from tokman.errors import ContextWindowExceededError, InvalidRequestError, UnknownModelError

SYSTEM = {"role": "system", "content": "You are terse."}
LONG_USER = {"role": "user", "content": "word " * 9000}  # 9,002 tokens of text on cl100k


def _call(call_id: str, name: str = "get_weather") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


def test_a_request_that_fits_reports_its_numbers() -> None:
    """A fitting request passes and says how much room is left."""
    check = tokman.validate_request(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], max_completion_tokens=100,
        temperature=0.2,
    )  # fmt: skip
    assert check.ok
    assert check.prompt_tokens == tokman.count_prompt(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}]
    )
    assert check.completion_tokens == 100
    assert check.completion_param == "max_completion_tokens"
    assert check.context_window == 128_000
    assert check.max_output_tokens == 16_384
    assert check.remaining == 16_384
    assert check.total_tokens == check.prompt_tokens + 100


def test_over_the_context_window_raises_with_breakdown_and_fixes() -> None:
    """Prompt + completion over the window: the message gives the numbers and what to do."""
    request = {"model": "gpt-4", "messages": [SYSTEM, LONG_USER], "max_tokens": 500}
    with pytest.raises(ContextWindowExceededError) as info:
        tokman.validate_request(**request)
    error = info.value
    assert (error.tokens, error.limit, error.over_by) == (9_516, 8_192, 1_324)
    assert error.breakdown.total == 9_016
    assert str(error) == EXPECTED_GPT4_MESSAGE


# shorten='tail': the only message is too long to fit by dropping turns; no o1: it refuses
# max_tokens=, so "use o1" would not work as written (tests/test_suggested_fixes.py)
EXPECTED_GPT4_MESSAGE = (
    "Request for gpt-4 does not fit: 9,016 prompt tokens + 500 completion tokens (max_tokens) "
    "= 9,516 tokens, over the 8,192-token context window by 1,324.\n"
    "Prompt: system 5, tools 0, images 0, history 9,002 in 1 message, overhead 9.\n"
    "To fix: trim the history to 7,692 tokens with tokman.trim_messages(messages, "
    "model='gpt-4', max_tokens=7692, shorten='tail') and send result.messages; or split long "
    "documents with tokman.chunk; or use a model with a bigger window: gpt-4-32k (32,768), "
    "gpt-4-turbo (128,000), gpt-4o (128,000)."
)


def test_prompt_fits_but_completion_does_not_suggests_lowering_it() -> None:
    """When the prompt alone fits, the fix names the largest completion that would."""
    prompt = tokman.count_prompt(
        model="gpt-4", messages=[SYSTEM, {"role": "user", "content": "word " * 7000}]
    )
    check = tokman.check_request(
        model="gpt-4",
        messages=[SYSTEM, {"role": "user", "content": "word " * 7000}],
        max_tokens=2_000,
    )
    assert not check.ok
    [problem] = check.problems
    assert problem.kind == "context_window"
    assert f"lower max_tokens to {8_192 - prompt:,}" in problem.message
    assert check.remaining == 8_192 - prompt


def test_non_raising_form_returns_the_same_facts() -> None:
    """check_request collects every problem with the error validate_request would raise."""
    check = tokman.check_request(model="gpt-4", messages=[SYSTEM, LONG_USER], max_tokens=500)
    assert not check.ok
    assert check.prompt_tokens == 9_016
    assert isinstance(check.problems[0].error, ContextWindowExceededError)
    with pytest.raises(ContextWindowExceededError):
        check.raise_for_problems()


def test_reasoning_models_accept_only_max_completion_tokens() -> None:
    """o-series and gpt-5 reject max_tokens; the error says which parameter to use."""
    with pytest.raises(InvalidRequestError) as info:
        tokman.validate_request(
            model="o1", messages=[{"role": "user", "content": "Hi"}], max_tokens=1000
        )
    assert str(info.value) == (
        "max_tokens=1000 is invalid: o1 is a reasoning model and accepts only "
        "max_completion_tokens (its limit includes the hidden reasoning tokens); pass "
        "max_completion_tokens=1000 instead"
    )
    assert tokman.validate_request(
        model="gpt-5-mini", messages=[{"role": "user", "content": "Hi"}],
        max_completion_tokens=1000,
    ).ok  # fmt: skip


def test_completion_over_the_models_max_output_is_invalid() -> None:
    """Asking for more completion tokens than the model can return is refused."""
    with pytest.raises(InvalidRequestError) as info:
        tokman.validate_request(
            model="gpt-4o", messages=[{"role": "user", "content": "Hi"}],
            max_completion_tokens=20_000,
        )  # fmt: skip
    assert str(info.value) == (
        "max_completion_tokens=20000 is invalid: gpt-4o returns at most 16,384 completion "
        "tokens; lower max_completion_tokens to 16,384 or less"
    )


@pytest.mark.parametrize("value", [0, -5, 1.5, "100", True])
def test_completion_tokens_must_be_a_positive_integer(value: object) -> None:
    """A malformed max_completion_tokens names the field and the expected type."""
    with pytest.raises(InvalidRequestError, match="expected a positive integer number of tokens"):
        tokman.validate_request(
            model="gpt-4o", messages=[{"role": "user", "content": "Hi"}],
            max_completion_tokens=value,
        )  # fmt: skip


def test_unanswered_tool_call_is_invalid_word_for_word() -> None:
    """Every assistant tool call must be answered by a tool message before the next turn."""
    messages = [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [_call("call_1"), _call("call_2")]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "user", "content": "Thanks"},
    ]
    with pytest.raises(InvalidRequestError) as info:
        tokman.validate_request(model="gpt-4o", messages=messages)
    assert str(info.value) == (
        "messages[1].tool_calls=['call_2'] is invalid: these tool calls have no tool message "
        "answering them before messages[3]; add a {'role': 'tool', 'tool_call_id': <id>, "
        "'content': <result>} message for each, right after the assistant message"
    )


def test_tool_message_without_its_call_is_invalid() -> None:
    """A tool message must answer a call made by the assistant message before it."""
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "tool", "tool_call_id": "call_9", "content": "x"},
    ]
    check = tokman.check_request(model="gpt-4o", messages=messages)
    assert [p.field for p in check.problems] == ["messages[1].tool_call_id"]
    assert "no assistant message right before it made a tool call with this id" in (
        check.problems[0].message
    )


def test_complete_tool_chain_is_valid() -> None:
    """An answered tool call chain passes and is counted."""
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [_call("call_1")]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "assistant", "content": "18C in Paris."},
    ]
    assert tokman.validate_request(model="gpt-4o", messages=messages).prompt_tokens > 20


@pytest.mark.parametrize(
    ("request_kwargs", "field"),
    [
        ({"messages": [{"role": "user", "content": "Hi"}]}, "model"),
        ({"model": "gpt-4o", "messages": []}, "messages"),
        ({"model": "gpt-4o"}, "messages"),
        ({"model": "gpt-4o", "messages": [{"role": "robot", "content": "Hi"}]}, "messages[0].role"),
    ],
)
def test_missing_or_malformed_fields_name_the_field(
    request_kwargs: dict[str, Any], field: str
) -> None:
    """Required fields present and well-typed, else an InvalidRequestError naming the field."""
    with pytest.raises(InvalidRequestError) as info:
        tokman.validate_request(**request_kwargs)
    assert info.value.field == field


def test_unknown_model_is_reported() -> None:
    """An unknown model is an UnknownModelError, not a guess."""
    with pytest.raises(UnknownModelError):
        tokman.validate_request(model="gpt-9", messages=[{"role": "user", "content": "Hi"}])


def test_responses_api_form() -> None:
    """input=/instructions=/max_output_tokens= are checked like the chat form."""
    check = tokman.validate_request(
        model="gpt-4.1", instructions="Be brief.", input="Hello there", max_output_tokens=500
    )
    chat = tokman.count_prompt(
        model="gpt-4.1",
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "Hello there"}],
    )  # fmt: skip
    assert check.api == "responses"
    assert check.prompt_tokens == chat
    assert check.completion_param == "max_output_tokens"
    assert check.prompt is not None and check.prompt.uncertain
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "18C"},
    ]
    assert tokman.check_request(model="gpt-4.1", input=items).ok
    with pytest.raises(InvalidRequestError) as info:
        tokman.validate_request(model="gpt-4.1", input=[{"type": "reasoning", "summary": []}])
    assert info.value.field == "input[0].type"
