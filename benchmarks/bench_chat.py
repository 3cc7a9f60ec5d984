"""Chat prompt counting vs the OpenAI cookbook's ``num_tokens_from_messages`` loop.

Both run in this process on the same 10-message conversation; the cookbook loop is written
out inline (3 tokens per message, 1 per name, 3 for the reply priming, ``encode`` of every
value) using the tiktoken Encoding tokman verified. Prints each time and the ratio
tokman / cookbook (goal: <= 1.1).

    python benchmarks/bench_chat.py
"""

from __future__ import annotations

import timeit
from typing import Any

import tokman

MODEL = "gpt-4o"
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You are a helpful assistant. Answer briefly and cite sources."},
    {"role": "user", "content": "What is the capital of France, and why is it famous?"},
    {
        "role": "assistant",
        "content": "Paris. It is known for the Eiffel Tower, the Louvre and its cafés.",
    },
    {"role": "user", "name": "alice", "content": "How many people live there?"},
    {"role": "assistant", "content": "About 2.1 million in the city and 12 million in the area."},
    {"role": "user", "content": "Give me three museums to visit, with one sentence each."},
    {
        "role": "assistant",
        "content": "The Louvre holds the Mona Lisa. The Musée d'Orsay shows Impressionists. "
        "The Centre Pompidou houses modern art.",
    },
    {"role": "user", "content": "Which one is best for a rainy afternoon with children?"},
    {"role": "assistant", "content": "The Cité des Sciences: hands-on exhibits for all ages."},
    {"role": "user", "content": "Thanks! Summarise our chat in one line."},
]


def main() -> None:
    tik = tokman.get_encoding(tokman.models.encoding_for(MODEL)).tiktoken

    def cookbook(messages: list[dict[str, Any]]) -> int:
        num_tokens = 0
        for message in messages:
            num_tokens += 3
            for key, value in message.items():
                num_tokens += len(tik.encode(value))
                if key == "name":
                    num_tokens += 1
        return num_tokens + 3

    expected = cookbook(MESSAGES)
    got = tokman.count_prompt(model=MODEL, messages=MESSAGES)
    assert got == expected, (got, expected)  # plain messages: both rules agree

    def best(fn: Any) -> float:
        number = 2000
        return min(timeit.repeat(fn, number=number, repeat=7)) / number

    t_cookbook = best(lambda: cookbook(MESSAGES))
    t_tokman = best(lambda: tokman.count_prompt(model=MODEL, messages=MESSAGES))
    print(f"10-message conversation, {MODEL}, {got} prompt tokens")
    print(f"  cookbook num_tokens_from_messages (tiktoken): {t_cookbook * 1e6:8.2f} us")
    print(f"  tokman.count_prompt:                          {t_tokman * 1e6:8.2f} us")
    print(f"  ratio tokman / cookbook: {t_tokman / t_cookbook:.2f}x (goal <= 1.10)")


if __name__ == "__main__":
    main()
