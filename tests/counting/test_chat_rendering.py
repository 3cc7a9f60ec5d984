"""Literal rendering of tool definitions, error messages, and breakdown invariants."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokman
from tokman.counting.tools import render_functions
from tokman.errors import InvalidRequestError


def test_render_nested_enum_array_anyof() -> None:
    """Nested objects, enums, arrays and anyOf render as TypeScript; nested descriptions drop."""
    function = {
        "name": "plan",
        "description": "Make a plan",
        "parameters": {
            "type": "object",
            "required": ["steps"],
            "properties": {
                "steps": {"type": "array", "items": {"type": "string"}, "description": "Steps"},
                "mode": {"type": "string", "enum": ["fast", "slow"]},
                "level": {"type": "integer", "enum": [1, 2]},
                "target": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "where": {
                    "type": "object",
                    "properties": {"city": {"type": "string", "description": "dropped"}},
                },
                "blob": {"description": "no type"},
            },
        },
    }
    assert render_functions([function]) == "\n".join(
        [
            "namespace functions {",
            "",
            "// Make a plan",
            "type plan = (_: {",
            "// Steps",
            "steps: string[],",
            'mode?: "fast" | "slow",',
            "level?: 1 | 2,",
            "target?: string | null,",
            "where?: {",
            "  city?: string,",
            "},",
            "// no type",
            "blob?: any,",
            "}) => any;",
            "",
            "} // namespace functions",
        ]
    )


def test_render_function_without_parameters() -> None:
    """A function without properties renders as a no-argument type."""
    assert "type ping = () => any;" in render_functions([{"name": "ping", "parameters": {}}])


def test_0301_name_replaces_role() -> None:
    """gpt-3.5-turbo-0301 frames a message with 4 tokens, and a name costs one less."""
    plain = [{"role": "user", "content": "hello"}]
    named = [{"role": "user", "name": "bob", "content": "hello"}]
    base = tokman.count_prompt(model="gpt-3.5-turbo-0301", messages=plain)
    assert base == 1 + 1 + 4 + 3
    bob = tokman.count("bob", model="gpt-3.5-turbo")
    assert tokman.count_prompt(model="gpt-3.5-turbo-0301", messages=named) == base + bob - 1


@pytest.mark.parametrize(
    ("request_kwargs", "field", "value_shown"),
    [
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "'robot'"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content", "5"),
        (
            {"messages": [{"role": "user", "content": [{"type": "video"}]}]},
            "messages[0].content[0].type",
            "'video'",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]},
            "messages[0].content[0].type",
            "'input_audio'",
        ),
        ({"messages": []}, "messages", "[]"),
        ({"messages": [{"role": "user", "name": 3, "content": "x"}]}, "messages[0].name", "3"),
        (
            {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "web"}]},
            "tools[0].type",
            "'web'",
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "tool_choice": "none"},
            "tool_choice",
            "'none'",
        ),
        (
            {
                "messages": [{"role": "user", "content": "x"}],
                "functions": [{"name": "f", "parameters": {"properties": {"a": 1}}}],
            },
            "functions[0].parameters.properties.a",
            "1",
        ),
    ],
)
def test_invalid_requests_name_field_and_value(
    request_kwargs: dict[str, Any], field: str, value_shown: str
) -> None:
    """Malformed requests raise InvalidRequestError naming the field path and the value."""
    with pytest.raises(InvalidRequestError) as caught:
        tokman.count_prompt(model="gpt-4o", **request_kwargs)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}={value_shown} is invalid: ")


def test_missing_model_is_invalid_request() -> None:
    """Forgetting model= is an InvalidRequestError naming 'model'."""
    with pytest.raises(InvalidRequestError, match=r"^model=None"):
        tokman.count_prompt(messages=[{"role": "user", "content": "x"}])


def test_details_readable_and_serialisable() -> None:
    """PromptCount renders a readable table and a JSON-ready dict with derived totals."""
    details = tokman.count_prompt_details(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello"},
        ],
    )
    data = details.as_dict()
    assert data["total"] == 15
    assert data["system"] + data["history"] + data["tools"] + data["priming"] == 15
    assert data["messages"][1] == {
        "index": 1,
        "role": "user",
        "tokens": 5,
        "images": 0,
        "overhead": 3,
    }
    text = str(details)
    assert text.splitlines()[0] == "15 prompt tokens for gpt-4o (o200k_base)"
    assert "messages[1] user" in text


def test_tool_history_is_flagged_uncertain() -> None:
    """Counts that rely on unverified tool-call framing say so in ``uncertain``."""
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    details = tokman.count_prompt_details(model="gpt-4o", messages=messages)
    assert details.total == tokman.count_prompt(model="gpt-4o", messages=messages)
    assert any("tool_calls" in note for note in details.uncertain)


_text = st.text(max_size=40)
_plain = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "developer", "user", "assistant"]), "content": _text},
    optional={"name": st.from_regex(r"[a-z_]{1,8}", fullmatch=True)},
)
_parts = st.fixed_dictionaries(
    {
        "role": st.just("user"),
        "content": st.lists(
            st.builds(lambda t: {"type": "text", "text": t}, _text), min_size=1, max_size=3
        ),
    }
)
_function_msg = st.fixed_dictionaries(
    {"role": st.just("function"), "name": st.just("lookup"), "content": _text}
)
_conversation = st.lists(st.one_of(_plain, _parts, _function_msg), min_size=1, max_size=6)
_functions = st.one_of(
    st.none(),
    st.just([{"name": "lookup", "parameters": {"type": "object", "properties": {}}}]),
)


@settings(max_examples=60, deadline=None)
@given(
    messages=_conversation,
    functions=_functions,
    model=st.sampled_from(["gpt-4o", "gpt-3.5-turbo-0301", "gpt-4", "o3"]),
)
def test_details_total_equals_count_prompt(
    messages: list[dict[str, Any]], functions: list[dict[str, Any]] | None, model: str
) -> None:
    """For any conversation, the breakdown adds up to exactly count_prompt's number."""
    details = tokman.count_prompt_details(model=model, messages=messages, functions=functions)
    assert details.total == tokman.count_prompt(model=model, messages=messages, functions=functions)
    assert details.total == sum(m.tokens for m in details.messages) + details.tools + (
        details.priming
    )
    assert details.system + details.history == sum(m.tokens for m in details.messages)
    assert [m.index for m in details.messages] == list(range(len(messages)))
