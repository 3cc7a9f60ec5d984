"""Drop (or shorten) old chat turns until a request fits a token budget.

System and developer messages are always kept, the newest turns are kept first, and an
assistant message that calls tools travels with every tool message answering it: the API
rejects a ``tool`` message whose call is gone and an assistant ``tool_calls`` message whose
answers are missing, so a trimmed history must never contain half of such a group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tokman.counting.chat import count_prompt
from tokman.counting.text import resolve_encoding
from tokman.errors import ContextWindowExceededError, InvalidRequestError
from tokman.fitting import graphemes
from tokman.fitting.chunking import TextChunker

__all__ = ["TrimResult", "trim_messages"]

_PINNED = frozenset({"system", "developer"})
_SHORTEN = (None, "head", "tail")

Message = Mapping[str, Any]


@dataclass(frozen=True)
class TrimResult:
    """What ``trim_messages`` kept, what it removed and the resulting prompt tokens.

    Attributes:
        messages: the messages to send, in their original order (one may be shortened).
        removed: the messages dropped, in their original order.
        tokens: ``count_prompt`` of ``messages`` with the same model and tools.
        shortened: the index (in the input) of the message whose text was cut, if any.
    """

    messages: list[Message]
    removed: list[Message] = field(default_factory=list)
    tokens: int = 0
    shortened: int | None = None


def _role(message: object, index: int) -> str:
    if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
        raise InvalidRequestError(
            f"messages[{index}]", message, "expected a dict with a 'role' string"
        )
    return str(message["role"])


def _groups(messages: Sequence[Message]) -> tuple[list[int], list[list[int]]]:
    """Pinned indices, and the other messages as atomic groups (call + answers) in order."""
    pinned: list[int] = []
    groups: list[list[int]] = []
    owner: dict[str, int] = {}  # tool_call_id -> group
    pending_function: int | None = None  # group of a legacy function_call awaiting its result
    for i, message in enumerate(messages):
        role = _role(message, i)
        if role in _PINNED:
            pinned.append(i)
            continue
        call_id = message.get("tool_call_id")
        if role == "tool" and isinstance(call_id, str) and call_id in owner:
            groups[owner[call_id]].append(i)
            continue
        if role == "function" and pending_function is not None:
            groups[pending_function].append(i)
            pending_function = None
            continue
        groups.append([i])
        if role == "assistant":
            calls = message.get("tool_calls")
            for call in calls if isinstance(calls, (list, tuple)) else ():
                if isinstance(call, Mapping) and isinstance(call.get("id"), str):
                    owner[call["id"]] = len(groups) - 1
            if message.get("function_call"):
                pending_function = len(groups) - 1
    return pinned, groups


def trim_messages(
    messages: Sequence[Message],
    *,
    model: str,
    max_tokens: int,
    tools: Sequence[Mapping[str, Any]] | None = None,
    strategy: Literal["last"] = "last",
    shorten: Literal["head", "tail"] | None = None,
    tool_choice: str | Mapping[str, Any] | None = None,
) -> TrimResult:
    """Keep system/developer messages and as many of the newest turns as fit ``max_tokens``.

    Older turns are dropped first, whole groups at a time (an assistant ``tool_calls`` message
    with all its ``tool`` answers). If even the newest group alone does not fit and
    ``shorten`` is given, the newest message's text is cut to fit with the chunker, keeping its
    ``"head"`` or its ``"tail"``, instead of failing. A message whose content is a list of
    parts is cut in its text parts only: images are never cut (they are kept whole, as are
    the other parts), the parts keep their order, and text parts past the cut are dropped.

    Args:
        messages: the chat history, as passed to ``chat.completions.create``.
        model: the model whose counting rules apply.
        max_tokens: the prompt budget (``count_prompt`` of the result is at most this).
        tools: tool definitions sent with the request; they count against the budget.
        tool_choice: the request's ``tool_choice``, which counts too when it names a function.
        strategy: ``"last"`` keeps the newest turns (the only strategy so far).
        shorten: ``None`` (never edit a message), ``"head"`` or ``"tail"``.

    Returns:
        A ``TrimResult`` with the kept and removed messages and the kept prompt's tokens.

    Raises:
        ContextWindowExceededError: the system/developer messages plus the newest group (cut
            as far as ``shorten`` allows) still exceed ``max_tokens``.
        InvalidRequestError: a malformed argument, naming it.

    >>> history = [{"role": "system", "content": "Be brief."},
    ...            {"role": "user", "content": "First question " * 20},
    ...            {"role": "assistant", "content": "First answer " * 20},
    ...            {"role": "user", "content": "Second question?"}]
    >>> result = trim_messages(history, model="gpt-4o", max_tokens=30)
    >>> [m["role"] for m in result.messages], len(result.removed), result.tokens <= 30
    (['system', 'user'], 2, True)
    """
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise InvalidRequestError(
            "max_tokens", max_tokens, "expected an int >= 1: the prompt budget in tokens"
        )
    if strategy != "last":
        raise InvalidRequestError("strategy", strategy, "expected 'last' (keep the newest turns)")
    if shorten not in _SHORTEN:
        raise InvalidRequestError("shorten", shorten, "expected None, 'head' or 'tail'")
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise InvalidRequestError("messages", messages, "expected a list of message dicts")
    pinned, groups = _groups(messages)

    def count(indices: Sequence[int], replace: dict[int, Message] | None = None) -> int:
        chosen = [(replace or {}).get(i, messages[i]) for i in sorted(indices)]
        request: dict[str, Any] = {"model": model, "messages": chosen}
        if tools:
            request["tools"] = list(tools) if isinstance(tools, (list, tuple)) else tools
        if tool_choice is not None:  # without tools, count_prompt says it is not allowed
            request["tool_choice"] = tool_choice
        return count_prompt(**request)

    def result(
        kept: list[int],
        tokens: int,
        replace: dict[int, Message] | None = None,
        shortened: int | None = None,
    ) -> TrimResult:
        keep = set(kept)
        return TrimResult(
            messages=[(replace or {}).get(i, messages[i]) for i in sorted(keep)],
            removed=[m for i, m in enumerate(messages) if i not in keep],
            tokens=tokens,
            shortened=shortened,
        )

    everything = list(range(len(messages)))
    tokens = count(everything)
    if tokens <= max_tokens:
        return result(everything, tokens)
    # drop the oldest k groups: fewer messages never count more, so search k by bisection
    low, high = 1, len(groups)  # answer in [low, high]; high means "only pinned"
    while low < high:
        mid = (low + high) // 2
        if count(pinned + [i for g in groups[mid:] for i in g]) <= max_tokens:
            high = mid
        else:
            low = mid + 1
    if low < len(groups) or not groups:
        kept = pinned + [i for g in groups[low:] for i in g]
        tokens = count(kept)
        if tokens <= max_tokens:
            return result(kept, tokens)
    newest = groups[-1] if groups else []
    kept = pinned + newest
    target = newest[-1] if newest else None

    def cut(keep: str) -> Message | None:
        if target is None:
            return None
        return _shorten(
            messages[target], keep, max_tokens, lambda m: count(kept, {target: m}), model
        )

    if shorten is not None and target is not None:
        shortened = cut(shorten)
        if shortened is not None:
            tokens = count(kept, {target: shortened})
            return result(kept, tokens, {target: shortened}, target)
    minimum = count(kept)
    head = (
        f"The messages need at least {minimum} tokens even after removing every older turn "
        f"(kept: {len(pinned)} system/developer message(s) and the newest "
        f"{len(newest)}-message turn), but max_tokens is {max_tokens}: {minimum - max_tokens} "
        "over. "
    )
    workable = [keep for keep in ("tail", "head") if shorten is None and cut(keep) is not None]
    if workable:
        options = " or ".join(f"shorten={keep!r}" for keep in workable)
        fix = (
            f"Pass {options} to cut the newest message to fit, shorten the system prompt, or "
            "raise max_tokens (use a model with a larger context window)."
        )
    else:
        floor = minimum if target is None else count(kept, {target: _emptied(messages[target])})
        fix = (
            "Cutting the newest message cannot help: without its text the request still needs "
            f"{floor} tokens. Shorten the system/developer messages or the tools, or raise "
            "max_tokens (use a model with a larger context window)."
        )
    raise ContextWindowExceededError(
        head + fix,
        tokens=minimum,
        limit=max_tokens,
        breakdown={"pinned": len(pinned), "newest_turn": len(newest)},
    )


def _emptied(message: Message) -> Message:
    """``message`` without its text: string content emptied, text parts dropped."""
    content = message.get("content")
    if isinstance(content, str):
        return {**message, "content": ""}
    if isinstance(content, list):
        return {**message, "content": [p for p in content if not _is_text(p)]}
    return message


def _is_text(part: object) -> bool:
    return (
        isinstance(part, Mapping)
        and part.get("type") == "text"
        and isinstance(part.get("text"), str)
    )


def _shorten(
    message: Message, keep: str, max_tokens: int, count: Any, model: str
) -> Message | None:
    """``message`` with its text cut so the request fits, or ``None`` if no cut fits."""
    content = message.get("content")
    if isinstance(content, str):
        if not content:
            return None
        texts = [content]
    elif isinstance(content, list) and any(_is_text(p) for p in content):
        texts = [p["text"] for p in content if _is_text(p)]
    else:
        return None
    budget = max_tokens - count(_emptied(message))
    encoding = resolve_encoding(model, None)
    while budget >= 1:
        kept = _cut_texts(texts, keep, budget, model, encoding.count)
        if kept is None:
            return None
        candidate = _with_texts(message, kept)
        if count(candidate) <= max_tokens:
            return candidate
        budget -= 1  # framing around the text merged differently; ask for one token less
    return None


def _cut_texts(
    texts: list[str], keep: str, budget: int, model: str, count: Any
) -> list[str | None] | None:
    """Which texts to keep whole, which to cut (and to what), which to drop (``None``).

    Parts are counted separately (each part's text is its own span of the prompt), so their
    tokens add up; the texts at the kept end are kept whole while they fit, the next one is
    cut to the rest of the budget, and the ones beyond are dropped.
    """
    order = range(len(texts)) if keep == "head" else range(len(texts) - 1, -1, -1)
    kept: list[str | None] = [None] * len(texts)
    left = budget
    for i in order:
        tokens = count(texts[i])
        if tokens <= left:
            kept[i], left = texts[i], left - tokens
            continue
        if left >= 1:
            kept[i] = _cut(texts[i], keep, left, model)
        break
    if all(text is None for text in kept):
        return None
    return kept


def _with_texts(message: Message, texts: list[str | None]) -> Message:
    """``message`` with its texts replaced in order; ``None`` drops a text part."""
    content = message.get("content")
    if isinstance(content, str):
        return {**message, "content": texts[0]}
    assert isinstance(content, list)
    parts: list[Any] = []
    found = iter(texts)
    for part in content:
        if _is_text(part):
            text = next(found)
            if text is not None:
                parts.append({**part, "text": text})
        else:
            parts.append(part)
    return {**message, "content": parts}


def _cut(content: str, keep: str, budget: int, model: str) -> str | None:
    """The longest head (or tail) of ``content`` of at most ``budget`` tokens, cut cleanly."""
    chunker = TextChunker(budget, model=model)
    if keep == "head":
        first = next(chunker.iter_chunks(content), None)
        return first.text if first is not None else None
    count = chunker.encoding.count
    low, high = 0, len(content)  # smallest grapheme-safe start whose tail fits
    while low < high:
        mid = (low + high) // 2
        start = graphemes.ceil_boundary(content, mid)
        if count(content[start:]) <= budget:
            high = mid
        else:
            low = mid + 1
    start = graphemes.ceil_boundary(content, low)
    return content[start:] if start < len(content) else None
