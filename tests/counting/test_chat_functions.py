"""Legacy ``functions``/``function_call`` and ``tools`` against API-reported prompt_tokens.

Every expected number was reported by the API and published by others; the source is given
per table. Cases no consistent rule reproduces are ``xfail(strict=True)`` with the observed
number, so a rule change that fixes (or breaks) them is noticed.
"""

from __future__ import annotations

from typing import Any

import pytest

import tokman

# hmarr/openai-chat-tokens@b8e3b11d4f50174991f0adc17cabe9518173dbc9 tests/token-counts.test.ts:
# all 36 TEST_CASES, validated against gpt-3.5-turbo (0613 at the time) usage.prompt_tokens.
HMARR_MODEL = "gpt-3.5-turbo-0613"
HMARR_CASES = [
    pytest.param(
        {
            "messages": [
                {
                    "role": "system",
                    "content": "You are a helpful, pattern-following assistant that "
                    "translates corporate jargon into plain English.",
                }
            ]
        },
        25,
        id="hmarr-00",
    ),
    pytest.param(
        {
            "messages": [
                {
                    "role": "system",
                    "name": "example_user",
                    "content": "New synergies will help drive top-line growth.",
                }
            ]
        },
        20,
        id="hmarr-01",
    ),
    pytest.param(
        {
            "messages": [
                {
                    "role": "system",
                    "name": "example_assistant",
                    "content": "Things working well together will increase revenue.",
                }
            ]
        },
        19,
        id="hmarr-02",
    ),
    pytest.param(
        {
            "messages": [
                {
                    "role": "system",
                    "name": "example_user",
                    "content": "Let's circle back when we have more bandwidth to touch base "
                    "on opportunities for increased leverage.",
                }
            ]
        },
        28,
        id="hmarr-03",
    ),
    pytest.param(
        {
            "messages": [
                {
                    "role": "system",
                    "name": "example_assistant",
                    "content": "Let's talk later when we're less busy about how to do better.",
                }
            ]
        },
        26,
        id="hmarr-04",
    ),
    pytest.param(
        {
            "messages": [
                {
                    "role": "user",
                    "content": "This late pivot means we don't have time to boil the ocean "
                    "for the client deliverable.",
                }
            ]
        },
        26,
        id="hmarr-05",
    ),
    pytest.param({"messages": [{"role": "user", "content": "hello"}]}, 8, id="hmarr-06"),
    pytest.param({"messages": [{"role": "user", "content": "hello world"}]}, 9, id="hmarr-07"),
    pytest.param({"messages": [{"role": "system", "content": "hello"}]}, 8, id="hmarr-08"),
    pytest.param({"messages": [{"role": "system", "content": "hello:"}]}, 9, id="hmarr-09"),
    pytest.param(
        {
            "messages": [
                {"role": "system", "content": "# Important: you're the best robot"},
                {"role": "user", "content": "hello robot"},
                {"role": "assistant", "content": "hello world"},
            ]
        },
        27,
        id="hmarr-10",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "hello"}],
            "functions": [{"name": "foo", "parameters": {"type": "object", "properties": {}}}],
        },
        31,
        id="hmarr-11",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "hello"}],
            "functions": [{"name": "foo", "parameters": {"type": "object", "properties": {}}}],
            "function_call": "none",
        },
        32,
        id="hmarr-12",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "hello"}],
            "functions": [{"name": "foo", "parameters": {"type": "object", "properties": {}}}],
            "function_call": "auto",
        },
        31,
        id="hmarr-13",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "hello"}],
            "functions": [{"name": "foo", "parameters": {"type": "object", "properties": {}}}],
            "function_call": {"name": "foo"},
        },
        36,
        id="hmarr-14",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "hello"}],
            "functions": [
                {
                    "name": "foo",
                    "description": "Do a foo",
                    "parameters": {"type": "object", "properties": {}},
                }
            ],
        },
        36,
        id="hmarr-15",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "hello"}],
            "functions": [
                {
                    "name": "bing_bong",
                    "description": "Do a bing bong",
                    "parameters": {"type": "object", "properties": {"foo": {"type": "string"}}},
                }
            ],
        },
        49,
        id="hmarr-16",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "hello"}],
            "functions": [
                {
                    "name": "bing_bong",
                    "description": "Do a bing bong",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "foo": {"type": "string"},
                            "bar": {"type": "number", "description": "A number"},
                        },
                    },
                }
            ],
        },
        57,
        id="hmarr-17",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "hello"}],
            "functions": [
                {
                    "name": "bing_bong",
                    "description": "Do a bing bong",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "foo": {
                                "type": "object",
                                "properties": {
                                    "bar": {"type": "string", "enum": ["a", "b", "c"]},
                                    "baz": {"type": "boolean"},
                                },
                            }
                        },
                    },
                }
            ],
        },
        68,
        id="hmarr-18",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "user", "content": "hello world"},
                {"role": "function", "name": "do_stuff", "content": "{}"},
            ]
        },
        15,
        id="hmarr-19",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "user", "content": "hello world"},
                {"role": "function", "name": "do_stuff", "content": '{"foo": "bar", "baz": 1.5}'},
            ]
        },
        28,
        id="hmarr-20",
    ),
    pytest.param(
        {
            "messages": [
                {
                    "role": "function",
                    "name": "dance_the_tango",
                    "content": '{"a": { "b" : { "c": false}}}',
                }
            ]
        },
        24,
        id="hmarr-21",
    ),
    pytest.param(
        {
            "messages": [
                {
                    "role": "assistant",
                    "content": "",
                    "function_call": {
                        "name": "do_stuff",
                        "arguments": '{"foo": "bar", "baz": 1.5}',
                    },
                }
            ]
        },
        26,
        id="hmarr-22",
    ),
    pytest.param(
        {
            "messages": [
                {
                    "role": "assistant",
                    "content": "",
                    "function_call": {
                        "name": "do_stuff",
                        "arguments": '{"foo":"bar", "baz":\n\n 1.5}',
                    },
                }
            ]
        },
        25,
        id="hmarr-23",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "system", "content": "You are an AI assistant trained to foo or bar"},
                {"role": "user", "content": "My name is suzie"},
                {
                    "role": "function",
                    "name": "foo",
                    "content": '{"res":{"kind":"user","name":"suzie"}}',
                },
                {"role": "user", "content": 'I want to post a message with the text "hello world"'},
                {
                    "role": "function",
                    "name": "foo",
                    "content": '{"res":{"kind":"post","text":"hello world"}}',
                },
            ],
            "functions": [
                {
                    "name": "foo",
                    "description": "Return the foo or the bar",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "res": {
                                "anyOf": [
                                    {
                                        "type": "object",
                                        "properties": {
                                            "kind": {"type": "string", "const": "post"},
                                            "text": {"type": "string"},
                                        },
                                        "required": ["kind", "text"],
                                        "additionalProperties": False,
                                    },
                                    {
                                        "type": "object",
                                        "properties": {
                                            "kind": {"type": "string", "const": "user"},
                                            "name": {
                                                "type": "string",
                                                "enum": ["jane", "suzie", "adam"],
                                            },
                                        },
                                        "required": ["kind", "name"],
                                        "additionalProperties": False,
                                    },
                                ],
                                "description": "The foo or the bar",
                            }
                        },
                        "required": ["res"],
                        "additionalProperties": False,
                    },
                }
            ],
            "function_call": {"name": "foo"},
        },
        158,
        id="hmarr-24",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "system", "content": "Hello"},
                {"role": "user", "content": "Hi there"},
            ],
            "functions": [
                {
                    "name": "do_stuff",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "foo": {
                                "anyOf": [
                                    {
                                        "type": "object",
                                        "properties": {
                                            "kind": {"type": "string", "const": "a"},
                                            "baz": {"type": "boolean"},
                                        },
                                    }
                                ]
                            }
                        },
                    },
                }
            ],
        },
        52,
        id="hmarr-25",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "system", "content": "Hello"},
                {"role": "user", "content": "Hi there"},
            ],
            "functions": [
                {
                    "name": "do_stuff",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "foo": {
                                "anyOf": [
                                    {
                                        "type": "object",
                                        "properties": {
                                            "kind": {"type": "string", "const": "a"},
                                            "baz": {"type": "boolean"},
                                        },
                                    },
                                    {
                                        "type": "object",
                                        "properties": {
                                            "kind": {"type": "string", "const": "b"},
                                            "qux": {"type": "number"},
                                        },
                                    },
                                    {
                                        "type": "object",
                                        "properties": {
                                            "kind": {"type": "string", "const": "c"},
                                            "idk": {"type": "string"},
                                        },
                                    },
                                ]
                            }
                        },
                    },
                }
            ],
        },
        80,
        id="hmarr-26",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "system", "content": "Hello"},
                {"role": "user", "content": "Hi there"},
            ],
            "functions": [
                {
                    "name": "do_stuff",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "foo": {"anyOf": [{"type": "string", "const": "a"}, {"type": "number"}]}
                        },
                    },
                }
            ],
        },
        44,
        id="hmarr-27",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "system", "content": "Hello"},
                {"role": "user", "content": "Hi there"},
            ],
            "functions": [{"name": "do_stuff", "parameters": {"type": "object", "properties": {}}}],
        },
        35,
        id="hmarr-28",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "system", "content": "Hello:"},
                {"role": "user", "content": "Hi there"},
            ],
            "functions": [{"name": "do_stuff", "parameters": {"type": "object", "properties": {}}}],
        },
        35,
        id="hmarr-29",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "system", "content": "Hello:"},
                {"role": "system", "content": "Hello"},
                {"role": "user", "content": "Hi there"},
            ],
            "functions": [{"name": "do_stuff", "parameters": {"type": "object", "properties": {}}}],
        },
        40,
        id="hmarr-30",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "system", "content": "Hello:"},
                {"role": "system", "content": "Hello"},
                {"role": "user", "content": "Hi there"},
            ],
            "functions": [
                {"name": "do_stuff", "parameters": {"type": "object", "properties": {}}},
                {"name": "do_other_stuff", "parameters": {"type": "object", "properties": {}}},
            ],
        },
        49,
        id="hmarr-31",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "system", "content": "Hello:"},
                {"role": "system", "content": "Hello"},
                {"role": "user", "content": "Hi there"},
            ],
            "functions": [
                {"name": "do_stuff", "parameters": {"type": "object", "properties": {}}},
                {"name": "do_other_stuff", "parameters": {"type": "object", "properties": {}}},
            ],
            "function_call": {"name": "do_stuff"},
        },
        55,
        id="hmarr-32",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "hello"}],
            "functions": [
                {
                    "name": "get_recipe",
                    "parameters": {
                        "type": "object",
                        "required": ["ingredients", "instructions", "time_to_cook"],
                        "properties": {
                            "ingredients": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["name", "unit", "amount"],
                                    "properties": {
                                        "name": {"type": "string"},
                                        "unit": {
                                            "enum": ["grams", "ml", "cups", "pieces", "teaspoons"],
                                            "type": "string",
                                        },
                                        "amount": {"type": "number"},
                                    },
                                },
                            },
                            "instructions": {
                                "type": "array",
                                "items": {"type": "string"},
                                "description": "Steps to prepare the recipe (no numbering)",
                            },
                            "time_to_cook": {
                                "type": "number",
                                "description": "Total time to prepare the recipe in minutes",
                            },
                        },
                    },
                }
            ],
        },
        106,
        id="hmarr-33",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "hello"}],
            "functions": [
                {
                    "name": "function",
                    "description": "description",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "quality": {
                                "type": "object",
                                "properties": {
                                    "pros": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "description": "Write "
                                        "3 "
                                        "points "
                                        "why "
                                        "this "
                                        "text "
                                        "is "
                                        "well "
                                        "written",
                                    }
                                },
                            }
                        },
                    },
                }
            ],
        },
        46,
        id="hmarr-34",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "hello"}],
            "functions": [
                {
                    "name": "function",
                    "description": "desctiption1",
                    "parameters": {
                        "type": "object",
                        "description": "desctiption2",
                        "properties": {
                            "mainField": {"type": "string", "description": "description3"},
                            "field number one": {
                                "type": "object",
                                "description": "description4",
                                "properties": {
                                    "yesNoField": {
                                        "type": "string",
                                        "description": "description5",
                                        "enum": ["Yes", "No"],
                                    },
                                    "howIsInteresting": {
                                        "type": "string",
                                        "description": "description6",
                                    },
                                    "scoreInteresting": {
                                        "type": "number",
                                        "description": "description7",
                                    },
                                    "isInteresting": {
                                        "type": "string",
                                        "description": "description8",
                                        "enum": ["Yes", "No"],
                                    },
                                },
                            },
                        },
                    },
                }
            ],
        },
        96,
        id="hmarr-35",
    ),
]


@pytest.mark.parametrize(("request_kwargs", "expected"), HMARR_CASES)
def test_hmarr_api_verified_cases(request_kwargs: dict[str, Any], expected: int) -> None:
    """Messages, names, function roles, function_call and functions match hmarr's API numbers."""
    assert tokman.count_prompt(model=HMARR_MODEL, **request_kwargs) == expected


# openai/openai-cookbook@c81359cdc6744f001e40c08a192604c5113fdab3
# examples/How_to_count_tokens_with_tiktoken.ipynb, section 7: "prompt tokens counted by the
# OpenAI API" for the get_current_weather tool: 105 on gpt-3.5-turbo (0125) and gpt-4 (0613),
# 101 on gpt-4o (2024-08-06) and gpt-4o-mini (2024-07-18).
COOKBOOK_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": "The city and state, e.g. San Francisco, CA",
                    },
                    "unit": {
                        "type": "string",
                        "description": "The unit of temperature to return",
                        "enum": ["celsius", "fahrenheit"],
                    },
                },
                "required": ["location"],
            },
        },
    }
]
COOKBOOK_TOOL_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful assistant that can answer to questions about the weather.",
    },
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-3.5-turbo-0125", 105),
        ("gpt-4-0613", 105),
        ("gpt-4o-2024-08-06", 101),
        ("gpt-4o-mini-2024-07-18", 101),
    ],
)
def test_cookbook_tools_example(model: str, expected: int) -> None:
    """The cookbook's tools request costs what the API reported on all four models."""
    got = tokman.count_prompt(
        model=model, messages=COOKBOOK_TOOL_MESSAGES, tools=COOKBOOK_TOOLS, temperature=0
    )
    assert got == expected


def xfail_tools(counted: int) -> pytest.MarkDecorator:
    return pytest.mark.xfail(
        strict=True,
        reason=f"tokman counts {counted}. pamelafox's cl100k deployment (model not recorded) "
        "bills properties without a description and nested objects differently from "
        "gpt-3.5-turbo-0613 (hmarr, 36/36) and the cookbook's gpt-3.5/gpt-4 (105); no single "
        "rendering reproduces both sets",
    )


# pamelafox/openai-messages-token-helper@b60075e3b4ec659b58fa06b2c27e7b0afc1587a2
# tests/functions.py, verified by tests/verify_functions.py against a cl100k deployment; the
# library's own tests use the Azure name gpt-35-turbo.
PAMELAFOX_TOOL_CASES = [
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "data_demonstration",
                        "description": "This is the main function description",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "object_1": {
                                    "type": "object",
                                    "description": "The object data type as a property",
                                    "properties": {"string1": {"type": "string"}},
                                }
                            },
                            "required": ["object_1"],
                        },
                    },
                }
            ],
            "tool_choice": "none",
        },
        65,
        id="pamelafox-inner_object",
        marks=xfail_tools(67),
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "data_demonstration",
                        "description": "This is the main function description",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "object_1": {
                                    "type": "object",
                                    "description": "The object data type as a property",
                                    "properties": {
                                        "string_2a": {"type": "string", "enum": ["Happy", "Sad"]},
                                        "string_2b": {
                                            "type": "string",
                                            "description": "Description in a second object is lost",
                                        },
                                    },
                                },
                                "string_1": {
                                    "type": "string",
                                    "description": "Not required gets a question mark",
                                },
                            },
                            "required": ["object_1"],
                        },
                    },
                }
            ],
            "tool_choice": "none",
        },
        103,
        id="pamelafox-inner_object_and_string",
        marks=xfail_tools(96),
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "data_demonstration",
                        "description": "This is the main function description",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "object_1": {
                                    "type": "object",
                                    "description": "The object data type as a property",
                                    "properties": {
                                        "string_2a": {"type": "string", "enum": ["Happy", "Sad"]}
                                    },
                                }
                            },
                            "required": ["object_1"],
                        },
                    },
                }
            ],
            "tool_choice": "none",
        },
        73,
        id="pamelafox-inner_object_with_enum_only",
        marks=xfail_tools(74),
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "data_demonstration",
                        "description": "This is the main function description",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "object_1": {
                                    "type": "object",
                                    "description": "The object data type as a property",
                                    "properties": {
                                        "string_2a": {"type": "string", "enum": ["Happy", "Sad"]},
                                        "string_2b": {
                                            "type": "string",
                                            "description": "Description in a second object is lost",
                                        },
                                    },
                                }
                            },
                            "required": ["object_1"],
                        },
                    },
                }
            ],
            "tool_choice": "none",
        },
        89,
        id="pamelafox-inner_object_with_enum",
        marks=xfail_tools(82),
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "search_sources",
                        "description": "Retrieve sources from the Azure AI Search index",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "search_query": {
                                    "type": "string",
                                    "description": "Query "
                                    "string "
                                    "to "
                                    "retrieve "
                                    "documents "
                                    "from "
                                    "azure "
                                    "search "
                                    "eg: "
                                    "'Health "
                                    "care "
                                    "plan'",
                                }
                            },
                            "required": ["search_query"],
                        },
                    },
                }
            ],
            "tool_choice": "auto",
        },
        66,
        id="pamelafox-search_sources_toolchoice_auto",
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "search_sources",
                        "description": "Retrieve sources from the Azure AI Search index",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "search_query": {
                                    "type": "string",
                                    "description": "Query "
                                    "string "
                                    "to "
                                    "retrieve "
                                    "documents "
                                    "from "
                                    "azure "
                                    "search "
                                    "eg: "
                                    "'Health "
                                    "care "
                                    "plan'",
                                }
                            },
                            "required": ["search_query"],
                        },
                    },
                }
            ],
            "tool_choice": "none",
        },
        67,
        id="pamelafox-search_sources_toolchoice_none",
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "search_sources",
                        "description": "Retrieve sources from the Azure AI Search index",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "search_query": {
                                    "type": "string",
                                    "description": "Query "
                                    "string "
                                    "to "
                                    "retrieve "
                                    "documents "
                                    "from "
                                    "azure "
                                    "search "
                                    "eg: "
                                    "'Health "
                                    "care "
                                    "plan'",
                                }
                            },
                            "required": ["search_query"],
                        },
                    },
                }
            ],
            "tool_choice": {"type": "function", "function": {"name": "search_sources"}},
        },
        75,
        id="pamelafox-search_sources_toolchoice_name",
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "data_demonstration",
                        "description": "This is the main function description",
                        "parameters": {
                            "type": "object",
                            "properties": {"integer_enum": {"type": "integer", "enum": [-1, 1]}},
                        },
                    },
                }
            ],
            "tool_choice": "none",
        },
        54,
        id="pamelafox-integer_enum",
        marks=xfail_tools(55),
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "data_demonstration",
                        "description": "This is the main function description",
                        "parameters": {
                            "type": "object",
                            "properties": {"integer_enum": {"type": "integer", "enum": [-1, 1]}},
                        },
                    },
                }
            ],
            "tool_choice": {"type": "function", "function": {"name": "data_demonstration"}},
        },
        64,
        id="pamelafox-integer_enum_tool_choice_name",
        marks=xfail_tools(65),
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "search_sources",
                        "description": "Retrieve sources from the Azure AI Search index",
                    },
                }
            ],
            "tool_choice": "auto",
        },
        42,
        id="pamelafox-no_parameters",
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "search_sources",
                        "description": "Retrieve sources from the Azure AI Search index",
                    },
                }
            ],
            "tool_choice": {"type": "function", "function": {"name": "search_sources"}},
        },
        51,
        id="pamelafox-no_parameters_tool_choice_name",
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "search_sources",
                        "description": "Retrieve sources from the Azure AI Search index",
                        "parameters": {
                            "type": "object",
                            "properties": {"search_query": {"type": "string"}},
                        },
                    },
                }
            ],
            "tool_choice": "auto",
        },
        49,
        id="pamelafox-no_parameter_description_or_required",
        marks=xfail_tools(50),
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "search_sources",
                        "description": "Retrieve sources from the Azure AI Search index",
                        "parameters": {
                            "type": "object",
                            "properties": {"search_query": {"type": "string"}},
                            "required": ["search_query"],
                        },
                    },
                }
            ],
            "tool_choice": "auto",
        },
        49,
        id="pamelafox-no_parameter_description",
        marks=xfail_tools(50),
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "summarize_order",
                        "description": "Summarize the customer order request",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "product_name": {
                                    "type": "string",
                                    "description": "Product name ordered by customer",
                                },
                                "quantity": {
                                    "type": "integer",
                                    "description": "Quantity ordered by customer",
                                },
                                "unit": {
                                    "type": "string",
                                    "enum": ["meals", "days"],
                                    "description": "unit of measurement of the customer order",
                                },
                            },
                            "required": ["product_name", "quantity", "unit"],
                        },
                    },
                }
            ],
            "tool_choice": "none",
        },
        86,
        id="pamelafox-string_enum",
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "human_escalation",
                        "description": "Check if user wants to escalate to a human",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "requires_escalation": {
                                    "type": "boolean",
                                    "description": "If "
                                    "user "
                                    "is "
                                    "showing "
                                    "signs "
                                    "of "
                                    "frustration "
                                    "or "
                                    "anger "
                                    "in "
                                    "the "
                                    "query. "
                                    "Also "
                                    "if "
                                    "the "
                                    "user "
                                    "says "
                                    "they "
                                    "want "
                                    "to "
                                    "talk "
                                    "to "
                                    "a "
                                    "real "
                                    "person "
                                    "and "
                                    "not "
                                    "a "
                                    "chat "
                                    "bot.",
                                }
                            },
                            "required": ["requires_escalation"],
                        },
                    },
                }
            ],
            "tool_choice": "none",
        },
        89,
        id="pamelafox-boolean",
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_coordinates",
                        "description": "Get the latitude and longitude of multiple "
                        "mailing addresses",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "addresses": {
                                    "type": "array",
                                    "description": "The mailing addresses to be located",
                                    "items": {"type": "string"},
                                }
                            },
                            "required": ["addresses"],
                        },
                    },
                }
            ],
            "tool_choice": "none",
        },
        59,
        id="pamelafox-array",
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_no_type",
                        "description": "Get the no type value",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "no_type_value": {"description": "The no type value to be returned"}
                            },
                            "required": ["no_type_value"],
                        },
                    },
                }
            ],
            "tool_choice": "none",
        },
        59,
        id="pamelafox-no_type",
    ),
    pytest.param(
        {
            "messages": [{"role": "system", "content": "You are a bot."}],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_null",
                        "description": "Get the null value",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "null_value": {
                                    "type": "null",
                                    "description": "The null value to be returned",
                                }
                            },
                            "required": ["null_value"],
                        },
                    },
                }
            ],
            "tool_choice": "none",
        },
        55,
        id="pamelafox-null",
    ),
]


@pytest.mark.parametrize(("request_kwargs", "expected"), PAMELAFOX_TOOL_CASES)
def test_pamelafox_tool_cases(request_kwargs: dict[str, Any], expected: int) -> None:
    """tools + tool_choice (auto, none, named) cost what the API reported to pamelafox."""
    assert tokman.count_prompt(model="gpt-35-turbo", **request_kwargs) == expected


def test_named_tool_choice_adds_seven_plus_name() -> None:
    """A named tool_choice costs 7 plus its name; 'none' costs 1; 'auto' costs nothing."""
    base = {"model": "gpt-4o", "messages": COOKBOOK_TOOL_MESSAGES, "tools": COOKBOOK_TOOLS}
    auto = tokman.count_prompt(**base, tool_choice="auto")
    assert tokman.count_prompt(**base) == auto
    assert tokman.count_prompt(**base, tool_choice="none") == auto + 1
    named = {"type": "function", "function": {"name": "get_current_weather"}}
    name_tokens = tokman.count("get_current_weather", model="gpt-4o")
    assert tokman.count_prompt(**base, tool_choice=named) == auto + 7 + name_tokens


def test_tools_details_attribute_definitions_to_tools() -> None:
    """The breakdown puts the function block, its framing and tool_choice under ``tools``."""
    details = tokman.count_prompt_details(
        model="gpt-4o", messages=COOKBOOK_TOOL_MESSAGES, tools=COOKBOOK_TOOLS
    )
    assert details.total == 101
    assert details.tools == 101 - sum(m.tokens for m in details.messages) - details.priming
    assert details.tools > 0
