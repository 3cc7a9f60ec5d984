"""Check a request against the model's limits and the API's rules before it is sent.

``check_request(**request)`` never raises for a problem with the request: it returns a
:class:`RequestCheck` holding the prompt breakdown, the limits and every problem found.
``validate_request(**request)`` is the same check, raising the first problem as a typed error:
``ContextWindowExceededError`` when the tokens do not fit, ``InvalidRequestError`` when the
request is malformed or breaks a parameter rule. Both take the keyword arguments of
``client.chat.completions.create(...)``, of ``client.responses.create(...)`` (``input=``,
``instructions=``, ``max_output_tokens=``) or, for an embeddings model, of
``client.embeddings.create(...)``; the request is read by ``tokman.requests``.

Unlike counting, checking is strict about names: an argument that is not a parameter of that
API's ``create()`` (``max_token=``) is a problem with the closest real name, because the API
rejects it too. Every fix a message suggests is written so that following it literally makes
the request pass (``tests/test_suggested_fixes.py`` does exactly that).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tokman._names import parse_model_name
from tokman.counting.chat import PromptCount, count_normalized
from tokman.counting.embeddings import count_inputs
from tokman.errors import (
    ContextWindowExceededError,
    InvalidRequestError,
    TokmanError,
    UnknownModelError,
)
from tokman.requests import Api, NormalizedRequest, normalize_request

__all__ = ["Problem", "RequestCheck", "check_request", "validate_request"]

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
        api: ``"chat"``, ``"responses"`` or ``"embeddings"``.
        prompt: where the prompt tokens go (``None`` when the request could not be counted,
            and for embeddings, which have no chat framing).
        completion_tokens: the completion tokens requested (``None`` when not set).
        completion_param: which parameter set them (``max_completion_tokens``, ...).
        context_window: the model's total window for prompt plus completion.
        max_input_tokens: the model's prompt limit when it is below the window.
        max_output_tokens: the model's maximum completion.
        problems: everything that would make the API reject the request.
        input_tokens: an embeddings request's tokens, one count per input (``None`` for
            chat and Responses requests, or when the input could not be read).
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
    input_tokens: tuple[int, ...] | None = None

    @property
    def ok(self) -> bool:
        """``True`` when no problem was found."""
        return not self.problems

    @property
    def prompt_tokens(self) -> int | None:
        """The ``usage.prompt_tokens`` the API will report."""
        if self.input_tokens is not None:
            return sum(self.input_tokens)
        return self.prompt.total if self.prompt is not None else None

    @property
    def total_tokens(self) -> int | None:
        """Prompt plus requested completion: what must fit in the context window."""
        if self.input_tokens is not None:
            return sum(self.input_tokens)
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


@dataclass(frozen=True)
class _Limits:
    """The limits validation needs, read from the registry in one place."""

    name: str
    context_window: int
    max_output_tokens: int | None
    max_input_tokens: int | None
    completion_only: bool  # reasoning models accept only max_completion_tokens
    kind: str  # "chat" or "embedding"
    no_system: bool  # refuses system and developer messages


# Models served only by the legacy Completions API (client.completions.create(prompt=...)), not by
# Chat Completions or Responses: LiteLLM files gpt-3.5-turbo-instruct* and azure
# gpt-35-turbo-instruct* as mode "completion" (model-registry-facts.md); text-davinci-*,
# code-davinci-*, davinci-002 and babbage-002 are the base/legacy names of tiktoken's table
# (encodings/_models.py), all Completions-only.
_COMPLETIONS_ONLY = (
    "text-davinci-",
    "code-davinci-",
    "davinci-002",
    "babbage-002",
    "gpt-3.5-turbo-instruct",
    "gpt-35-turbo-instruct",
)
# OpenAI embeddings reference / AZ-M (model-registry-facts.md): at most 2,048 inputs per request
_MAX_EMBEDDING_INPUTS = 2048


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
        kind=info.kind,
        no_system=not info.system_messages,
    )


def _completions_only(model: str) -> Problem | None:
    """The problem for a legacy Completions model, which no API tokman checks serves."""
    if not model.strip() or not parse_model_name(model).base.startswith(_COMPLETIONS_ONLY):
        return None
    return _invalid(
        "model",
        model,
        f"{model} is a legacy Completions model (client.completions.create(prompt=...)); "
        "Chat Completions and the Responses API do not serve it, and tokman checks only chat, "
        "Responses and embeddings requests. Use a chat model such as model='gpt-4o-mini', or "
        f"count the prompt text with tokman.count(prompt, model={model!r})",
    )


def _problem(kind: ProblemKind, field_path: str, error: TokmanError) -> Problem:
    return Problem(kind, field_path, str(error), error)


def _invalid(field_path: str, value: object, expected: str) -> Problem:
    return _problem("invalid", field_path, InvalidRequestError(field_path, value, expected))


def _tool_call_errors(request: NormalizedRequest) -> list[InvalidRequestError]:
    """Every assistant tool call must be answered, and every tool message must answer one.

    The fixes are worded for the request's own form: tool messages for Chat Completions,
    ``function_call_output`` items for the Responses API.
    """
    errors: list[InvalidRequestError] = []
    pending: dict[str, int] = {}
    messages = request.messages
    responses = request.api == "responses"

    def unanswered(before: str) -> None:
        first = min(pending.values())
        ids = sorted(pending, key=pending.__getitem__)
        fix = (
            "add a {'type': 'function_call_output', 'call_id': <id>, 'output': <result>} item "
            "for each, right after the function_call items"
            if responses
            else "add a {'role': 'tool', 'tool_call_id': <id>, 'content': <result>} message "
            "for each, right after the assistant message"
        )
        errors.append(
            InvalidRequestError(
                f"messages[{first}].tool_calls",
                ids,
                f"these tool calls have no {'output' if responses else 'tool message'} "
                f"answering them {before}; {fix}",
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
                errors.append(
                    InvalidRequestError(
                        f"messages[{i}].tool_call_id",
                        call_id,
                        "a tool message needs the id of the assistant tool call it answers",
                    )
                )
            elif call_id not in pending:
                errors.append(
                    InvalidRequestError(
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
            unanswered(f"before {request.request_path(f'messages[{i}]')}")
        calls = message.get("tool_calls") if role == "assistant" else None
        if isinstance(calls, Sequence) and not isinstance(calls, str):
            for j, call in enumerate(calls):
                call_id = call.get("id") if isinstance(call, Mapping) else None
                if not isinstance(call_id, str) or not call_id:
                    errors.append(
                        InvalidRequestError(
                            f"messages[{i}].tool_calls[{j}].id",
                            call_id,
                            "each tool call needs the id its tool message will answer",
                        )
                    )
                else:
                    pending[call_id] = i
    if pending:
        unanswered("at the end of " + ("input" if responses else "messages"))
    return errors


def _rule_errors(request: NormalizedRequest, limits: _Limits) -> list[InvalidRequestError]:
    """The parameter rules of this model: completion parameter, system role, tool_choice."""
    errors: list[InvalidRequestError] = []
    if limits.completion_only and request.completion_param == "max_tokens":
        value = request.completion_tokens
        errors.append(
            InvalidRequestError(
                "max_tokens",
                value,
                f"{limits.name} is a reasoning model and accepts only max_completion_tokens "
                "(its limit includes the hidden reasoning tokens); pass "
                f"max_completion_tokens={value} instead",
            )
        )
    if limits.no_system and request.api == "chat":
        for i, message in enumerate(request.messages):
            role = message.get("role") if isinstance(message, Mapping) else None
            if role in ("system", "developer"):
                errors.append(
                    InvalidRequestError(
                        f"messages[{i}].role",
                        role,
                        f"{limits.name} does not accept {role} messages (the API answers 400 "
                        "unsupported_value); send the instructions as a user message: change "
                        f"messages[{i}].role to 'user', or use a model that takes them (o1, "
                        "o3-mini)",
                    )
                )
    errors.extend(_choice_errors(request))
    return errors


def _choice_errors(request: NormalizedRequest) -> list[InvalidRequestError]:
    """A named ``tool_choice``/``function_call`` must name a function that is defined."""
    definitions: Sequence[Any] | None
    if request.functions is not None:
        field_path, choice, definitions = "function_call", request.function_call, request.functions
        name = choice.get("name") if isinstance(choice, Mapping) else None
    else:
        field_path, choice, tools = "tool_choice", request.tool_choice, request.tools
        function = choice.get("function") if isinstance(choice, Mapping) else None
        name = function.get("name") if isinstance(function, Mapping) else None
        definitions = (
            [t.get("function") if isinstance(t, Mapping) else None for t in tools]
            if isinstance(tools, (list, tuple))
            else None
        )
    if not isinstance(name, str) or not isinstance(definitions, (list, tuple)):
        return []  # absent, or malformed: the counter reports the shape
    defined = [d.get("name") for d in definitions if isinstance(d, Mapping)]
    if not defined or name in defined:
        return []
    listed = ", ".join(repr(d) for d in defined)
    where = "functions" if field_path == "function_call" else "tools"
    return [
        InvalidRequestError(
            field_path,
            choice,
            f"it names the function {name!r}, which is not defined in {where} (defined: "
            f"{listed}); name one of those, or add the definition of {name!r} to {where}",
        )
    ]


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


def _bigger_models(
    limits: _Limits, needed: int, request: NormalizedRequest, system: bool
) -> list[str]:
    """Up to three current models that accept this request as it is: same family first, then
    the nearest price.

    A candidate must take its completion parameter and size and its system messages, and its
    own count of the prompt (its tokenizer, its image rules) must fit, so "use model X" works
    when followed literally. Only a few candidates are counted: this is the error path.
    """
    from tokman import models

    current = models.get(limits.name)
    price = current.input_price
    completion = request.completion_tokens or 0

    def distance(info: models.ModelInfo) -> tuple[int, float, str]:
        other = info.input_price
        gap = abs(math.log(other / price)) if other and price else math.inf
        return (0 if info.family == current.family else 1, gap, info.name)

    def fits(info: models.ModelInfo) -> bool:
        try:
            tokens = count_normalized(request, model=info.name).total
        except (InvalidRequestError, UnknownModelError):
            return False
        return tokens <= info.max_input_tokens and tokens + completion <= info.context_window

    candidates = [
        info
        for info in models.list(kind="chat")
        if info.context_window >= needed
        and info.max_input_tokens >= min(needed, info.context_window)
        and info.name != limits.name
        and not _SNAPSHOT.search(info.name)
        and not (info.reasoning and request.completion_param == "max_tokens")
        and (info.max_output_tokens or 0) >= completion
        and not (system and not info.system_messages)
    ]
    candidates.sort(key=distance)
    found = [info for info in candidates[:6] if fits(info)][:3]
    return [f"{info.name} ({info.context_window:,})" for info in found]


def _trim_fix(model: str, request: NormalizedRequest, prompt: PromptCount, room: int) -> str | None:
    """The ``trim_messages`` call that makes the prompt fit ``room``, or ``None`` if none can.

    Trimming keeps system/developer messages and tools and cuts at least down to the newest
    message's framing, so when those alone exceed ``room`` no trim can help. ``shorten='tail'``
    is part of the call because dropping old turns is not always enough (one long message);
    it cuts the newest message only when it must.
    """
    if request.api != "chat" or request.functions is not None or not prompt.messages:
        return None
    kept = prompt.priming + prompt.tools + prompt.system + prompt.messages[-1].overhead + 2
    if kept > room:
        return None
    args = f"messages, model={model!r}, max_tokens={room}"
    if request.tools:
        args += ", tools=tools"
    if request.tool_choice is not None:
        args += ", tool_choice=tool_choice"
    return (
        f"trim the history to {room:,} tokens with tokman.trim_messages({args}, "
        "shorten='tail') and send result.messages"
    )


def _fit_problems(
    model: str,
    limits: _Limits,
    request: NormalizedRequest,
    prompt: PromptCount,
) -> list[Problem]:
    problems: list[Problem] = []
    completion, param = request.completion_tokens, request.completion_param
    out_param = param or (
        "max_output_tokens" if request.api == "responses" else "max_completion_tokens"
    )
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
    fixes: list[str] = []
    trim = _trim_fix(model, request, prompt, room)
    if trim is not None:
        fixes.append(trim)
    elif request.api == "responses":
        fixes.append(f"drop the oldest input items until the prompt is at most {room:,} tokens")
    fixes.append("split long documents with tokman.chunk")
    if completion is not None and not over_input and prompt.total < limits.context_window:
        fixes.append(f"lower {out_param} to {limits.context_window - prompt.total:,}")
    bigger = _bigger_models(limits, used, request, prompt.system > 0)
    if bigger:
        fixes.append("use a model with a bigger window: " + ", ".join(bigger))
    message = (
        f"Request for {model} does not fit: {head}, over the {limit:,}-token {what} by "
        f"{used - limit:,}.\nPrompt: {_breakdown(prompt)}.\nTo fix: " + "; or ".join(fixes) + "."
    )
    error = ContextWindowExceededError(message, tokens=used, limit=limit, breakdown=prompt)
    field_path = "input" if request.api == "responses" else "messages"
    problems.append(_problem("context_window", field_path, error))
    return problems


def _embedding_problems(
    model: str, limits: _Limits, request: NormalizedRequest
) -> tuple[list[Problem], tuple[int, ...] | None]:
    """Each input against the model's input limit; the per-input token counts."""
    problems: list[Problem] = []
    if len(request.inputs) > _MAX_EMBEDDING_INPUTS:
        problems.append(
            _invalid(
                "input",
                f"<{len(request.inputs)} inputs>",
                f"the embeddings API takes at most {_MAX_EMBEDDING_INPUTS:,} inputs per "
                "request; send them in batches of 2,048",
            )
        )
    limit = limits.max_input_tokens or limits.context_window
    try:
        counts = count_inputs(request, model=limits.name)
    except InvalidRequestError as exc:
        return [*problems, _problem("invalid", exc.field, exc)], None
    for where, item, tokens in zip(request.sources, request.inputs, counts, strict=True):
        if tokens > limit:
            fix = (
                f"split it with tokman.chunk(text, model={model!r}, max_tokens={limit}) and "
                "embed each chunk"
                if isinstance(item, str)
                else f"split the token list into pieces of at most {limit:,} ids"
            )
            error = ContextWindowExceededError(
                f"Embeddings request for {model} does not fit: {where} has {tokens:,} tokens, "
                f"over the {limit:,}-token input limit by {tokens - limit:,}. To fix: {fix}.",
                tokens=tokens,
                limit=limit,
            )
            problems.append(_problem("context_window", where, error))
    return problems, tuple(counts)


def check_request(**request: Any) -> RequestCheck:
    """Every problem with a request, without raising; see :func:`validate_request`.

    >>> check = check_request(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}],
    ...                       max_completion_tokens=100)
    >>> check.ok, check.prompt_tokens, check.remaining
    (True, 8, 16384)
    """
    model = request.get("model")
    guess: Api = "responses" if "input" in request and "messages" not in request else "chat"
    empty = RequestCheck(str(model), guess, None, None, None, None, None, None)
    if not isinstance(model, str) or not model:  # what can be read without a model, model first
        unread = normalize_request(request).errors
        return _finish(empty, [_problem("invalid", e.field, e) for e in unread])
    try:
        limits = _limits_for(model)
    except (UnknownModelError, InvalidRequestError) as exc:
        legacy = _completions_only(model)
        return _finish(empty, [legacy or _problem("invalid", "model", exc)])
    normalized = normalize_request(request, model_kind=limits.kind)
    problems = [_problem("invalid", e.field, e) for e in normalized.errors]
    problems += [
        _problem("invalid", e.field, e)
        for e in map(normalized.rebased, _rule_errors(normalized, limits))
    ]
    prompt: PromptCount | None = None
    input_tokens: tuple[int, ...] | None = None
    if normalized.api == "embeddings":
        if not normalized.prompt_errors:
            found, input_tokens = _embedding_problems(model, limits, normalized)
            problems += found
    elif not normalized.prompt_errors:
        problems += [
            _problem("invalid", e.field, e)
            for e in map(normalized.rebased, _tool_call_errors(normalized))
        ]
        try:
            prompt = count_normalized(normalized, model=limits.name)
        except (InvalidRequestError, UnknownModelError) as exc:
            where = exc.field if isinstance(exc, InvalidRequestError) else "model"
            problems.append(_problem("invalid", where, exc))
        if prompt is not None:
            problems += _fit_problems(model, limits, normalized, prompt)
    check = RequestCheck(
        model=model,
        api=normalized.api,
        prompt=prompt,
        completion_tokens=normalized.completion_tokens,
        completion_param=normalized.completion_param,
        context_window=limits.context_window,
        max_input_tokens=limits.max_input_tokens,
        max_output_tokens=limits.max_output_tokens,
        input_tokens=input_tokens,
    )
    return _finish(check, problems)


def _finish(check: RequestCheck, problems: list[Problem]) -> RequestCheck:
    return dataclasses.replace(check, problems=tuple(problems))


def validate_request(**request: Any) -> RequestCheck:
    """Check a request before sending it; raise when the API would reject it.

    Takes the keyword arguments of ``client.chat.completions.create`` (or the Responses API's
    ``input=``/``instructions=``/``max_output_tokens=``, or ``client.embeddings.create`` for
    an embeddings model) and checks that the prompt plus the requested completion fits the
    model's context window, that the completion fits its maximum output, that every argument
    is a parameter of that API (a typo names the closest one), that only one completion limit
    is set and it is the one the model family takes, that a named ``tool_choice`` is defined
    in ``tools``, that the model accepts the message roles (o1-mini takes no system message),
    and that the messages are well formed (tool calls answered by tool messages). Each
    embeddings input is checked against the model's input limit.

    Returns:
        The :class:`RequestCheck`, when the request is fine.

    Raises:
        ContextWindowExceededError: the tokens do not fit; the message gives the breakdown,
            the limit, by how much it is over and what to do.
        InvalidRequestError: a field is missing, malformed, misspelt or not accepted by this
            model; text that is not valid UTF-8; a legacy Completions-only model.
        UnknownModelError: the model or deployment is not known.

    >>> validate_request(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}]).prompt_tokens
    8
    """
    return check_request(**request).raise_for_problems()
