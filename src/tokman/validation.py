"""Check a request against the model's limits and the API's rules before it is sent.

``check_request(**request)`` never raises for a problem with the request: it returns a
:class:`RequestCheck` holding the prompt breakdown, the limits and every problem found.
``validate_request(**request)`` is the same check, raising the first problem as a typed error:
``ContextWindowExceededError`` when the tokens do not fit, ``InvalidRequestError`` when the
request is malformed or breaks a parameter rule. Both take the keyword arguments of
``client.chat.completions.create(...)`` or of ``client.responses.create(...)`` (``input=``,
``instructions=``, ``max_output_tokens=``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tokman.counting.chat import PromptCount, count_prompt_details
from tokman.errors import (
    ContextWindowExceededError,
    InvalidRequestError,
    TokmanError,
    UnknownModelError,
)

__all__ = ["Problem", "RequestCheck", "check_request", "validate_request"]

Api = Literal["chat", "responses"]
ProblemKind = Literal["context_window", "max_output", "invalid"]


@dataclass(frozen=True)
class Problem:
    """One reason the API would reject the request.

    Attributes:
        kind: ``"context_window"``, ``"max_output"`` or ``"invalid"``.
        field: the request field at fault, as a path (``messages[3].tool_call_id``).
        message: what is wrong and what to do, in full.
    """

    kind: ProblemKind
    field: str
    message: str
    error: TokmanError = dataclasses.field(repr=False, compare=False)


@dataclass(frozen=True)
class RequestCheck:
    """The facts about a request: its tokens, the model's limits and what is wrong.

    Attributes:
        model: the model (or deployment) as requested.
        api: ``"chat"`` or ``"responses"``.
        prompt: where the prompt tokens go (``None`` when the request could not be counted).
        completion_tokens: the completion tokens requested (``None`` when not set).
        completion_param: which parameter set them (``max_completion_tokens``, ...).
        context_window: the model's total window for prompt plus completion.
        max_input_tokens: the model's prompt limit when it is below the window.
        max_output_tokens: the model's maximum completion.
        problems: everything that would make the API reject the request.
    """

    model: str
    api: Api
    prompt: PromptCount | None
    completion_tokens: int | None
    completion_param: str | None
    context_window: int | None
    max_input_tokens: int | None
    max_output_tokens: int | None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """``True`` when no problem was found."""
        return not self.problems

    @property
    def prompt_tokens(self) -> int | None:
        """The ``usage.prompt_tokens`` the API will report."""
        return self.prompt.total if self.prompt is not None else None

    @property
    def total_tokens(self) -> int | None:
        """Prompt plus requested completion: what must fit in the context window."""
        if self.prompt is None:
            return None
        return self.prompt.total + (self.completion_tokens or 0)

    @property
    def remaining(self) -> int | None:
        """Completion tokens still available after the prompt (negative when over)."""
        if self.prompt is None or self.context_window is None:
            return None
        room = self.context_window - self.prompt.total
        return room if self.max_output_tokens is None else min(room, self.max_output_tokens)

    def raise_for_problems(self) -> RequestCheck:
        """Raise the first problem's error; return ``self`` when there is none."""
        if self.problems:
            raise self.problems[0].error
        return self


_RESPONSES_NOTE = (
    "Responses API input is counted as the equivalent Chat Completions messages; OpenAI does "
    "not document the Responses framing, so the count may differ by a few tokens"
)


@dataclass(frozen=True)
class _Limits:
    """The limits validation needs, read from the registry in one place."""

    name: str
    context_window: int
    max_output_tokens: int | None
    max_input_tokens: int | None
    completion_only: bool  # reasoning models accept only max_completion_tokens


def _limits_for(model: str) -> _Limits:
    from tokman import models

    info = models.get(model)
    context = info.context_window
    max_input = info.max_input_tokens if info.max_input_tokens != context else None
    return _Limits(
        name=info.name,
        context_window=context,
        max_output_tokens=info.max_output_tokens,
        max_input_tokens=max_input,
        completion_only=info.reasoning,
    )


def _problem(kind: ProblemKind, field_path: str, error: TokmanError) -> Problem:
    return Problem(kind, field_path, str(error), error)


def _invalid(field_path: str, value: object, expected: str) -> Problem:
    return _problem("invalid", field_path, InvalidRequestError(field_path, value, expected))


def _requested_completion(
    request: Mapping[str, Any], api: Api, limits: _Limits | None, problems: list[Problem]
) -> tuple[int | None, str | None]:
    params = (
        ("max_output_tokens",) if api == "responses" else ("max_completion_tokens", "max_tokens")
    )
    found: tuple[int | None, str | None] = (None, None)
    for param in params:
        value = request.get(param)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(_invalid(param, value, "expected a positive integer number of tokens"))
            continue
        if param == "max_tokens" and limits is not None and limits.completion_only:
            problems.append(
                _invalid(
                    "max_tokens",
                    value,
                    f"{limits.name} is a reasoning model and accepts only max_completion_tokens "
                    "(its limit includes the hidden reasoning tokens); pass "
                    f"max_completion_tokens={value} instead",
                )
            )
        if found[1] is None:
            found = (value, param)
    return found


def _tool_call_problems(messages: Sequence[Any]) -> list[Problem]:
    """Every assistant tool call must be answered, and every tool message must answer one."""
    problems: list[Problem] = []
    pending: dict[str, int] = {}

    def unanswered(before: str) -> None:
        first = min(pending.values())
        ids = sorted(pending, key=pending.__getitem__)
        problems.append(
            _invalid(
                f"messages[{first}].tool_calls",
                ids,
                f"these tool calls have no tool message answering them {before}; add a "
                "{'role': 'tool', 'tool_call_id': <id>, 'content': <result>} message for each, "
                "right after the assistant message",
            )
        )
        pending.clear()

    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            continue  # the counter reports malformed messages
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                problems.append(
                    _invalid(
                        f"messages[{i}].tool_call_id",
                        call_id,
                        "a tool message needs the id of the assistant tool call it answers",
                    )
                )
            elif call_id not in pending:
                problems.append(
                    _invalid(
                        f"messages[{i}].tool_call_id",
                        call_id,
                        "no assistant message right before it made a tool call with this id; "
                        "keep the assistant message with tool_calls before its tool messages, "
                        "or drop this tool message",
                    )
                )
            else:
                del pending[call_id]
            continue
        if pending:
            unanswered(f"before messages[{i}]")
        calls = message.get("tool_calls") if role == "assistant" else None
        if isinstance(calls, Sequence) and not isinstance(calls, str):
            for j, call in enumerate(calls):
                call_id = call.get("id") if isinstance(call, Mapping) else None
                if not isinstance(call_id, str) or not call_id:
                    problems.append(
                        _invalid(
                            f"messages[{i}].tool_calls[{j}].id",
                            call_id,
                            "each tool call needs the id its tool message will answer",
                        )
                    )
                else:
                    pending[call_id] = i
    if pending:
        unanswered("at the end of messages")
    return problems


def _responses_part(where: str, part: Any) -> dict[str, Any]:
    if not isinstance(part, Mapping):
        raise InvalidRequestError(where, part, "expected a content part object")
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": part.get("text")}
    if kind == "input_image":
        image: dict[str, Any] = {"url": part.get("image_url")}
        if part.get("detail") is not None:
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    raise InvalidRequestError(
        f"{where}.type", kind, "tokman counts input_text, output_text and input_image parts"
    )


def _responses_as_chat(request: Mapping[str, Any]) -> dict[str, Any]:
    """The Chat Completions request whose prompt is the Responses request's prompt."""
    messages: list[dict[str, Any]] = []
    instructions = request.get("instructions")
    if instructions is not None:
        messages.append({"role": "system", "content": instructions})
    items = request.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise InvalidRequestError("input", items, "expected a string or a list of input items")
    for i, item in enumerate(items):
        where = f"input[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidRequestError(where, item, "expected an input item object")
        kind = item.get("type", "message")
        if kind == "message":
            content = item.get("content")
            if isinstance(content, list):
                content = [
                    _responses_part(f"{where}.content[{j}]", p) for j, p in enumerate(content)
                ]
            messages.append({"role": item.get("role"), "content": content})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments", "")},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append(
                {"role": "tool", "tool_call_id": item.get("call_id"), "content": item.get("output")}
            )
        else:
            raise InvalidRequestError(
                f"{where}.type",
                kind,
                "tokman counts message, function_call and function_call_output items",
            )
    chat: dict[str, Any] = {"messages": messages}
    tools = request.get("tools")
    if tools:
        chat["tools"] = [
            {
                "type": "function",
                "function": {k: v for k, v in t.items() if k not in ("type", "strict")},
            }
            if isinstance(t, Mapping) and t.get("type") == "function" and "function" not in t
            else t
            for t in tools
        ]
    if request.get("tool_choice") is not None:
        chat["tool_choice"] = request["tool_choice"]
    return chat


def _breakdown(prompt: PromptCount) -> str:
    """Disjoint parts that add up to the prompt total, as one line."""
    system = sum(
        m.tokens - m.overhead - m.images
        for m in prompt.messages
        if m.role in ("system", "developer")
    )
    history = [m for m in prompt.messages if m.role not in ("system", "developer")]
    history_text = sum(m.tokens - m.overhead - m.images for m in history)
    return (
        f"system {system:,}, tools {prompt.tools:,}, images {prompt.images:,}, "
        f"history {history_text:,} in {len(history)} message{'' if len(history) == 1 else 's'}, "
        f"overhead {prompt.overhead:,}"
    )


_SNAPSHOT = re.compile(r"-(\d{4}|\d{4}-\d{2}-\d{2})$")


def _bigger_models(limits: _Limits, needed: int) -> list[str]:
    """Up to three current models that would fit: same family first, then the nearest price."""
    from tokman import models

    current = models.get(limits.name)
    price = current.input_price

    def distance(info: models.ModelInfo) -> tuple[int, float, str]:
        other = info.input_price
        gap = abs(math.log(other / price)) if other and price else math.inf
        return (0 if info.family == current.family else 1, gap, info.name)

    candidates = [
        info
        for info in models.list(kind="chat")
        if info.context_window >= needed
        and info.max_input_tokens >= min(needed, info.context_window)
        and info.name != limits.name
        and not _SNAPSHOT.search(info.name)
    ]
    candidates.sort(key=distance)
    return [f"{info.name} ({info.context_window:,})" for info in candidates[:3]]


def _fit_problems(
    model: str,
    limits: _Limits,
    prompt: PromptCount,
    completion: int | None,
    param: str | None,
) -> list[Problem]:
    problems: list[Problem] = []
    out_param = param or "max_completion_tokens"
    if (
        completion is not None
        and limits.max_output_tokens is not None
        and completion > limits.max_output_tokens
    ):
        problems.append(
            _problem(
                "max_output",
                out_param,
                InvalidRequestError(
                    out_param,
                    completion,
                    f"{limits.name} returns at most {limits.max_output_tokens:,} completion "
                    f"tokens; lower {out_param} to {limits.max_output_tokens:,} or less",
                ),
            )
        )
    completion_part = completion or 0
    total = prompt.total + completion_part
    over_input = limits.max_input_tokens is not None and prompt.total > limits.max_input_tokens
    if total <= limits.context_window and not over_input:
        return problems
    if over_input:
        assert limits.max_input_tokens is not None
        limit, used, what = limits.max_input_tokens, prompt.total, "input limit"
        head = f"{prompt.total:,} prompt tokens"
        room = limits.max_input_tokens
    else:
        limit, used, what = limits.context_window, total, "context window"
        head = f"{prompt.total:,} prompt tokens"
        if completion is not None:
            head += f" + {completion:,} completion tokens ({out_param}) = {total:,} tokens"
        room = limits.context_window - completion_part
        if limits.max_input_tokens is not None:
            room = min(room, limits.max_input_tokens)
    fixes = [
        f"trim the history to {room:,} tokens with tokman.trim_messages(messages, "
        f"model={model!r}, max_tokens={room})",
        "split long documents with tokman.chunk",
    ]
    if completion is not None and not over_input and prompt.total < limits.context_window:
        fixes.append(f"lower {out_param} to {limits.context_window - prompt.total:,}")
    bigger = _bigger_models(limits, used)
    if bigger:
        fixes.append("use a model with a bigger window: " + ", ".join(bigger))
    message = (
        f"Request for {model} does not fit: {head}, over the {limit:,}-token {what} by "
        f"{used - limit:,}.\nPrompt: {_breakdown(prompt)}.\nTo fix: " + "; or ".join(fixes) + "."
    )
    error = ContextWindowExceededError(message, tokens=used, limit=limit, breakdown=prompt)
    problems.append(_problem("context_window", "messages", error))
    return problems


def check_request(**request: Any) -> RequestCheck:
    """Every problem with a request, without raising; see :func:`validate_request`.

    >>> check = check_request(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}],
    ...                       max_completion_tokens=100)
    >>> check.ok, check.prompt_tokens, check.remaining
    (True, 8, 16384)
    """
    api: Api = "responses" if "input" in request and "messages" not in request else "chat"
    model = request.get("model")
    problems: list[Problem] = []
    empty = RequestCheck(str(model), api, None, None, None, None, None, None)
    if not isinstance(model, str) or not model:
        problems.append(_invalid("model", model, "pass the model or Azure deployment name"))
        return _finish(empty, problems)
    try:
        limits = _limits_for(model)
    except UnknownModelError as exc:
        return _finish(empty, [_problem("invalid", "model", exc)])
    completion, param = _requested_completion(request, api, limits, problems)
    prompt: PromptCount | None = None
    try:
        chat = dict(request) if api == "chat" else _responses_as_chat(request)
        messages = chat.get("messages")
        if not isinstance(messages, list) or not messages:
            raise InvalidRequestError(
                "messages", messages, "expected a non-empty list of {'role': ..., 'content': ...}"
            )
        problems.extend(_tool_call_problems(messages))
        chat["model"] = limits.name
        prompt = count_prompt_details(**chat)
    except InvalidRequestError as exc:
        problems.append(_problem("invalid", exc.field, exc))
    if prompt is not None:
        if api == "responses":
            prompt = _noted(prompt, _RESPONSES_NOTE)
        problems.extend(_fit_problems(model, limits, prompt, completion, param))
    check = RequestCheck(
        model=model,
        api=api,
        prompt=prompt,
        completion_tokens=completion,
        completion_param=param,
        context_window=limits.context_window,
        max_input_tokens=limits.max_input_tokens,
        max_output_tokens=limits.max_output_tokens,
    )
    return _finish(check, problems)


def _noted(prompt: PromptCount, note: str) -> PromptCount:
    return dataclasses.replace(prompt, uncertain=(*prompt.uncertain, note))


def _finish(check: RequestCheck, problems: list[Problem]) -> RequestCheck:
    return dataclasses.replace(check, problems=tuple(problems))


def validate_request(**request: Any) -> RequestCheck:
    """Check a request before sending it; raise when the API would reject it.

    Takes the keyword arguments of ``client.chat.completions.create`` (or the Responses API's
    ``input=``/``instructions=``/``max_output_tokens=``) and checks that the prompt plus the
    requested completion fits the model's context window, that the completion fits its
    maximum output, that the right completion parameter is used for the model family, and
    that the messages are well formed (tool calls answered by tool messages).

    Returns:
        The :class:`RequestCheck`, when the request is fine.

    Raises:
        ContextWindowExceededError: the tokens do not fit; the message gives the breakdown,
            the limit, by how much it is over and what to do.
        InvalidRequestError: a field is missing, malformed or not accepted by this model.
        UnknownModelError: the model or deployment is not known.

    >>> validate_request(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}]).prompt_tokens
    8
    """
    return check_request(**request).raise_for_problems()
