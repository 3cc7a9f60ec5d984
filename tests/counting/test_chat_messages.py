"""Plain chat messages against API-reported prompt_tokens, across model families.

Each table names the public source that printed the API's ``usage.prompt_tokens``.
"""

from __future__ import annotations

from typing import Any

import pytest

import tokman
from tokman.errors import InvalidRequestError

# openai/openai-cookbook examples/How_to_count_tokens_with_tiktoken.ipynb, the 6-message
# example: @c81359cdc6744f001e40c08a192604c5113fdab3 prints 129 for gpt-3.5-turbo (0125),
# gpt-4-0613 and gpt-4, 124 for gpt-4o and gpt-4o-mini; @06d9feb (mid-2023) printed 127 for
# gpt-3.5-turbo-0301 and 129 for gpt-3.5-turbo-0613 and gpt-4-0314.
COOKBOOK_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate "
        "jargon into plain English.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "New synergies will help drive top-line growth.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities "
        "for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client "
        "deliverable.",
    },
]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-3.5-turbo-0301", 127),
        ("gpt-3.5-turbo-0613", 129),
        ("gpt-3.5-turbo-0125", 129),
        ("gpt-4-0314", 129),
        ("gpt-4-0613", 129),
        ("gpt-4", 129),
        ("gpt-4o-2024-08-06", 124),
        ("gpt-4o-mini-2024-07-18", 124),
    ],
)
def test_cookbook_six_message_example(model: str, expected: int) -> None:
    """The cookbook's 6-message request costs what the API reported, per model."""
    assert tokman.count_prompt(model=model, messages=COOKBOOK_MESSAGES, max_tokens=1) == expected


# pamelafox/openai-messages-token-helper@b60075e3b4ec659b58fa06b2c27e7b0afc1587a2
# tests/messages.py: single messages, "count" verified on a cl100k deployment (the library
# tests use gpt-35-turbo) and "count_omni" on gpt-4o (added in d0c0f5c, May 2024).
PAMELAFOX_MESSAGES = [
    pytest.param(
        {
            "role": "assistant",
            "content": "Yes, there is a dress code at Contoso Electronics. Look sharp! "
            "[employee_handbook-1.pdf]",
        },
        30,
        30,
        id="assistant_message_dresscode",
    ),
    pytest.param(
        {
            "role": "assistant",
            "content": "During the performance review at Contoso Electronics, the supervisor will "
            "discuss the employee's performance over the past year and provide feedback "
            "on areas for improvement. They will also provide an opportunity for the "
            "employee to discuss their goals and objectives for the upcoming year. The "
            "review is a two-way dialogue between managers and employees, and employees "
            "will receive a written summary of their performance review which will "
            "include a rating of their performance, feedback, and goals and objectives "
            "for the upcoming year [employee_handbook-3.pdf].",
        },
        106,
        106,
        id="assistant_message_perf",
    ),
    pytest.param(
        {
            "role": "assistant",
            "content": "The supervisor will discuss the employee's performance and provide "
            "feedback "
            "on areas for improvement. They will also provide an opportunity for the "
            "employee to discuss their goals and objectives for the upcoming year. The "
            "review is a two-way dialogue between managers and employees, and employees "
            "will receive a written summary of their performance review which will "
            "include a rating of their performance, feedback, and goals for the upcoming "
            "year [employee_handbook-3.pdf].",
        },
        91,
        91,
        id="assistant_message_perf_short",
    ),
    pytest.param(
        {
            "role": "system",
            "content": "You are a helpful, pattern-following assistant that translates corporate "
            "jargon into plain English.",
        },
        25,
        24,
        id="system_message",
    ),
    pytest.param(
        {
            "role": "system",
            "content": "Assistant helps the company employees with their healthcare plan "
            "questions, "
            "and questions about the employee handbook. Be brief in your answers.",
        },
        31,
        31,
        id="system_message_long",
    ),
    pytest.param(
        {"role": "system", "content": "You are a bot."}, 12, 12, id="system_message_short"
    ),
    pytest.param({"role": "system", "content": "á"}, 8, 8, id="system_message_unicode"),
    pytest.param(
        {
            "role": "system",
            "name": "example_user",
            "content": "New synergies will help drive top-line growth.",
        },
        20,
        20,
        id="system_message_with_name",
    ),
    pytest.param({"role": "user", "content": "Hello, how are you?"}, 13, 13, id="user_message"),
    pytest.param(
        {"role": "user", "content": "Is there a dress code?"}, 13, 13, id="user_message_dresscode"
    ),
    pytest.param(
        {"role": "user", "content": "What happens in a performance review?"},
        14,
        14,
        id="user_message_perf",
    ),
    pytest.param(
        {"role": "user", "content": "What does a Product Manager do?"}, 14, 14, id="user_message_pm"
    ),
    pytest.param({"role": "user", "content": "á"}, 8, 8, id="user_message_unicode"),
]


@pytest.mark.parametrize(("message", "cl100k", "omni"), PAMELAFOX_MESSAGES)
def test_pamelafox_single_messages(message: dict[str, Any], cl100k: int, omni: int) -> None:
    """Each single message costs what the API reported on gpt-35-turbo and on gpt-4o."""
    assert tokman.count_prompt(model="gpt-35-turbo", messages=[message]) == cl100k
    assert tokman.count_prompt(model="gpt-4o", messages=[message]) == omni


def test_gpt5_developer_message_relay_vector() -> None:
    """gpt-5 bills 18 for a developer message plus "Hello!" (reasoning priming is 2).

    Source: llmapi.apifox.cn/359990970e0 (a relay's documentation page: lower confidence);
    the same one-token-cheaper priming is what o3's and o4-mini's image vectors require.
    """
    messages = [
        {"role": "developer", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello!"},
    ]
    details = tokman.count_prompt_details(model="gpt-5", messages=messages)
    assert details.total == 18
    assert details.uncertain  # rests on few observations, and says so


@pytest.mark.parametrize(
    "model",
    ["ft:gpt-4o-mini-2024-07-18:acme::abc123", "azure/eu/gpt-4o", "gpt-4o-2024-11-20"],
)
def test_spellings_resolve_to_the_family(model: str) -> None:
    """Fine-tune, Azure-routed and dated names count like their base model."""
    assert tokman.count_prompt(model=model, messages=COOKBOOK_MESSAGES) == 124


def test_unknown_model_raises() -> None:
    """An unknown model is an UnknownModelError, never a fallback to another tokenizer."""
    with pytest.raises(tokman.errors.UnknownModelError, match="gpt-17"):
        tokman.count_prompt(model="gpt-17", messages=COOKBOOK_MESSAGES)


def test_non_chat_model_raises() -> None:
    """A model with a known encoding but no chat framing (embeddings) is refused."""
    with pytest.raises(tokman.errors.UnknownModelError, match="text-embedding-3-small"):
        tokman.count_prompt(model="text-embedding-3-small", messages=COOKBOOK_MESSAGES)


def test_extra_create_kwargs_are_ignored() -> None:
    """temperature, max_tokens, stream and friends do not change the count."""
    plain = tokman.count_prompt(model="gpt-4o", messages=COOKBOOK_MESSAGES)
    request = {
        "model": "gpt-4o",
        "messages": COOKBOOK_MESSAGES,
        "temperature": 0.2,
        "max_tokens": 10,
        "stream": True,
        "n": 1,
        "user": "u-1",
    }
    assert tokman.count_prompt(**request) == plain


def test_content_parts_text_counts_like_string() -> None:
    """A single text part costs the same as the same string content."""
    as_string = [{"role": "user", "content": "Describe this picture:"}]
    as_parts = [{"role": "user", "content": [{"type": "text", "text": "Describe this picture:"}]}]
    assert tokman.count_prompt(model="gpt-4o", messages=as_parts) == tokman.count_prompt(
        model="gpt-4o", messages=as_string
    )


def test_azure_deployment_names_are_counted_as_the_model_they_serve() -> None:
    """A deployment name (free text on Azure) counts exactly like its model."""
    import tokman.models

    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}]
    tokman.models.register_deployment("chat-prod-eu", model="gpt-4o-2024-08-06")
    assert tokman.count_prompt(model="chat-prod-eu", messages=messages) == (
        tokman.count_prompt(model="gpt-4o-2024-08-06", messages=messages)
    )
    assert tokman.validate_request(model="chat-prod-eu", messages=messages).ok


# issue 9 #3: the Responses form that check_request accepts is counted too
RESPONSES_ITEMS = [
    {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
    {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"c":"P"}'},
    {"type": "function_call_output", "call_id": "c1", "output": "18C"},
    {"role": "assistant", "content": [{"type": "output_text", "text": "It is 18C."}]},
]


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"input": "hi"},
        {"input": "hi", "instructions": "Be brief.", "max_output_tokens": 50},
        {"input": RESPONSES_ITEMS, "tools": [{"type": "function", "name": "get_weather",
                                              "parameters": {"type": "object"}}]},
    ],
)  # fmt: skip
def test_responses_form_counts_as_check_request_does(request_kwargs: dict[str, Any]) -> None:
    """count_prompt / count_prompt_details accept input=/instructions= (was messages=None)."""
    total = tokman.count_prompt(model="gpt-4o", **request_kwargs)
    details = tokman.count_prompt_details(model="gpt-4o", **request_kwargs)
    check = tokman.check_request(model="gpt-4o", **request_kwargs)
    assert total == details.total == check.prompt_tokens
    assert any("Responses API" in note for note in details.uncertain)


def test_responses_string_input_counts_as_its_chat_messages() -> None:
    """instructions + input string == a system and a user message."""
    chat = tokman.count_prompt(
        model="gpt-4o",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
    )
    assert tokman.count_prompt(model="gpt-4o", instructions="Be brief.", input="hi") == chat


def test_responses_errors_name_the_input_item() -> None:
    """A bad Responses item raises with the caller's path, not the converted one."""
    with pytest.raises(InvalidRequestError) as info:
        tokman.count_prompt(
            model="gpt-4o",
            input=[{"type": "function_call", "call_id": "c1", "name": "f", "arguments": 5}],
        )
    assert info.value.field == "input[0].arguments"


@pytest.mark.parametrize(
    ("request_kwargs", "field"),
    [
        ({"messages": [{"role": "user", "content": "a\ud800"}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "name": "\udc00", "content": "a"}]}, "messages[0].name"),
        ({"input": "\ud800"}, "input"),
        ({"messages": [{"role": "assistant", "content": None, "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "\ud800"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "x"}]},
         "messages[0].tool_calls[0].function.arguments"),
    ],
)  # fmt: skip
def test_lone_surrogate_is_an_invalid_request_naming_the_field(
    request_kwargs: dict[str, Any], field: str
) -> None:
    """Issue 9 #6: text the API cannot receive raises InvalidRequestError, not UnicodeError."""
    for counter in (tokman.count_prompt, tokman.count_prompt_details):
        with pytest.raises(InvalidRequestError) as info:
            counter(model="gpt-4o", **request_kwargs)
        assert info.value.field == field
        assert "not valid UTF-8" in str(info.value)
        assert not isinstance(info.value, UnicodeError)
