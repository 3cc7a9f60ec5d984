"""The checks users run on a chat-format fine-tuning dataset before uploading it.

The format rules are those of OpenAI's fine-tuning data preparation guide (each line a JSON
object with ``messages``; known keys and roles only; content on every message that has no tool
call; at least one assistant message); tokens per example are ``count_prompt``'s. Examples over
the model's context window are flagged and billed truncated to it, as training truncates them.

tokman's registry holds no fine-tuning training prices (``models.json`` records inference
prices only), so the report gives the billed training tokens and leaves the cost ``None`` with
a note, instead of inventing a rate.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from tokman.counting import count_prompt
from tokman.errors import InvalidRequestError, TokmanError
from tokman.files._jsonl import Progress, iter_jsonl
from tokman.models import get as get_model

__all__ = ["FineTuneProblem", "FineTuneReport", "check_fine_tune"]

FineTuneProblemKind = Literal[
    "malformed",
    "missing_messages",
    "unknown_key",
    "missing_role",
    "unrecognized_role",
    "missing_content",
    "no_assistant",
    "over_context",
    "uncountable",
]

_EXAMPLE_KEYS = frozenset({"messages", "tools", "functions", "parallel_tool_calls"})
_MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "function_call", "tool_calls", "tool_call_id", "weight"}
)
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_NO_PRICE = (
    "tokman's registry has no fine-tuning training prices (models.json records inference "
    "prices only); cost is not computed, multiply billed_tokens by the price on your "
    "provider's pricing page"
)


@dataclass(frozen=True)
class FineTuneProblem:
    """One format problem: the line, its kind and what to change."""

    line: int
    kind: FineTuneProblemKind
    message: str


@dataclass(frozen=True)
class FineTuneReport:
    """Tokens per example, billed training tokens and every format problem of a dataset."""

    path: str
    model: str
    context_window: int
    epochs: int
    examples: int
    tokens: tuple[int, ...]
    problems: tuple[FineTuneProblem, ...]
    training_price: Decimal | None = None
    notes: tuple[str, ...] = (_NO_PRICE,)

    @property
    def billed_tokens_per_epoch(self) -> int:
        """Training tokens of one pass (examples over the window truncated to it)."""
        return sum(min(t, self.context_window) for t in self.tokens)

    @property
    def billed_tokens(self) -> int:
        """Training tokens billed for ``epochs`` passes."""
        return self.billed_tokens_per_epoch * self.epochs

    @property
    def cost(self) -> Decimal | None:
        """USD for the billed tokens, or ``None`` when no training price is known."""
        if self.training_price is None:
            return None
        return (self.training_price * self.billed_tokens).scaleb(-6)

    def distribution(self) -> dict[str, int]:
        """min, median (the lower middle value), p95 (nearest rank) and max tokens per example."""
        if not self.tokens:
            return {}
        ordered = sorted(self.tokens)
        rank = max(1, -(-95 * len(ordered) // 100))  # ceil(0.95 n), nearest-rank percentile
        return {
            "min": ordered[0],
            "median": int(statistics.median_low(ordered)),
            "p95": ordered[rank - 1],
            "max": ordered[-1],
        }

    @property
    def flagged_lines(self) -> tuple[int, ...]:
        return tuple(sorted({p.line for p in self.problems}))


def _format_problems(number: int, value: object) -> list[FineTuneProblem]:
    def problem(kind: FineTuneProblemKind, message: str) -> FineTuneProblem:
        return FineTuneProblem(number, kind, message)

    if not isinstance(value, Mapping):
        return [problem("malformed", f"expected a JSON object, got {type(value).__name__}")]
    found = [
        problem(
            "unknown_key",
            f"unknown key {key!r}; an example has only " + ", ".join(sorted(_EXAMPLE_KEYS)),
        )
        for key in value
        if key not in _EXAMPLE_KEYS
    ]
    messages = value.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*found, problem("missing_messages", "messages is missing or empty")]
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            found.append(problem("malformed", f"{where} is not an object"))
            continue
        for key in message:
            if key not in _MESSAGE_KEYS:
                found.append(problem("unknown_key", f"{where} has unknown key {key!r}"))
        role = message.get("role")
        if role is None:
            found.append(problem("missing_role", f"{where} has no role"))
        elif role not in _ROLES:
            found.append(
                problem(
                    "unrecognized_role",
                    f"{where}.role={role!r}; use one of " + ", ".join(sorted(_ROLES)),
                )
            )
        has_call = "tool_calls" in message or "function_call" in message
        content = message.get("content")
        if (content is None and not has_call) or not isinstance(content, (str, list, type(None))):
            found.append(problem("missing_content", f"{where} has no text content"))
    if not any(isinstance(m, Mapping) and m.get("role") == "assistant" for m in messages):
        found.append(problem("no_assistant", "no assistant message: nothing to learn from"))
    return found


def check_fine_tune(
    path: str | os.PathLike[str],
    *,
    model: str,
    epochs: int = 3,
    progress: Progress | None = None,
) -> FineTuneReport:
    """Check a chat-format fine-tuning ``.jsonl`` file for ``model`` and count its tokens.

    Raises:
        InvalidRequestError: the file cannot be read; ``epochs`` is not an int from 1 to 50.
        UnknownModelError: the model is unknown.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 50:
        raise InvalidRequestError("epochs", epochs, "an int from 1 to 50 (training passes)")
    info = get_model(model)
    window = info.context_window
    tokens: list[int] = []
    problems: list[FineTuneProblem] = []
    examples = 0
    for line in iter_jsonl(path, progress):
        examples += 1
        if line.error is not None:
            problems.append(FineTuneProblem(line.number, "malformed", line.error))
            continue
        found = _format_problems(line.number, line.value)
        problems.extend(found)
        if any(p.kind in ("malformed", "missing_messages") for p in found):
            continue
        example: dict[str, Any] = dict(line.value)
        try:
            n = count_prompt(
                model=model,
                messages=example["messages"],
                tools=example.get("tools"),
                functions=example.get("functions"),
            )
        except TokmanError as exc:
            problems.append(FineTuneProblem(line.number, "uncountable", str(exc)))
            continue
        tokens.append(n)
        if n > window:
            problems.append(
                FineTuneProblem(
                    line.number,
                    "over_context",
                    f"{n:,} tokens, over {info.name}'s {window:,}-token context window; "
                    "training truncates it: shorten or split the example",
                )
            )
    return FineTuneReport(
        str(path), info.name, window, epochs, examples, tuple(tokens), tuple(problems)
    )
