"""`FakeOpenAI`: an offline OpenAI / Azure OpenAI API that bills exactly as the real one.

Tests of code that calls the real ``openai`` SDK need an API that answers like OpenAI's: the
same paths (``/v1/...`` and Azure's ``/openai/deployments/{dep}/...``), the same bodies and
stream shapes, and usage numbers that are right, so that a ledger, a budget or a rate limiter
can be checked against them. :class:`FakeOpenAI` is that API as one pure function,
:meth:`FakeOpenAI.handle` (request in, :class:`FakeReply` out); the httpx/httpx2 transport
(``_fake_transport``) and the threaded HTTP server (``_fake_server``) only carry its bytes, so
the two ways of using it cannot disagree.

Token numbers are tokman's own: prompt tokens are :func:`tokman.count_prompt` of the request
(embeddings: :func:`tokman.counting.embeddings.count_inputs`), completion tokens are the reply's
tokens in the model's encoding plus the configured reasoning tokens, cut to the request's
completion limit.

>>> from tokman.testing import FakeOpenAI
>>> fake = FakeOpenAI(reply="Hello there, friend.")
>>> reply = fake.handle("POST", "/v1/chat/completions", body={
...     "model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]})
>>> reply.status, reply.json()["usage"]["prompt_tokens"], fake.served[0]["completion_tokens"]
(200, 8, 5)
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from tokman import models
from tokman._args import find_lone_surrogate, not_utf8
from tokman._units import check_seconds, check_tokens
from tokman.counting import count, count_prompt
from tokman.counting.embeddings import count_inputs
from tokman.errors import InvalidRequestError, TokmanError, UnknownModelError
from tokman.models import DeploymentMap
from tokman.requests import NormalizedRequest, normalize_request
from tokman.testing import _fake_bodies as bodies
from tokman.testing._fake_server import FakeServer

__all__ = ["FakeOpenAI", "FakeReply", "FakeRequest"]

_REDACTED = "REDACTED"
_BREAKS = re.compile(r"[\r\n\x00]")
_SECRET_HEADERS = frozenset({"api-key", "authorization", "x-api-key"})
_DIMENSIONS = 8
# path -> (API, Azure?, deployment in the path?, api-version required?)
_ROUTES: tuple[tuple[re.Pattern[str], bool, bool], ...] = (
    (re.compile(r"/v1/(chat/completions|responses|embeddings)"), False, False),
    (re.compile(r"/openai/deployments/([^/]+)/(chat/completions|embeddings)"), True, True),
    (re.compile(r"/openai/(responses)"), True, True),
    (re.compile(r"/openai/v1/(chat/completions|responses|embeddings)"), True, False),
)
_APIS = {"chat/completions": "chat", "responses": "responses", "embeddings": "embeddings"}
_FAILURE_TEXT = {
    400: ("invalid_request_error", "Invalid request (a failure scripted by FakeOpenAI)."),
    401: ("invalid_request_error", "Incorrect API key provided."),
    429: ("tokens", "Rate limit reached for requests. Please try again in 6m0s."),
    500: ("server_error", "The server had an error while processing your request."),
    503: ("server_error", "The engine is currently overloaded, please try again later."),
}


@dataclass(frozen=True)
class FakeRequest:
    """One request the fake received, as a test may inspect it.

    Attributes:
        method, path: ``"POST"``, ``"/openai/deployments/chat-prod/chat/completions"``.
        query: the query parameters (``{"api-version": "2024-10-21"}``).
        headers: lower-case names; ``api-key``/``authorization`` values are ``REDACTED``
            (the scheme, ``Bearer``, is kept), so a test can print them.
        body: the parsed JSON body (``None`` when there was none or it was not JSON).
        status: the HTTP status answered.
        usage: the usage billed for it, whether or not it was sent (a stream without
            ``include_usage`` or a cut stream is billed but sends none); ``None`` on errors.
        arrived: when it arrived, on ``time.monotonic()`` of the fake's process (before any
            ``delay``), so a test can check what reached the API in any time window.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int
    usage: dict[str, Any] | None = None
    arrived: float = 0.0


@dataclass(frozen=True)
class FakeReply:
    """What to send back: status, headers and either a body or the stream's SSE messages.

    ``events`` is ``None`` for a plain response; for a stream it holds one ``bytes`` per SSE
    message. ``cut`` means the connection drops after the last of them (no ``[DONE]``).
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    events: tuple[bytes, ...] | None = None
    cut: bool = False

    def json(self) -> Any:
        """The body parsed (a plain response only)."""
        return json.loads(self.body)


@dataclass
class _Failure:
    status: int
    headers: dict[str, str]
    body: bytes | None
    code: str | None
    times: int


@dataclass
class _Route:
    api: str
    azure: bool
    deployment: str | None = None


@dataclass
class _State:
    requests: list[FakeRequest] = field(default_factory=list)
    served: list[dict[str, Any]] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    cuts: list[int] = field(default_factory=list)


class _Refusal(Exception):
    """An error answer, raised inside the core and turned into a reply in one place."""

    def __init__(self, status: int, body: bytes, headers: Mapping[str, str] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, dict(headers or {})


class FakeOpenAI:
    """An OpenAI / Azure OpenAI API in-process: chat, Responses and embeddings, plain and
    streamed, with exact usage, scripted failures and cut streams.

    Args:
        reply: what the assistant says (every choice of every chat or Responses call).
        cached_tokens: reported as ``prompt_tokens_details.cached_tokens`` /
            ``input_tokens_details.cached_tokens`` (never more than the prompt).
        reasoning_tokens: added to the completion tokens and reported as reasoning tokens.
        deployments: Azure deployment name -> model (or a ``{"model": ...}`` entry as in a
            deployments file), resolved here without touching tokman's global deployment map;
            deployments registered with :func:`tokman.models.register_deployment` work too, and
            a known model name is taken as a deployment named after its model.
        headers: extra headers on every successful answer (``x-ratelimit-remaining-tokens``...).
        dimensions: the length of embeddings vectors when the request sets none.
        delay: seconds to wait before answering each request (a slow upstream). The waiting
            is a ``time.sleep`` in the thread that calls `handle`: with `serve` that is the
            connection's own server thread; with `transport` it blocks the client.

    Raises:
        InvalidRequestError: a bad count, header or delay.
        ConfigurationError, UnknownModelError: a bad deployments entry or an unknown model.
    """

    def __init__(
        self,
        reply: str = "Hello there, friend.",
        *,
        cached_tokens: int = 0,
        reasoning_tokens: int = 0,
        deployments: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        dimensions: int = _DIMENSIONS,
        delay: float = 0.0,
    ) -> None:
        if not isinstance(reply, str):
            raise InvalidRequestError("reply", reply, "the assistant's reply as a str")
        if find_lone_surrogate(reply, "reply"):
            raise not_utf8("reply", reply)
        self.reply = reply
        self.cached_tokens = check_tokens(cached_tokens, "cached_tokens")
        self.reasoning_tokens = check_tokens(reasoning_tokens, "reasoning_tokens")
        if check_tokens(dimensions, "dimensions") < 1:
            raise InvalidRequestError("dimensions", dimensions, "a positive vector length")
        self.dimensions = dimensions
        self.delay = check_seconds(delay, "delay", positive=False)
        self.headers = _check_headers(headers, "headers")
        if deployments is not None and not isinstance(deployments, Mapping):
            raise InvalidRequestError(
                "deployments", deployments, 'a dict such as {"chat-prod": "gpt-4o"}, or None'
            )
        self.deployments = DeploymentMap.from_dict(
            dict(deployments or {}), origin="FakeOpenAI(deployments=)"
        )
        for deployment in self.deployments.values():  # unknown models fail here, not later
            try:
                models.get(deployment.model)
            except UnknownModelError as exc:
                raise UnknownModelError(deployment.model, hint=(
                    f"FakeOpenAI(deployments=) maps {deployment.name!r} to it; name a model "
                    "tokman knows, or register it first with tokman.models.register()."
                )) from exc  # fmt: skip
        self._lock = threading.Lock()
        self._state = _State()

    # -- what a test reads -------------------------------------------------------------------

    @property
    def requests(self) -> list[FakeRequest]:
        """Every request received, in order (a copy)."""
        with self._lock:
            return list(self._state.requests)

    @property
    def served(self) -> list[dict[str, Any]]:
        """The usage dicts sent, one per answer that carried usage, in order (a copy)."""
        with self._lock:
            return list(self._state.served)

    # -- scripting ---------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 429,
        *,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | bytes | None = None,
        code: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` API requests with ``status`` instead of a completion.

        The body is OpenAI's error shape (``code`` defaults to ``rate_limit_exceeded`` for 429)
        unless ``body`` is given; ``headers`` are sent as given (``retry-after-ms``,
        ``x-ratelimit-reset-tokens``...). The SDK retries 408, 409, 429 and 5xx answers (twice
        by default) and, without a ``retry-after``/``retry-after-ms`` header, sleeps about 0.5
        to 1 s first: give a small ``retry-after-ms`` to keep tests fast. Calls queue up.
        """
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise InvalidRequestError("status", status, "an HTTP error status from 400 to 599")
        if check_tokens(times, "times") < 1:
            raise InvalidRequestError("times", times, "how many requests fail, at least 1")
        if code is not None and not isinstance(code, str):
            raise InvalidRequestError("code", code, "the error code string, or None")
        if body is not None and not isinstance(body, (bytes, Mapping)):
            raise InvalidRequestError("body", body, "a JSON dict, bytes, or None")
        try:
            raw = body if isinstance(body, bytes) or body is None else bodies.to_json(body)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError("body", body, "a dict that is JSON") from exc
        failure = _Failure(status, _check_headers(headers, "headers"), raw, code, times)
        with self._lock:
            self._state.failures.append(failure)

    def cut_stream_next(self, after: int = 2) -> None:
        """End the next streamed answer abruptly after ``after`` SSE messages: no usage chunk,
        no ``[DONE]``; the connection drops (transport: the byte stream raises
        ``RemoteProtocolError``, server: the socket closes mid-chunked-body)."""
        with self._lock:
            self._state.cuts.append(check_tokens(after, "after"))

    def reset(self) -> None:
        """Forget requests, served usage, scripted failures and cuts."""
        with self._lock:
            self._state = _State()

    # -- adapters ----------------------------------------------------------------------------

    def transport(self, *, module: ModuleType | None = None) -> Any:
        """A transport serving this fake for ``module``'s clients (``httpx2`` by default, or
        legacy ``httpx``): sync and async, e.g. ``httpx2.Client(transport=fake.transport())``.
        """
        from tokman.testing._fake_transport import make_transport

        return make_transport(self, module)

    def serve(self) -> FakeServer:
        """A real HTTP server for this fake on 127.0.0.1 at a free port, serving while its
        ``with`` block runs: ``.base_url`` for ``openai.OpenAI``, ``.azure_endpoint`` for
        ``openai.AzureOpenAI``."""
        return FakeServer(self)

    # -- the core ----------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | Mapping[str, Any] | None = None,
    ) -> FakeReply:
        """Answer one HTTP request; record it. Every adapter calls this and only this.

        ``body`` is the raw request body (or an already parsed dict, for direct use).

        Raises:
            InvalidRequestError: an argument of the wrong type (a bad *request* is answered
                with the API's 4xx instead).
        """
        arrived = time.monotonic()
        for name, value in (("method", method), ("path", path)):
            if not isinstance(value, str) or not value:
                raise InvalidRequestError(name, value, f"the HTTP {name} as a str")
        query = _check_headers(query, "query", lower=False)
        seen = {k: _redact(k, v) for k, v in _check_headers(headers, "headers").items()}
        if body is not None and not isinstance(body, (bytes, Mapping)):
            raise InvalidRequestError("body", body, "the raw body bytes, a dict, or None")
        parsed: Any = None
        usage: dict[str, Any] | None = None
        try:
            route = _route(method, path, query)
            if isinstance(body, Mapping):
                parsed = dict(body)
            elif body:
                parsed = _parse(body)
            self._scripted_failure(parsed)
            if not isinstance(parsed, dict) or not all(isinstance(k, str) for k in parsed):
                raise _Refusal(400, bodies.error_body(
                    "We could not parse the JSON body of your request. The OpenAI API expects "
                    "a JSON payload."))  # fmt: skip
            reply, usage, sent = self._answer(route, parsed)
        except _Refusal as refusal:
            reply, sent = _error_reply(refusal), False
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self._state.requests.append(
                FakeRequest(method.upper(), path, query, seen, parsed, reply.status, usage,
                            arrived)
            )
            if sent and usage is not None:
                self._state.served.append(usage)
        return reply

    def _scripted_failure(self, body: Any) -> None:
        with self._lock:
            if not self._state.failures:
                return
            failure = self._state.failures[0]
            failure.times -= 1
            if failure.times == 0:
                self._state.failures.pop(0)
        raise _Refusal(failure.status, failure.body or _failure_body(failure, body),
                       failure.headers)  # fmt: skip

    def _answer(
        self, route: _Route, body: dict[str, Any]
    ) -> tuple[FakeReply, dict[str, Any], bool]:
        name = route.deployment or body.get("model")
        counted, reported = self._model(name, azure=route.azure)
        request = normalize_request({**body, "model": counted}, api=route.api)  # type: ignore[arg-type]
        try:
            if route.api == "embeddings":
                return self._embeddings(route, request, body, counted, reported)
            prompt = count_prompt(**{**body, "model": counted})
        except UnknownModelError as exc:
            raise _Refusal(404, bodies.error_body(str(exc), code="model_not_found")) from exc
        except TokmanError as exc:  # a malformed request: tokman's error, in OpenAI's shape
            raise _Refusal(exc.http_status, bodies.to_json(exc.to_openai_error())) from exc
        _check_context(counted, prompt, "messages" if route.api == "chat" else "input")
        done = self._complete(route, request, counted, reported, prompt)
        cut = self._take_cut() if request.stream else None
        if not request.stream:
            build = bodies.chat_body if route.api == "chat" else bodies.responses_body
            return self._ok(build(done)), done.usage, True
        if route.api == "chat":
            events = bodies.chat_events(done, include_usage=request.include_usage)
            sent = request.include_usage
        else:
            events, sent = bodies.responses_events(done), True
        if cut is not None:
            events, sent = events[:cut], False
        return self._ok(events=tuple(events), cut=cut is not None), done.usage, sent

    def _model(self, name: Any, *, azure: bool) -> tuple[str, str]:
        """(the model to count with, the model the answer names) for a request's model or
        deployment; an unknown one is answered 404 as the API does."""
        if not isinstance(name, str) or not name:
            raise _Refusal(400, bodies.error_body(
                "you must provide a model parameter", param="model"))  # fmt: skip
        if azure:
            deployment = self.deployments.get(name) or models.deployments().get(name)
            if deployment is not None:
                return deployment.model, deployment.model
        try:
            models.get(name)
        except UnknownModelError as exc:
            if azure:
                raise _Refusal(404, bodies.error_body(
                    "The API deployment for this resource does not exist.",
                    code="DeploymentNotFound")) from exc  # fmt: skip
            raise _Refusal(404, bodies.error_body(
                f"The model `{name}` does not exist or you do not have access to it.",
                code="model_not_found")) from exc  # fmt: skip
        return name, name

    def _complete(
        self, route: _Route, request: NormalizedRequest, model: str, reported: str, prompt: int
    ) -> bodies.Completion:
        """The reply cut to the completion limit, and the usage it bills."""
        encoding = models.encoding_for_model(model)
        text, visible = self.reply, count(self.reply, model=model)
        reasoning = self.reasoning_tokens
        limit = request.completion_tokens
        truncated = limit is not None and reasoning + visible > limit
        if limit is not None and truncated:
            reasoning = min(reasoning, limit)
            visible = limit - reasoning
            text = encoding.decode(encoding.encode(self.reply)[:visible])
        copies = request.n if route.api == "chat" else 1
        output = (visible + reasoning) * copies
        cached = min(self.cached_tokens, prompt)
        usage: dict[str, Any]
        if route.api == "chat":
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": output,
                "total_tokens": prompt + output,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": reasoning * copies, "audio_tokens": 0,
                    "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
                },
            }  # fmt: skip
        else:
            usage = {
                "input_tokens": prompt,
                "input_tokens_details": {"cached_tokens": cached},
                "output_tokens": output,
                "output_tokens_details": {"reasoning_tokens": reasoning},
                "total_tokens": prompt + output,
            }
        return bodies.Completion(reported, text, truncated, usage, route.azure, copies)

    def _embeddings(
        self, route: _Route, request: NormalizedRequest, body: dict[str, Any], model: str,
        reported: str,
    ) -> tuple[FakeReply, dict[str, Any], bool]:  # fmt: skip
        bad = [e for e in request.errors if e.field.startswith("input")]
        if bad:
            raise InvalidRequestError(bad[0].field, bad[0].value, bad[0].expected)
        counts = count_inputs(request, model=model)
        limit = models.get(model).max_input_tokens
        for i, n in enumerate(counts):
            if n > limit:
                raise _Refusal(400, bodies.error_body(
                    f"This model's maximum context length is {limit} tokens, however you "
                    f"requested {n} tokens in input[{i}]. Please reduce your prompt.",
                    param="input", code="context_length_exceeded"))  # fmt: skip
        dimensions = body.get("dimensions") or self.dimensions
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            message = f"Invalid value for 'dimensions': {dimensions!r}."
            raise _Refusal(400, bodies.error_body(message, param="dimensions"))
        usage = {"prompt_tokens": sum(counts), "total_tokens": sum(counts)}
        raw = bodies.embeddings_body(
            request.inputs, model=reported, usage=usage, dimensions=dimensions,
            base64_format=body.get("encoding_format") == "base64",
        )  # fmt: skip
        return self._ok(raw), usage, True

    def _take_cut(self) -> int | None:
        with self._lock:
            return self._state.cuts.pop(0) if self._state.cuts else None

    def _ok(
        self, body: bytes = b"", *, events: tuple[bytes, ...] | None = None, cut: bool = False
    ) -> FakeReply:
        kind = "text/event-stream; charset=utf-8" if events is not None else "application/json"
        headers = (("content-type", kind), ("x-request-id", _request_id()),
                   *self.headers.items())  # fmt: skip
        return FakeReply(200, headers, body, events, cut)


def _route(method: str, path: str, query: Mapping[str, str]) -> _Route:
    """Which API a path is, and the Azure deployment it names; 404/400 as the API answers."""
    for pattern, azure, versioned in _ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        if method.upper() != "POST":
            break
        if versioned and not query.get("api-version"):
            raise _Refusal(400, bodies.error_body(
                "Missing required query parameter 'api-version' (e.g. ?api-version=2024-10-21).",
                param="api-version", code="missing_api_version"))  # fmt: skip
        groups = match.groups()
        deployment = groups[0] if len(groups) == 2 else None
        return _Route(_APIS[groups[-1]], azure, deployment)
    raise _Refusal(404, bodies.error_body(f"Invalid URL ({method.upper()} {path})"))


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _check_context(model: str, prompt: int, param: str) -> None:
    limit = models.get(model).max_input_tokens
    if prompt > limit:
        raise _Refusal(400, bodies.error_body(
            f"This model's maximum context length is {limit} tokens. However, your messages "
            f"resulted in {prompt} tokens. Please reduce the length of the messages.",
            param=param, code="context_length_exceeded"))  # fmt: skip


def _failure_body(failure: _Failure, body: Any) -> bytes:
    kind, message = _FAILURE_TEXT.get(failure.status, ("api_error", "Scripted failure."))
    code = failure.code
    if failure.status == 429:
        code = code or "rate_limit_exceeded"
        model = body.get("model") if isinstance(body, dict) else None
        message = f"Rate limit reached for {model or 'requests'} on tokens per min (TPM). " \
                  "Please try again in 6m0s."  # fmt: skip
    return bodies.error_body(message, type=kind, code=code)


def _error_reply(refusal: _Refusal) -> FakeReply:
    headers = {"content-type": "application/json", "x-request-id": _request_id(),
               **refusal.headers}  # fmt: skip
    return FakeReply(refusal.status, tuple(headers.items()), refusal.body)


def _request_id() -> str:
    return "req_" + uuid.uuid4().hex


def _redact(name: str, value: str) -> str:
    if name not in _SECRET_HEADERS:
        return value
    scheme, _, secret = value.partition(" ")
    return f"{scheme} {_REDACTED}" if secret else _REDACTED


def _check_headers(
    headers: Mapping[str, str] | None, field: str, *, lower: bool = True
) -> dict[str, str]:
    """A copy of a dict of header (``lower``) or query names to str values, refused when a
    value could not go on the wire (line breaks, NUL, non-latin-1 header text)."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and _wire_safe(k, v, header=lower)
        for k, v in headers.items()
    ):
        raise InvalidRequestError(
            field, headers, "a dict of names to str values (latin-1, no line breaks)"
        )
    return {k.lower() if lower else k: v for k, v in headers.items()}


def _wire_safe(name: str, value: str, *, header: bool) -> bool:
    if _BREAKS.search(name + value):
        return False
    if not header:
        return True
    try:
        (name + value).encode("latin-1")
    except UnicodeEncodeError:
        return False
    return bool(name.strip())
