"""trim_messages: budgets, pinned system messages, atomic tool-call groups, shortening."""

from __future__ import annotations

from typing import Any

import pytest

import tokman
from tokman.errors import ContextWindowExceededError, InvalidRequestError
from tokman.fitting import TrimResult, trim_messages

MODEL = "gpt-4o"


def call(call_id: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function",
            "function": {"name": "lookup", "arguments": '{"q": "weather"}'}}


HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the weather in Paris and Rome? " * 5},
    {"role": "assistant", "content": None, "tool_calls": [call("call_a"), call("call_b")]},
    {"role": "tool", "tool_call_id": "call_a", "content": "Paris: sunny, 21C. " * 5},
    {"role": "tool", "tool_call_id": "call_b", "content": "Rome: cloudy, 18C. " * 5},
    {"role": "assistant", "content": "Paris is sunny and Rome is cloudy."},
    {"role": "user", "content": "And tomorrow?"},
]


def prompt(messages: list[Any]) -> int:
    return tokman.count_prompt(model=MODEL, messages=messages)


def test_everything_fits_nothing_removed() -> None:
    """A history under budget comes back unchanged, with its exact prompt count."""
    result = trim_messages(HISTORY, model=MODEL, max_tokens=10_000)
    assert result == TrimResult(list(HISTORY), [], prompt(HISTORY), None)


def test_tool_call_group_is_dropped_whole() -> None:
    """At every budget the result never keeps a tool answer without its call, or the reverse."""
    full = prompt(HISTORY)
    for budget in range(prompt([HISTORY[0], HISTORY[-1]]), full + 1):
        result = trim_messages(HISTORY, model=MODEL, max_tokens=budget)
        assert result.tokens == prompt(result.messages) <= budget
        kept = [id(m) for m in result.messages]
        call_kept = id(HISTORY[2]) in kept
        assert (id(HISTORY[3]) in kept) == call_kept == (id(HISTORY[4]) in kept)
        assert result.messages[0] is HISTORY[0] and result.messages[-1] is HISTORY[-1]
        assert len(result.messages) + len(result.removed) == len(HISTORY)


def test_oldest_turns_go_first() -> None:
    """Just under the full count, only the oldest user turn is removed."""
    budget = prompt(HISTORY) - 1
    result = trim_messages(HISTORY, model=MODEL, max_tokens=budget)
    assert result.removed == [HISTORY[1]]
    assert result.messages == [HISTORY[0], *HISTORY[2:]]


def test_tools_count_against_the_budget() -> None:
    """Tool definitions are part of the prompt, so they push more history out."""
    tools = [{"type": "function", "function": {
        "name": "lookup", "description": "Look up the weather for a city " * 4,
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]
    budget = prompt(HISTORY) - 1
    without = trim_messages(HISTORY, model=MODEL, max_tokens=budget)
    with_tools = trim_messages(HISTORY, model=MODEL, max_tokens=budget, tools=tools)
    assert len(with_tools.removed) > len(without.removed)
    assert with_tools.tokens == tokman.count_prompt(
        model=MODEL, messages=with_tools.messages, tools=tools) <= budget


def test_shortening_keeps_the_head_or_tail_of_the_newest_message() -> None:
    """With ``shorten``, an oversized newest message is cut to fit instead of failing."""
    history = [{"role": "system", "content": "Summarise."},
               {"role": "user", "content": "First sentence here. " * 200 + "The end."}]
    head = trim_messages(history, model=MODEL, max_tokens=60, shorten="head")
    tail = trim_messages(history, model=MODEL, max_tokens=60, shorten="tail")
    for result in (head, tail):
        assert result.tokens == prompt(result.messages) <= 60
        assert result.shortened == 1 and result.removed == []
    assert history[1]["content"].startswith(head.messages[1]["content"])
    assert history[1]["content"].endswith(tail.messages[1]["content"])
    assert tail.messages[1]["content"].endswith("The end.")


def test_too_small_even_for_the_minimum() -> None:
    """When the system prompt and the newest turn's framing alone exceed the budget, the error
    says so and does not suggest shortening, which could not help (it would fail too)."""
    with pytest.raises(ContextWindowExceededError) as info:
        trim_messages(HISTORY, model=MODEL, max_tokens=10)
    minimum = prompt([HISTORY[0], HISTORY[-1]])
    floor = prompt([HISTORY[0], {**HISTORY[-1], "content": ""}])
    assert info.value.tokens == minimum and info.value.limit == 10
    assert str(info.value) == (
        f"The messages need at least {minimum} tokens even after removing every older turn "
        "(kept: 1 system/developer message(s) and the newest 1-message turn), but max_tokens "
        f"is 10: {minimum - 10} over. Cutting the newest message cannot help: without its text "
        f"the request still needs {floor} tokens. Shorten the system/developer messages or the "
        "tools, or raise max_tokens (use a model with a larger context window)."
    )
    for keep in ("head", "tail"):
        with pytest.raises(ContextWindowExceededError):
            trim_messages(HISTORY, model=MODEL, max_tokens=10, shorten=keep)  # type: ignore[arg-type]


def test_error_suggests_shorten_only_when_it_works() -> None:
    """One long newest message: the error names shorten=, and passing it then fits."""
    history = [{"role": "system", "content": "Summarise."},
               {"role": "user", "content": "Long text here. " * 300}]
    with pytest.raises(ContextWindowExceededError) as info:
        trim_messages(history, model=MODEL, max_tokens=50)
    assert "Pass shorten='tail' or shorten='head' to cut the newest message to fit" in str(
        info.value
    )
    assert trim_messages(history, model=MODEL, max_tokens=50, shorten="tail").tokens <= 50


IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}


def test_list_content_is_shortened_in_its_text_parts() -> None:
    """A content-part message is cut in its text: images kept whole, parts in order."""
    first, last = "Opening words. " * 150, "Closing words. " * 150
    message = {"role": "user", "content": [
        {"type": "text", "text": first}, IMAGE, {"type": "text", "text": last}]}
    history = [{"role": "system", "content": "Describe."}, message]
    for keep in ("head", "tail"):
        result = trim_messages(history, model=MODEL, max_tokens=200, shorten=keep)  # type: ignore[arg-type]
        assert result.tokens == prompt(result.messages) <= 200
        assert result.shortened == 1
        parts = result.messages[1]["content"]
        assert IMAGE in parts
        texts = [p["text"] for p in parts if p["type"] == "text"]
        if keep == "head":
            assert parts[0]["type"] == "text" and first.startswith(parts[0]["text"])
            assert parts[-1] == IMAGE or last.startswith(parts[-1]["text"])
        else:
            assert parts[-1]["type"] == "text" and last.endswith(parts[-1]["text"])
            assert parts[0] == IMAGE or first.endswith(parts[0]["text"])
        assert texts and result.tokens >= 190  # the text is cut near the budget, not emptied
    assert history[1] is message and len(message["content"]) == 3  # input untouched


def test_only_images_cannot_be_shortened() -> None:
    """A newest message of images alone is never cut: the error explains instead."""
    history = [{"role": "user", "content": [IMAGE] * 10}]
    with pytest.raises(ContextWindowExceededError, match="Cutting the newest message cannot"):
        trim_messages(history, model=MODEL, max_tokens=20, shorten="tail")


def test_tool_choice_counts_against_the_budget() -> None:
    """A named tool_choice costs tokens; the trimmed prompt with it stays within budget."""
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    choice = {"type": "function", "function": {"name": "lookup"}}
    with_choice = tokman.count_prompt(model=MODEL, messages=HISTORY, tools=tools,
                                      tool_choice=choice)
    budget = with_choice - 1
    result = trim_messages(HISTORY, model=MODEL, max_tokens=budget, tools=tools,
                           tool_choice=choice)
    assert result.removed
    assert result.tokens == tokman.count_prompt(
        model=MODEL, messages=result.messages, tools=tools, tool_choice=choice) <= budget


def test_bad_arguments_are_named() -> None:
    """A bad budget or option is refused with the field and the fix."""
    with pytest.raises(InvalidRequestError, match=r"^max_tokens=0 is invalid"):
        trim_messages(HISTORY, model=MODEL, max_tokens=0)
    with pytest.raises(InvalidRequestError, match=r"^shorten='middle' is invalid"):
        trim_messages(HISTORY, model=MODEL, max_tokens=100, shorten="middle")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match=r"^messages\[0\]="):
        trim_messages(["hi"], model=MODEL, max_tokens=100)  # type: ignore[list-item]
    with pytest.raises(InvalidRequestError, match=r"^tools=5 is invalid"):
        trim_messages(HISTORY, model=MODEL, max_tokens=100, tools=5)  # type: ignore[arg-type]
