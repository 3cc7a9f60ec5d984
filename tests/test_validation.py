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


# -- issue 9 #6: check_request never raises --------------------------------------------------


def test_embeddings_model_is_checked_as_an_embeddings_request() -> None:
    """An embeddings model: each input counted and checked against the model's input limit."""
    check = tokman.check_request(model="text-embedding-3-small", input=["hello world", "hi"])
    assert check.ok and check.api == "embeddings"
    assert check.input_tokens == (2, 1) and check.prompt_tokens == check.total_tokens == 3
    assert check.prompt is None and check.remaining is None
    over = tokman.check_request(model="text-embedding-3-small", input=["ok", "word " * 9000])
    [problem] = over.problems
    assert (problem.kind, problem.field) == ("context_window", "input[1]")
    assert isinstance(problem.error, ContextWindowExceededError)
    tokens = tokman.count("word " * 9000, model="text-embedding-3-small")
    assert (problem.error.tokens, problem.error.limit) == (tokens, 8_191) and tokens > 8_191
    ids = tokman.check_request(model="text-embedding-3-small", input=[[1, 2, 3], [4]])
    assert ids.ok and ids.input_tokens == (3, 1)


def test_embeddings_model_given_chat_messages_is_a_problem() -> None:
    """Chat messages for an embeddings model: a problem saying to pass input=, no raise."""
    check = tokman.check_request(model="text-embedding-3-small", messages=[SYSTEM])
    [problem] = check.problems
    assert problem.field == "messages"
    assert "this is an embeddings model: pass input=" in problem.message


@pytest.mark.parametrize("model", ["text-davinci-003", "gpt-3.5-turbo-instruct", "babbage-002"])
def test_legacy_completions_model_is_a_problem(model: str) -> None:
    """A Completions-only model: a clear problem (not a suggestion to register it)."""
    check = tokman.check_request(model=model, messages=[{"role": "user", "content": "Hi"}])
    [problem] = check.problems
    assert problem.field == "model"
    assert f"{model} is a legacy Completions model" in problem.message
    assert "register" not in problem.message


@pytest.mark.parametrize(
    ("request_kwargs", "field"),
    [
        ({"messages": [{"role": "user", "content": "\ud800"}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": "a\udfff"}]}]},
         "messages[0].content[0].text"),
        ({"input": [{"role": "user", "content": [{"type": "input_text", "text": "\ud800"}]}]},
         "input[0].content[0].text"),
        ({"instructions": "\ud800", "input": "hi"}, "instructions"),
        ({"messages": [{"role": "user", "content": "hi"}],
          "tools": [{"type": "function", "function": {"name": "f", "parameters": {
              "type": "object", "properties": {"\ud800": {"type": "string"}}}}}]},
         "tools[0].function.parameters.properties"),
    ],
)  # fmt: skip
def test_lone_surrogate_is_a_problem_naming_the_field(
    request_kwargs: dict[str, Any], field: str
) -> None:
    """Text that is not valid UTF-8: an InvalidRequestError naming the field and the fix."""
    check = tokman.check_request(model="gpt-4o", **request_kwargs)
    [problem] = check.problems
    assert problem.field == field and isinstance(problem.error, InvalidRequestError)
    assert "not valid UTF-8" in problem.message
    assert "text.encode('utf-8', 'replace').decode('utf-8')" in problem.message


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [["nested"]]}]},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": ["x"]}]}]},
        {"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": True}]},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "tools": 5},
        {"model": "gpt-4o", "input": "hi", "tools": 5},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "n": float("nan")},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
         "max_completion_tokens": float("inf")},
        {"model": "text-embedding-3-small", "input": [{"x": 1}]},
        {"model": ["gpt-4o"], "messages": []},
        {"model": "\ud800", "messages": []},
    ],
)  # fmt: skip
def test_check_request_never_raises(request_kwargs: dict[str, Any]) -> None:
    """Junk anywhere in the request is a problem on the check, never an exception."""
    check = tokman.check_request(**request_kwargs)
    assert not check.ok
    assert all(isinstance(p.error, InvalidRequestError | UnknownModelError) for p in check.problems)


# -- issue 10: wrong input that used to pass ------------------------------------------------


def test_misspelt_argument_is_a_problem_with_a_suggestion() -> None:
    """max_token= is not a parameter: the API would reject it, so the check does too."""
    check = tokman.check_request(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], max_token=100
    )
    [problem] = check.problems
    assert problem.field == "max_token"
    assert "did you mean max_tokens? Rename max_token= to max_tokens=" in problem.message
    assert check.prompt_tokens == 8  # still counted


def test_count_prompt_stays_lenient_about_misspelt_arguments() -> None:
    """Counting only reads the prompt: a typo elsewhere changes nothing (the check flags it)."""
    messages = [{"role": "user", "content": "Hi"}]
    assert tokman.count_prompt(model="gpt-4o", messages=messages, max_token=100) == 8


def test_both_completion_limits_is_a_problem() -> None:
    """max_tokens and max_completion_tokens together: the API refuses; one must go."""
    check = tokman.check_request(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], max_tokens=100,
        max_completion_tokens=100,
    )  # fmt: skip
    assert [p.field for p in check.problems] == ["max_tokens"]
    assert check.completion_param == "max_completion_tokens"


def test_tool_choice_must_name_a_defined_function() -> None:
    """A named tool_choice (chat or Responses form) must be one of the tools."""
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    check = tokman.check_request(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], tools=[tool],
        tool_choice={"type": "function", "function": {"name": "get_wether"}},
    )  # fmt: skip
    [problem] = check.problems
    assert problem.field == "tool_choice"
    assert "'get_wether', which is not defined in tools (defined: 'get_weather')" in (
        problem.message
    )
    responses = tokman.check_request(
        model="gpt-4o", input="Hi", tools=[{"type": "function", "name": "a", "parameters": {}}],
        tool_choice={"type": "function", "name": "b"},
    )  # fmt: skip
    assert [p.field for p in responses.problems] == ["tool_choice"]
    legacy = tokman.check_request(
        model="gpt-3.5-turbo", messages=[{"role": "user", "content": "Hi"}],
        functions=[{"name": "a", "parameters": {}}], function_call={"name": "b"},
    )  # fmt: skip
    assert [p.field for p in legacy.problems] == ["function_call"]


@pytest.mark.parametrize("role", ["system", "developer"])
def test_o1_mini_refuses_system_messages(role: str) -> None:
    """o1-mini answers 400 to a system or developer message; o1 and o3-mini take them."""
    messages = [{"role": role, "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    check = tokman.check_request(model="o1-mini", messages=messages)
    assert [p.field for p in check.problems] == ["messages[0].role"]
    assert f"o1-mini does not accept {role} messages" in check.problems[0].message
    for model in ("o1", "o3-mini", "gpt-4o"):
        assert tokman.check_request(model=model, messages=messages).ok


def test_responses_errors_name_the_responses_fields() -> None:
    """Problems in converted input items name input[...] fields, not messages[...]."""
    items = [
        {"role": "user", "content": "Weather?"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c9", "output": "18C"},
    ]
    check = tokman.check_request(model="gpt-4.1", input=items)
    assert [p.field for p in check.problems] == ["input[2].call_id", "input[1]"]
    assert check.problems[1].message == (
        "input[1]=['c1'] is invalid: these tool calls have no output answering them at the end "
        "of input; add a {'type': 'function_call_output', 'call_id': <id>, 'output': <result>} "
        "item for each, right after the function_call items"
    )
    bad = tokman.check_request(
        model="gpt-4.1",
        input=[{"type": "function_call", "call_id": "c1", "name": 5, "arguments": "{}"},
               {"type": "function_call_output", "call_id": "c1", "output": "x"}],
    )  # fmt: skip
    assert [p.field for p in bad.problems] == ["input[0].name"]


def test_responses_form_rejects_chat_only_parameters() -> None:
    """max_tokens on a Responses request: the check says max_output_tokens."""
    check = tokman.check_request(model="gpt-4.1", input="Hi", max_tokens=100)
    [problem] = check.problems
    assert problem.field == "max_tokens" and "use max_output_tokens" in problem.message


def test_system_message_rule_comes_from_the_registry() -> None:
    """system_messages=False in the registry (o1-mini, or a registration) refuses system roles."""
    from tokman import models

    assert models.get("o1-mini").system_messages is False
    assert models.get("o1").system_messages is True
    models.register("acme-reasoner", encoding="o200k_base", context_window=8_000,
                    family="o1-mini", reasoning=True, system_messages=False)  # fmt: skip
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    check = tokman.check_request(model="acme-reasoner", messages=messages)
    assert [p.field for p in check.problems] == ["messages[0].role"]
    assert tokman.check_request(model="acme-reasoner", messages=messages[1:]).ok
