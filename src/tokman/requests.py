"""One reading of a request, whatever API it is for: Chat Completions, Responses or embeddings.

``normalize_request(request)`` takes the keyword arguments of ``client.chat.completions.create``,
``client.responses.create`` or ``client.embeddings.create`` and returns a
:class:`NormalizedRequest`: the API, the model, the prompt as Chat Completions messages (the
Responses ``input``/``instructions`` and flat tools converted), the completion limit and the
parameter that set it, the ``n``/``best_of`` multipliers, the streaming flags and every other
argument untouched. Counting, validation, pricing, the SDK integration and the gateway all read
requests through it, so a request shape is understood in exactly one place.

It never raises for a bad request: what it could not read is in ``errors`` (typed
``InvalidRequestError`` values whose field is the *request's* path, e.g. ``input[2].call_id``),
and each caller raises or reports the ones that matter to it: counting the prompt errors,
pricing those and the completion-limit errors, validation all of them. It imports nothing from
tokman but ``errors``: it knows shapes, not models.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tokman.errors import InvalidRequestError

__all__ = [
    "API_PARAMETERS",
    "LIMIT_FIELDS",
    "PROMPT_FIELDS",
    "Api",
    "NormalizedRequest",
    "normalize_request",
]

Api = Literal["chat", "responses", "embeddings"]
Message = Mapping[str, Any]

_SDK_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")

#: The keyword arguments each ``create()`` accepts: openai-python 3.57.0's signatures of
#: ``chat.completions.create``, ``responses.create`` and ``embeddings.create`` (SDK options
#: ``extra_headers``/``extra_query``/``extra_body``/``timeout`` included), plus tokman's own
#: ``image_sizes`` for counting. A test compares them with the installed SDK.
API_PARAMETERS: dict[Api, frozenset[str]] = {
    "chat": frozenset(
        {
            "messages", "model", "audio", "frequency_penalty", "function_call", "functions",
            "logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "metadata",
            "modalities", "moderation", "n", "parallel_tool_calls", "prediction",
            "presence_penalty", "prompt_cache_key", "prompt_cache_options",
            "prompt_cache_retention", "reasoning_effort", "response_format",
            "safety_identifier", "seed", "service_tier", "stop", "store", "stream",
            "stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p",
            "user", "verbosity", "web_search_options", *_SDK_OPTIONS, "image_sizes",
        }
    ),
    "responses": frozenset(
        {
            "access_programs", "background", "background_options", "context_management",
            "conversation", "image", "include", "input", "instructions", "max_output_tokens",
            "max_tool_calls", "metadata", "model", "moderation", "parallel_tool_calls",
            "previous_response_id", "prompt", "prompt_cache_key", "prompt_cache_options",
            "prompt_cache_retention", "reasoning", "safety_identifier", "service_tier", "store",
            "stream", "stream_options", "temperature", "text", "tool_choice", "tools",
            "top_logprobs", "top_p", "truncation", "user", *_SDK_OPTIONS, "image_sizes",
        }
    ),
    "embeddings": frozenset(
        {"input", "model", "dimensions", "encoding_format", "user", *_SDK_OPTIONS}
    ),
}  # fmt: skip

# a parameter of one API used in another: the name that API uses instead (better than difflib)
_RENAMED: dict[Api, dict[str, str]] = {
    "chat": {
        "max_output_tokens": "max_completion_tokens",
        "input": "messages",
        "instructions": "messages (as a first {'role': 'system', 'content': ...} message)",
    },
    "responses": {
        "max_tokens": "max_output_tokens",
        "max_completion_tokens": "max_output_tokens",
        "messages": "input",
        "n": "several requests (the Responses API returns one output per request)",
        "response_format": "text={'format': ...}",
        "reasoning_effort": "reasoning={'effort': ...}",
    },
    "embeddings": {"messages": "input"},
}

_CREATE = {
    "chat": "client.chat.completions.create",
    "responses": "client.responses.create",
    "embeddings": "client.embeddings.create",
}
_LIMIT_PARAMS: dict[Api, tuple[str, ...]] = {
    "chat": ("max_completion_tokens", "max_tokens"),
    "responses": ("max_output_tokens",),
    "embeddings": (),
}
#: Fields whose errors mean the prompt could not be read (counting raises these).
PROMPT_FIELDS = frozenset(
    {
        "messages", "input", "instructions", "tools", "tool_choice", "functions",
        "function_call", "response_format", "image_sizes",
    }
)  # fmt: skip
#: Fields whose errors mean the completion limit could not be read (pricing raises these).
LIMIT_FIELDS = frozenset({"max_tokens", "max_completion_tokens", "max_output_tokens"})
_READ = PROMPT_FIELDS | LIMIT_FIELDS | {"model", "n", "best_of", "stream", "stream_options"}
# the arguments each API's reading consumes; every other one is kept in ``extra``
_CONSUMED = {api: _READ & known for api, known in API_PARAMETERS.items()}
_ROOT = re.compile(r"[A-Za-z_]\w*")
_MESSAGE_PATH = re.compile(r"messages\[(\d+)\]")
_CALL_PATH = re.compile(r"\.tool_calls\[(\d+)\]")
_TOOL_PATH = re.compile(r"tools\[(\d+)\]\.function")


def _root_field(path: str) -> str:
    """The top-level parameter of a field path: ``messages[2].content`` -> ``messages``."""
    match = _ROOT.match(path)
    return match.group(0) if match else path


@dataclass(frozen=True, slots=True)
class NormalizedRequest:
    """A request read once: what every part of tokman needs to know about it.

    Attributes:
        api: ``"chat"``, ``"responses"`` or ``"embeddings"``.
        model: the model or deployment name (``None`` when missing or not a string).
        messages: the prompt as Chat Completions messages, the chat request's own list
            (not a copy) or the Responses input converted; empty for embeddings.
        tools: tool definitions in the Chat Completions form (Responses' flat form converted).
        tool_choice: in the Chat Completions form.
        functions, function_call, response_format: the legacy/chat fields, untouched.
        image_sizes: tokman's ``{url: (width, height)}`` for remote images.
        inputs: an embeddings request's inputs, each a string or a list of token ids.
        completion_tokens: the requested completion limit (``None`` when not set).
        completion_param: the parameter that set it (``max_completion_tokens``, ...).
        n: choices requested (1 unless ``n`` is set).
        best_of: server-side candidates (legacy; ``None`` unless set).
        stream: whether the response streams.
        include_usage: whether the stream ends with usage (Chat: ``stream_options=
            {"include_usage": True}``; a Responses stream always does, in
            ``response.completed``).
        extra: every other argument, untouched (``temperature``, ``user``, typos, ...).
        unknown: the names in ``extra`` that are not parameters of this API's ``create()``.
        errors: everything that could not be read, as request-path ``InvalidRequestError``.
    """

    api: Api
    model: str | None
    messages: Sequence[Message] = ()
    tools: Sequence[Any] | None = None
    tool_choice: Any = None
    functions: Sequence[Any] | None = None
    function_call: Any = None
    response_format: Any = None
    image_sizes: Mapping[str, tuple[int, int]] | None = None
    inputs: tuple[str | Sequence[int], ...] = ()
    completion_tokens: int | None = None
    completion_param: str | None = None
    n: int = 1
    best_of: int | None = None
    stream: bool = False
    include_usage: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()
    errors: tuple[InvalidRequestError, ...] = ()
    # the request path of each Responses message / embeddings input, and of each tool call
    sources: tuple[str, ...] = field(default=(), repr=False)
    call_sources: Mapping[tuple[int, int], str] = field(default_factory=dict, repr=False)
    flat_tools: bool = field(default=False, repr=False)
    tool_outputs: frozenset[int] = field(default=frozenset(), repr=False)

    @property
    def prompt_errors(self) -> tuple[InvalidRequestError, ...]:
        """The errors that leave the prompt unreadable."""
        return tuple(e for e in self.errors if _root_field(e.field) in PROMPT_FIELDS)

    @property
    def limit_errors(self) -> tuple[InvalidRequestError, ...]:
        """The errors that leave the completion limit unreadable or ambiguous."""
        return tuple(e for e in self.errors if _root_field(e.field) in LIMIT_FIELDS)

    @property
    def copies(self) -> int:
        """How many completions the server generates: ``max(n, best_of)`` (for reserving
        ``completion_tokens * copies`` against a budget or rate limit)."""
        return max(self.n, self.best_of or 1)

    def request_path(self, path: str) -> str:
        """The request's own path for a path into ``messages``/``tools`` of the chat form.

        Counting reports ``messages[1].content[0].text``; for a Responses request that is
        ``input[0].content[0].text`` (or ``instructions``, ``input[3].call_id``, ...).
        """
        if self.api != "responses":
            return path
        tool = _TOOL_PATH.match(path)
        if tool is not None:
            return f"tools[{tool.group(1)}]" + path[tool.end() :] if self.flat_tools else path
        if path == "messages":
            return "input"
        match = _MESSAGE_PATH.match(path)
        if match is None or int(match.group(1)) >= len(self.sources):
            return path
        i = int(match.group(1))
        source, rest = self.sources[i], path[match.end() :]
        call = _CALL_PATH.match(rest)
        if call is not None:
            where = self.call_sources.get((i, int(call.group(1))), source)
            rest = rest[call.end() :]
            for chat, responses in ((".function", ""), (".id", ".call_id")):
                if rest.startswith(chat):
                    rest = responses + rest[len(chat) :]
            return where + rest
        if rest.startswith(".tool_calls"):
            return source
        if "[" not in source:  # instructions / a string input: the content is the field
            return source + rest.removeprefix(".content")
        if i in self.tool_outputs:
            rest = rest.replace(".tool_call_id", ".call_id", 1).replace(".content", ".output", 1)
        return source + rest.replace(".image_url.url", ".image_url", 1).replace(
            ".image_url.detail", ".detail", 1
        )

    def rebased(self, error: InvalidRequestError) -> InvalidRequestError:
        """``error`` with its field as the request's path (itself when already so)."""
        path = self.request_path(error.field)
        if path == error.field:
            return error
        moved = InvalidRequestError(path, error.value, error.expected)
        moved.__cause__ = error.__cause__
        return moved


def _int(name: str, value: object, errors: list[InvalidRequestError], what: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        errors.append(InvalidRequestError(name, value, f"expected a positive integer {what}"))
        return None
    return value


def _unknown(api: Api, name: str, value: object) -> InvalidRequestError:
    renamed = _RENAMED[api].get(name)
    create = _CREATE[api]
    if renamed is not None:
        fix = f"{create}() has no {name} parameter; use {renamed}"
    else:
        close = difflib.get_close_matches(name, sorted(API_PARAMETERS[api]), n=3, cutoff=0.6)
        if close:
            fix = (
                f"{create}() has no {name} parameter; did you mean {close[0]}? Rename {name}= "
                f"to {close[0]}="
            )
            if len(close) > 1:
                fix += " (other close names: " + ", ".join(close[1:]) + ")"
        else:
            fix = (
                f"{create}() has no {name} parameter and the API rejects unknown arguments; "
                f"remove it (to send a provider-specific field, put it in extra_body)"
            )
    return InvalidRequestError(name, value, fix)


def _infer(request: Mapping[str, Any], model_kind: str | None) -> Api:
    if model_kind == "embedding":
        return "embeddings"
    if "messages" in request or "input" not in request:
        return "chat"
    if model_kind is None:
        items = request.get("input")
        tokens = (
            isinstance(items, list)
            and bool(items)
            and all(isinstance(t, (int, list)) for t in items)
        )
        if tokens or "dimensions" in request or "encoding_format" in request:
            return "embeddings"
    return "responses"


def normalize_request(
    request: Mapping[str, Any], *, api: Api | None = None, model_kind: str | None = None
) -> NormalizedRequest:
    """Read a ``create()`` request of any of the three APIs; never raises for a bad request.

    A malformed request is described by the result's ``errors`` (each with its request path),
    so validation can report all of them; only a bad ``api`` argument raises.

    Args:
        request: the keyword arguments, as passed to the SDK.
        api: the API when the caller knows it; otherwise inferred: ``messages=`` is Chat
            Completions, ``input=`` is the Responses API unless the model is an embeddings
            model (``model_kind="embedding"``) or the input is token ids.
        model_kind: the registry's ``kind`` of the model, when known (``"chat"``,
            ``"embedding"``): a chat model's ``input=`` is never read as embeddings.

    >>> r = normalize_request({"model": "gpt-4o", "instructions": "Be brief.", "input": "Hi",
    ...                        "max_output_tokens": 50, "stream": True})
    >>> r.api, [m["role"] for m in r.messages], r.completion_param, r.include_usage
    ('responses', ['system', 'user'], 'max_output_tokens', True)
    """
    if not isinstance(request, Mapping):
        bad = InvalidRequestError("request", request, "the create() keyword arguments as a dict")
        return NormalizedRequest("chat", None, errors=(bad,))
    if api is not None and (not isinstance(api, str) or api not in API_PARAMETERS):
        raise InvalidRequestError(
            "api", api, f"None (infer it from the request) or one of {', '.join(API_PARAMETERS)}"
        )
    kind: Api = api if api is not None else _infer(request, model_kind)
    errors: list[InvalidRequestError] = []
    model = request.get("model")
    if not isinstance(model, str) or not model:
        errors.append(
            InvalidRequestError("model", model, "pass the model or Azure deployment name")
        )
        model = None
    known = API_PARAMETERS[kind]
    consumed = _CONSUMED[kind]
    extra = {k: v for k, v in request.items() if k not in consumed}
    unknown = tuple(k for k in extra if k not in known) if extra else ()
    for name in unknown:
        if not (kind == "embeddings" and name == "messages" and "input" not in request):
            errors.append(_unknown(kind, name, request[name]))  # else: the input error says it
    get = request.get
    prompt: dict[str, Any] = {}
    if kind == "embeddings":
        prompt["inputs"], prompt["sources"] = _embedding_inputs(request, errors)
    elif kind == "responses":
        prompt = _responses_prompt(request, errors)
    else:
        messages = get("messages")
        if not isinstance(messages, (list, tuple)) or not messages:
            errors.append(_no_messages(messages, request))
            messages = ()
        prompt = {
            "messages": messages,
            "tools": get("tools"),
            "tool_choice": get("tool_choice"),
            "functions": get("functions"),
            "function_call": get("function_call"),
            "response_format": get("response_format"),
        }
    sizes = get("image_sizes")
    if sizes is not None and not isinstance(sizes, Mapping):
        errors.append(
            InvalidRequestError("image_sizes", sizes, "a dict {url: (width, height)} in pixels")
        )
        sizes = None
    completion, param = _limit(request, kind, errors)
    n = get("n") if kind == "chat" else None
    if n is not None:
        n = _int("n", n, errors, "number of choices")
    best_of = get("best_of")
    if best_of is not None:
        best_of = _int("best_of", best_of, errors, "number of candidates")
    stream, include_usage = _streaming(request, kind, errors)
    return NormalizedRequest(
        api=kind,
        model=model,
        image_sizes=sizes,
        completion_tokens=completion,
        completion_param=param,
        n=n or 1,
        best_of=best_of,
        stream=stream,
        include_usage=include_usage,
        extra=extra,
        unknown=unknown,
        errors=tuple(errors),
        **prompt,
    )


def _no_messages(messages: object, request: Mapping[str, Any]) -> InvalidRequestError:
    hint = "expected a non-empty list of {'role': ..., 'content': ...}"
    if messages is None and "input" not in request:
        hint += " (or input= for the Responses API)"
    return InvalidRequestError("messages", messages, hint)


def _limit(
    request: Mapping[str, Any], api: Api, errors: list[InvalidRequestError]
) -> tuple[int | None, str | None]:
    found: tuple[int | None, str | None] = (None, None)
    for param in _LIMIT_PARAMS[api]:
        value = request.get(param)
        if value is None:
            continue
        checked = _int(param, value, errors, "number of tokens")
        if checked is None:
            continue
        if found[1] is not None:
            errors.append(
                InvalidRequestError(
                    param,
                    value,
                    f"pass only one completion limit: {found[1]}={found[0]} is set too; "
                    f"remove {param}= ({found[1]} is the current name, {param} the deprecated one)",
                )
            )
            continue
        found = (checked, param)
    return found


def _streaming(
    request: Mapping[str, Any], api: Api, errors: list[InvalidRequestError]
) -> tuple[bool, bool]:
    stream = request.get("stream")
    if api == "embeddings" or (stream is None and "stream_options" not in request):
        return False, False
    if stream is None:
        stream = False
    elif not isinstance(stream, bool):
        errors.append(InvalidRequestError("stream", stream, "expected True or False"))
        stream = False
    options = request.get("stream_options")
    if options is None:
        return stream, stream and api == "responses"
    if not isinstance(options, Mapping):
        errors.append(
            InvalidRequestError("stream_options", options, "expected {'include_usage': True}")
        )
        return stream, False
    if not stream:
        errors.append(
            InvalidRequestError(
                "stream_options",
                dict(options),
                "stream_options is only allowed with stream=True; pass stream=True or remove it",
            )
        )
    usage = options.get("include_usage")
    if usage is not None and not isinstance(usage, bool):
        errors.append(
            InvalidRequestError("stream_options.include_usage", usage, "expected True or False")
        )
    return stream, stream and (api == "responses" or usage is True)


def _embedding_inputs(
    request: Mapping[str, Any], errors: list[InvalidRequestError]
) -> tuple[tuple[str | Sequence[int], ...], tuple[str, ...]]:
    """The inputs of an embeddings request and the request path of each."""
    expected = "a string, a list of strings, a list of token ids or a list of token-id lists"
    items = request.get("input")
    if items is None and "messages" in request:
        errors.append(
            InvalidRequestError(
                "messages",
                request["messages"],
                "this is an embeddings model: pass input= (" + expected + ") as to "
                "client.embeddings.create(...), not chat messages",
            )
        )
        return (), ()
    if isinstance(items, str):
        items = [items]
    elif isinstance(items, list) and items and all(_token_id(t) for t in items):
        items = [items]  # one pre-tokenized input
    if not isinstance(items, (list, tuple)) or not items:
        errors.append(InvalidRequestError("input", items, "expected " + expected))
        return (), ()
    single = items is not request.get("input")  # a string or one token list, wrapped above
    found: list[str | Sequence[int]] = []
    paths: list[str] = []
    for i, item in enumerate(items):
        where = "input" if single else f"input[{i}]"
        if isinstance(item, str):
            if not item:
                errors.append(
                    InvalidRequestError(where, item, "the API rejects empty strings; drop it")
                )
                continue
        elif not (isinstance(item, list) and item and all(_token_id(t) for t in item)):
            errors.append(
                InvalidRequestError(
                    where, item, "expected a non-empty string or a non-empty list of token ids"
                )
            )
            continue
        found.append(item)
        paths.append(where)
    return tuple(found), tuple(paths)


def _token_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class _Reader:
    """Converts Responses ``input`` items to chat messages, remembering where each came from."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.sources: list[str] = []
        self.calls: dict[tuple[int, int], str] = {}
        self.outputs: list[int] = []

    def add(self, message: dict[str, Any], source: str) -> None:
        self.messages.append(message)
        self.sources.append(source)

    def item(self, where: str, item: object) -> None:
        if not isinstance(item, Mapping):
            raise InvalidRequestError(where, item, "expected an input item object")
        kind = item.get("type", "message")
        if kind == "message":
            content = item.get("content")
            if isinstance(content, list):
                content = [_part(f"{where}.content[{j}]", p) for j, p in enumerate(content)]
            self.add({"role": item.get("role"), "content": content}, where)
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments")},
            }
            last = self.messages[-1] if self.messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                self.add({"role": "assistant", "content": None, "tool_calls": [call]}, where)
            i = len(self.messages) - 1
            self.calls[(i, len(self.messages[i]["tool_calls"]) - 1)] = where
        elif kind == "function_call_output":
            output = item.get("output")
            if isinstance(output, list):
                output = [_part(f"{where}.output[{j}]", p) for j, p in enumerate(output)]
            self.outputs.append(len(self.messages))
            self.add(
                {"role": "tool", "tool_call_id": item.get("call_id"), "content": output}, where
            )
        else:
            raise InvalidRequestError(
                f"{where}.type",
                kind,
                "tokman counts message, function_call and function_call_output items",
            )


def _part(where: str, part: object) -> dict[str, Any]:
    if not isinstance(part, Mapping):
        raise InvalidRequestError(where, part, "expected a content part object")
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": part.get("text")}
    if kind == "refusal":
        return {"type": "refusal", "refusal": part.get("refusal")}
    if kind == "input_image":
        image: dict[str, Any] = {"url": part.get("image_url")}
        if part.get("detail") is not None:
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    raise InvalidRequestError(
        f"{where}.type",
        kind,
        "tokman counts input_text, output_text, refusal and input_image parts",
    )


def _responses_prompt(
    request: Mapping[str, Any], errors: list[InvalidRequestError]
) -> dict[str, Any]:
    """The chat-form prompt fields of a Responses request (``messages`` empty if unreadable)."""
    reader = _Reader()
    instructions = request.get("instructions")
    if instructions is not None:
        reader.add({"role": "system", "content": instructions}, "instructions")
    items = request.get("input")
    try:
        if isinstance(items, str):
            reader.add({"role": "user", "content": items}, "input")
        elif isinstance(items, (list, tuple)) and items:
            for i, item in enumerate(items):
                reader.item(f"input[{i}]", item)
        else:
            raise InvalidRequestError(
                "input", items, "expected a string or a non-empty list of input items"
            )
    except InvalidRequestError as exc:
        errors.append(exc)
        return {}
    fields: dict[str, Any] = {"messages": tuple(reader.messages)}
    tools = request.get("tools")
    flat = False
    if isinstance(tools, (list, tuple)):
        converted = []
        for tool in tools:
            if (
                isinstance(tool, Mapping)
                and tool.get("type") == "function"
                and "function" not in tool
            ):
                flat = True
                tool = {
                    "type": "function",
                    "function": {k: v for k, v in tool.items() if k not in ("type", "strict")},
                }
            converted.append(tool)
        tools = converted
    fields["tools"] = tools
    choice = request.get("tool_choice")
    if (
        isinstance(choice, Mapping)
        and choice.get("type") == "function"
        and "function" not in choice
    ):
        choice = {"type": "function", "function": {"name": choice.get("name")}}
    fields["tool_choice"] = choice
    return {
        **fields,
        "sources": tuple(reader.sources),
        "call_sources": reader.calls,
        "flat_tools": flat,
        "tool_outputs": frozenset(reader.outputs),
    }


