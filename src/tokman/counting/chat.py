"""Exact ``prompt_tokens`` of a Chat Completions (or Responses) request, and where they went.

``count_prompt(**request)`` takes the keyword arguments of
``client.chat.completions.create(...)`` and returns the ``usage.prompt_tokens`` the API
reports: the text of every message and part, the model family's framing (``_families``),
the rendered tool/function definitions (``tools``) and the images (``images``). The
Responses form (``input=``, ``instructions=``, flat tools) is read by
``tokman.requests.normalize_request`` and counted as its equivalent messages. Keyword
arguments that do not affect the prompt (``temperature``, ``max_tokens``, ``stream``, ...) are
accepted and ignored, so the same dict can be passed to both; so are misspelt ones: counting is
lenient on purpose (a count of what will be sent), ``tokman.check_request`` flags typos.

Counting is a single pass over the messages with one encoding resolved per call; there is no
copy of the request and no per-message lookup of the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NoReturn

from tokman import models
from tokman._args import find_lone_surrogate, not_utf8
from tokman.counting._families import Framing, ModelRules, rules_for_family, rules_for_name
from tokman.counting.images import image_size, image_tokens, size_needed
from tokman.counting.tools import render_functions
from tokman.encodings import get_encoding
from tokman.errors import InvalidRequestError, UnknownModelError
from tokman.requests import NormalizedRequest, normalize_request

__all__ = [
    "MessageCount",
    "PromptCount",
    "count_normalized",
    "count_prompt",
    "count_prompt_details",
]

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_SYSTEM_ROLES = frozenset({"system", "developer"})
_DETAILS = frozenset({"low", "high", "auto"})
_UNSUPPORTED_PARTS = {
    "input_audio": "audio input is billed by duration, which tokman does not count yet",
    "file": "file parts (PDFs) are not counted by tokman yet",
}

ImageSizes = Mapping[str, tuple[int, int]]


@dataclass(frozen=True)
class MessageCount:
    """The tokens of one message.

    Attributes:
        index: position in ``messages``.
        role: the message's role.
        tokens: everything this message costs: text, framing and images.
        images: the part of ``tokens`` billed for its images.
        overhead: the part of ``tokens`` that is framing (start/end markers, name marker).
    """

    index: int
    role: str
    tokens: int
    images: int = 0
    overhead: int = 0


@dataclass(frozen=True)
class PromptCount:
    """Where the prompt tokens of a request went; ``total`` is ``count_prompt(...)``.

    ``total == sum(m.tokens for m in messages) + tools + priming``.

    Attributes:
        model: the model name as given.
        encoding: the tokenizer encoding used.
        total: the ``usage.prompt_tokens`` the API reports.
        messages: one :class:`MessageCount` per message, in order.
        tools: tool/function definitions, their framing and ``tool_choice``/``function_call``.
        priming: the tokens that prime the reply, once per request.
        uncertain: notes on parts of the count that rest on unverified rules (empty when every
            rule used has been checked against API-reported numbers).
    """

    model: str
    encoding: str
    total: int
    messages: tuple[MessageCount, ...]
    tools: int = 0
    priming: int = 0
    uncertain: tuple[str, ...] = field(default=())

    @property
    def images(self) -> int:
        """Tokens billed for images, across all messages."""
        return sum(m.images for m in self.messages)

    @property
    def overhead(self) -> int:
        """Framing tokens: per-message markers plus the reply priming."""
        return self.priming + sum(m.overhead for m in self.messages)

    @property
    def system(self) -> int:
        """Tokens of the system and developer messages."""
        return sum(m.tokens for m in self.messages if m.role in _SYSTEM_ROLES)

    @property
    def history(self) -> int:
        """Tokens of every other message (user, assistant, tool and function turns)."""
        return sum(m.tokens for m in self.messages if m.role not in _SYSTEM_ROLES)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, derived totals included (for reports and logs)."""
        data = asdict(self)
        data["messages"] = [asdict(m) for m in self.messages]
        data["uncertain"] = list(self.uncertain)
        data.update(
            images=self.images, overhead=self.overhead, system=self.system, history=self.history
        )
        return data

    def __str__(self) -> str:
        lines = [f"{self.total} prompt tokens for {self.model} ({self.encoding})"]
        for m in self.messages:
            extra = f", images {m.images}" if m.images else ""
            lines.append(
                f"  messages[{m.index}] {m.role:<9} {m.tokens:>7}  (framing {m.overhead}{extra})"
            )
        lines.append(f"  {'tools':<21} {self.tools:>7}")
        lines.append(f"  {'reply priming':<21} {self.priming:>7}")
        lines.extend(f"  note: {note}" for note in self.uncertain)
        return "\n".join(lines)


def _bad(field_path: str, value: object, expected: str) -> NoReturn:
    raise InvalidRequestError(field_path, value, expected)


def _resolve(model: object) -> tuple[str, ModelRules]:
    """The encoding and framing rules of ``model``, memoised by the registry.

    The registry drops the memo whenever a model or deployment is registered, so a
    re-registered name is never counted with its old encoding or framing.
    """
    if not isinstance(model, str):
        _bad("model", model, "the model name as a string, e.g. model='gpt-4o'")
    return models.memo("chat-rules", model, lambda: _rules_of(model))


def _rules_of(model: str) -> tuple[str, ModelRules]:
    encoding = models.encoding_for(model)  # UnknownModelError for names nobody knows
    try:
        info: models.ModelInfo | None = models.get(model)
    except UnknownModelError:
        info = None  # known to the prefix rules only, e.g. a future snapshot
    rules = None
    if info is not None and info.family and not info.shipped:
        rules = rules_for_family(info.family)  # the user said how it frames prompts
    names = [model] if info is None else [model, info.name, info.base_model or ""]
    for name in names:
        if rules is None and name:
            rules = rules_for_name(name)
    if rules is None and info is not None and info.family:
        rules = rules_for_family(info.family)
    if rules is None:
        what = "an embeddings model" if info is not None and info.kind == "embedding" else ""
        raise UnknownModelError(
            model,
            kind="chat model",
            hint=(
                f"It is {what}, which takes no chat prompt; count its input with "
                "tokman.count(text, model=...)."
                if what
                else "tokman knows its encoding but not how Chat Completions frames its "
                "prompts. If it is a chat model, register it with the family whose framing it "
                f"shares: tokman.models.register({model!r}, encoding={encoding!r}, "
                "context_window=..., family='gpt-4o'); for plain text use "
                "tokman.count(text, model=...)."
            ),
        )
    return encoding, rules


class _Counter:
    """One request's counting state: the encoding's count function and the model rules."""

    __slots__ = ("count", "framing", "rules", "sizes", "uncertain")

    def __init__(
        self, count: Callable[[str], int], rules: ModelRules, sizes: ImageSizes | None
    ) -> None:
        self.count = count
        self.rules = rules
        self.framing: Framing = rules.framing
        self.sizes = sizes
        self.uncertain: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.uncertain:
            self.uncertain.append(text)

    def parts(self, where: str, parts: list[Any]) -> tuple[int, int]:
        """Text and image tokens of a content-part list."""
        count = self.count
        text = images = 0
        for j, part in enumerate(parts):
            here = f"{where}[{j}]"
            if not isinstance(part, Mapping):
                _bad(here, part, "a content part such as {'type': 'text', 'text': '...'}")
            kind = part.get("type")
            if kind == "text" or kind == "refusal":
                value = part.get(kind)
                if not isinstance(value, str):
                    _bad(f"{here}.{kind}", value, f"a string (the {kind} of this part)")
                text += count(value)
            elif kind == "image_url":
                images += self.image(here, part.get("image_url"))
            elif isinstance(kind, str) and kind in _UNSUPPORTED_PARTS:
                _bad(f"{here}.type", kind, _UNSUPPORTED_PARTS[kind])
            else:
                _bad(f"{here}.type", kind, "one of 'text', 'image_url', 'refusal'")
        return text, images

    def image(self, where: str, spec: object) -> int:
        """Tokens of one ``image_url`` part."""
        if not isinstance(spec, Mapping):
            _bad(f"{where}.image_url", spec, "an object {'url': ..., 'detail': 'low|high|auto'}")
        url = spec.get("url")
        if not isinstance(url, str):
            _bad(f"{where}.image_url.url", url, "the image URL or data: URL as a string")
        detail = spec.get("detail") or "auto"
        if not isinstance(detail, str) or detail not in _DETAILS:
            _bad(f"{where}.image_url.detail", detail, "one of 'low', 'high', 'auto'")
        rule = self.rules.image
        if rule is None:
            _bad(
                f"{where}.type",
                "image_url",
                f"{self.rules.family} models do not accept images; use a vision model "
                "such as gpt-4o",
            )
        if not self.rules.image_verified:
            self.note(f"image cost for {self.rules.family} is documented but not API-verified")
        size = self.size(where, url, spec) if size_needed(rule, detail) else None
        return image_tokens(rule, detail, size)

    def size(self, where: str, url: str, spec: Mapping[str, Any]) -> tuple[int, int]:
        """Pixel size of an image: ``image_sizes``, a width/height hint, or a data: URL."""
        if self.sizes is not None and url in self.sizes:
            return _checked_size(f"image_sizes[{url!r}]", self.sizes[url])
        if "width" in spec or "height" in spec:
            hint = (spec.get("width"), spec.get("height"))
            return _checked_size(f"{where}.image_url.width/height", hint)
        if "size" in spec:
            return _checked_size(f"{where}.image_url.size", spec["size"])
        if url.startswith("data:"):
            return image_size(f"{where}.image_url.url", url)
        _bad(
            f"{where}.image_url.url",
            url,
            "tokman never downloads images, and this model bills by image size: pass "
            "count_prompt(..., image_sizes={url: (width, height)}) or send a data: URL",
        )

    def call(self, where: str, call: object) -> int:
        """Tokens of an assistant ``function_call`` (or one tool call's function)."""
        if not isinstance(call, Mapping):
            _bad(where, call, "an object {'name': ..., 'arguments': '<json string>'}")
        name, arguments = call.get("name"), call.get("arguments")
        if not isinstance(name, str):
            _bad(f"{where}.name", name, "the function name as a string")
        if not isinstance(arguments, str):
            _bad(f"{where}.arguments", arguments, "the arguments as a JSON string")
        return self.count(name) + self.count(arguments)

    def message(self, i: int, message: object) -> tuple[int, int, int, str]:
        """(text tokens, image tokens, framing tokens, role) of ``messages[i]``."""
        if not isinstance(message, Mapping):
            _bad(f"messages[{i}]", message, "a message object with 'role' and 'content'")
        role = message.get("role")
        if role not in _ROLES:
            _bad(f"messages[{i}].role", role, "one of " + ", ".join(map(repr, _ROLES)))
        count, framing = self.count, self.framing
        text = count(role)
        images = 0
        overhead = framing.per_message
        content = message.get("content")
        if type(content) is str:
            text += count(content)
        elif isinstance(content, list):
            part_text, images = self.parts(f"messages[{i}].content", content)
            text += part_text
        elif content is not None or role != "assistant":
            _bad(
                f"messages[{i}].content",
                content,
                "a string or a list of content parts (None only for assistant tool calls)",
            )
        name = message.get("name")
        if name is not None:
            if not isinstance(name, str):
                _bad(f"messages[{i}].name", name, "a string")
            text += count(name)
            overhead += framing.per_name
        if role == "function":
            overhead += framing.function_role
        elif role == "assistant":
            function_call = message.get("function_call")
            if function_call is not None:
                text += self.call(f"messages[{i}].function_call", function_call)
                overhead += framing.call
            tool_calls = message.get("tool_calls")
            if tool_calls:
                t, o = self.tool_calls(i, tool_calls)
                text += t
                overhead += o
        elif role == "tool":
            self.note("tool-result framing is not API-verified (no published rule reproduces it)")
        return text, images, overhead, role

    def tool_calls(self, i: int, tool_calls: object) -> tuple[int, int]:
        if not isinstance(tool_calls, list):
            _bad(f"messages[{i}].tool_calls", tool_calls, "a list of tool calls")
        self.note("assistant tool_calls framing is not API-verified (counted like function_call)")
        text = overhead = 0
        for k, call in enumerate(tool_calls):
            where = f"messages[{i}].tool_calls[{k}]"
            if not isinstance(call, Mapping):
                _bad(where, call, "{'id': ..., 'type': 'function', 'function': {...}}")
            text += self.call(f"{where}.function", call.get("function"))
            overhead += self.framing.call
        return text, overhead


def _checked_size(where: str, value: object) -> tuple[int, int]:
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        return int(value[0]), int(value[1])
    _bad(where, value, "a (width, height) pair of positive integers in pixels")


def _definitions(tools: object, functions: object) -> tuple[list[object], str] | None:
    """The function definitions of ``tools=`` or legacy ``functions=``, and their field."""
    if tools is not None and functions is not None:
        _bad("functions", functions, "pass tools= or the legacy functions=, not both")
    if functions is not None:
        if not isinstance(functions, list):
            _bad("functions", functions, "a list of function definitions")
        return (functions, "functions") if functions else None
    if tools is None:
        return None
    if not isinstance(tools, list):
        _bad("tools", tools, "a list of {'type': 'function', 'function': {...}}")
    found: list[object] = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, Mapping):
            _bad(f"tools[{i}]", tool, "{'type': 'function', 'function': {...}}")
        if tool.get("type") != "function":
            _bad(
                f"tools[{i}].type",
                tool.get("type"),
                "'function' (other tool types are not counted)",
            )
        found.append(tool.get("function"))
    return (found, "tools") if found else None


def _choice(counter: _Counter, choice: object, field_path: str) -> int:
    """Tokens added by ``tool_choice`` or ``function_call``."""
    framing = counter.framing
    if choice is None or choice == "auto":
        return 0
    if choice == "none":
        return framing.choice_none
    if choice == "required":
        counter.note("tool_choice='required' is not API-verified (counted as 'auto')")
        return 0
    if isinstance(choice, Mapping):
        if field_path == "function_call":
            name, extra = choice.get("name"), framing.choice_function
        else:
            function = choice.get("function")
            name = function.get("name") if isinstance(function, Mapping) else None
            extra = framing.choice_tool
        if isinstance(name, str):
            return extra + counter.count(name)
    _bad(
        field_path,
        choice,
        "'auto', 'none', 'required' or a named function "
        + (
            "{'name': ...}"
            if field_path == "function_call"
            else "{'type': 'function', 'function': {'name': ...}}"
        ),
    )


def _response_format(counter: _Counter, response_format: object) -> None:
    if response_format is None:
        return
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if kind == "text":
        return
    if kind in ("json_object", "json_schema"):
        counter.note(f"response_format {kind!r} is not API-verified (counted as 0 tokens)")
        return
    _bad("response_format", response_format, "{'type': 'text' | 'json_object' | 'json_schema'}")


_RESPONSES_NOTE = (
    "Responses API input is counted as the equivalent Chat Completions messages; OpenAI does "
    "not document the Responses framing, so the count may differ by a few tokens"
)
_TEXT_FIELDS = ("messages", "tools", "functions", "tool_choice", "function_call")


def _tally(request: NormalizedRequest, model: object, detailed: bool) -> PromptCount | int:
    encoding_name, rules = _resolve(model)
    if request.errors and request.prompt_errors:  # the first test keeps the clean path cheap
        raise request.prompt_errors[0]
    counter = _Counter(get_encoding(encoding_name).count, rules, request.image_sizes)
    try:
        return _tally_messages(request, counter, model, encoding_name, detailed)
    except InvalidRequestError as exc:
        if isinstance(exc.__cause__, UnicodeEncodeError):
            # the tokenizer refused text that is not UTF-8: name the field that holds it
            # (slow path, errors only)
            for name in _TEXT_FIELDS:
                found = find_lone_surrogate(getattr(request, name), name)
                if found is not None:
                    raise not_utf8(request.request_path(found[0]), found[1]) from exc
        moved = request.rebased(exc)
        if moved is exc:
            raise
        raise moved from exc


def _tally_messages(
    request: NormalizedRequest,
    counter: _Counter,
    model: object,
    encoding_name: str,
    detailed: bool,
) -> PromptCount | int:
    rules, framing = counter.rules, counter.framing
    tools, tool_choice = request.tools, request.tool_choice
    functions, function_call = request.functions, request.function_call
    total = framing.priming
    rows: list[MessageCount] = []
    first_system: str | None = None
    has_system = False
    for i, message in enumerate(request.messages):
        text, images, overhead, role = counter.message(i, message)
        tokens = text + images + overhead
        total += tokens
        if role in _SYSTEM_ROLES and not has_system:
            has_system = True
            content = message.get("content")
            first_system = content if isinstance(content, str) else None
        if detailed:
            rows.append(MessageCount(i, role, tokens, images, overhead))
    tool_tokens = 0
    definitions = _definitions(tools, functions)
    if definitions is not None:
        functions_list, where = definitions
        if not framing.verified:
            counter.note(f"tool framing on {rules.family} is assumed, not API-verified")
        tool_tokens = counter.count(render_functions(functions_list, where)) + framing.functions
        if has_system:
            tool_tokens += framing.system_merge
            if first_system is not None:
                # the block is appended to the first system message, whose text gains a "\n"
                count = counter.count
                tool_tokens += count(first_system + "\n") - count(first_system)
        if where == "functions":
            tool_tokens += _choice(counter, function_call, "function_call")
        else:
            tool_tokens += _choice(counter, tool_choice, "tool_choice")
    elif tool_choice is not None:
        _bad("tool_choice", tool_choice, "tool_choice is only allowed together with tools")
    elif function_call is not None:
        _bad("function_call", function_call, "function_call is only allowed with functions")
    _response_format(counter, request.response_format)
    total += tool_tokens
    if not framing.verified:
        counter.note(f"message framing on {rules.family} rests on few API observations")
    if not detailed:
        return total
    if request.api == "responses":
        counter.note(_RESPONSES_NOTE)
    return PromptCount(
        model=str(model),
        encoding=encoding_name,
        total=total,
        messages=tuple(rows),
        tools=tool_tokens,
        priming=framing.priming,
        uncertain=tuple(counter.uncertain),
    )


def count_normalized(request: NormalizedRequest, *, model: str | None = None) -> PromptCount:
    """The prompt breakdown of an already normalised chat or Responses request.

    Validation and pricing read a request once (``tokman.requests.normalize_request``) and
    count it here, so the Responses conversion and the error paths are the ones
    :func:`count_prompt` uses. ``model`` overrides ``request.model`` (a deployment name
    resolved to the model that frames the prompt).

    Raises:
        UnknownModelError, InvalidRequestError: as :func:`count_prompt`.
    """
    result = _tally(request, model if model is not None else request.model, True)
    assert isinstance(result, PromptCount)
    return result


def _normalized(arguments: dict[str, Any]) -> NormalizedRequest:
    """The request of ``count_prompt``'s arguments (its ``locals()``, so both public
    signatures stay explicit and typed): the named ones that were given, then the others."""
    request = {k: v for k, v in arguments.items() if k != "ignored" and v is not None}
    request.update(arguments["ignored"])
    return normalize_request(request)


def count_prompt(
    *,
    model: str | None = None,
    messages: Sequence[Mapping[str, Any]] | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: str | Mapping[str, Any] | None = None,
    functions: Sequence[Mapping[str, Any]] | None = None,
    function_call: str | Mapping[str, Any] | None = None,
    response_format: Mapping[str, Any] | None = None,
    input: str | Sequence[Mapping[str, Any]] | None = None,
    instructions: str | None = None,
    image_sizes: ImageSizes | None = None,
    **ignored: Any,
) -> int:
    """The ``usage.prompt_tokens`` the API reports for this Chat Completions request.

    Pass the same keyword arguments as ``client.chat.completions.create(...)`` (or
    ``client.responses.create(...)``: ``input=``, ``instructions=``, flat tools); arguments
    that do not change the prompt (``temperature``, ``max_tokens``, ``stream``, ...) are
    ignored, unknown ones too (``check_request`` reports those).

    Args:
        model: the model (or snapshot, ``ft:`` name, Azure spelling).
        messages: the conversation; string or content-part messages of any role.
        tools: tool definitions (``{"type": "function", "function": {...}}``).
        tool_choice: ``"auto"``, ``"none"``, ``"required"`` or a named function.
        functions: legacy function definitions.
        function_call: legacy ``"auto"``, ``"none"`` or ``{"name": ...}``.
        response_format: accepted; JSON modes add a note to the details, not tokens.
        input: the Responses API's input: a string or a list of input items.
        instructions: the Responses API's instructions (counted as a system message).
        image_sizes: ``{url: (width, height)}`` for images at remote URLs, which tokman never
            downloads. Not an API argument: leave it out of the request you send.
        **ignored: other ``create()`` arguments, which do not affect the prompt.

    Raises:
        UnknownModelError: the model is unknown, or not a chat model tokman can frame.
        InvalidRequestError: a malformed request; the message names the field path
            (``messages[2].content[0].type``, ``input[1].call_id``), the value and what is
            expected. Text with a lone surrogate (not valid UTF-8) is refused the same way.

    >>> count_prompt(model="gpt-4o", messages=[{"role": "user", "content": "hello"}])
    8
    """
    request = _normalized(locals())
    result = _tally(request, model, False)
    assert isinstance(result, int)
    return result


def count_prompt_details(
    *,
    model: str | None = None,
    messages: Sequence[Mapping[str, Any]] | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: str | Mapping[str, Any] | None = None,
    functions: Sequence[Mapping[str, Any]] | None = None,
    function_call: str | Mapping[str, Any] | None = None,
    response_format: Mapping[str, Any] | None = None,
    input: str | Sequence[Mapping[str, Any]] | None = None,
    instructions: str | None = None,
    image_sizes: ImageSizes | None = None,
    **ignored: Any,
) -> PromptCount:
    """Like :func:`count_prompt`, but says where the tokens went.

    >>> details = count_prompt_details(
    ...     model="gpt-4o",
    ...     messages=[{"role": "system", "content": "Be brief."},
    ...               {"role": "user", "content": "hello"}],
    ... )
    >>> details.total, details.system, details.history, details.overhead
    (15, 7, 5, 9)
    """
    request = _normalized(locals())
    result = _tally(request, model, True)
    assert isinstance(result, PromptCount)
    return result
