"""The HTTP transport that runs tokman's pipeline on every attempt the openai SDK makes.

The SDK's supported extension point is its ``http_client``; its retry loop sits above the
transport, so the transport sees every attempt (a retried 429 is released, observed, and
reserved again), and ``with_options()`` keeps it. openai 3.x runs on ``httpx2``, 1.x/2.x on
``httpx``; both have the same transport interface, so the classes here are made once per
module (`transport_classes`) from the same code.

Per attempt: read the request (`tokman.integrations._pipeline.read_call`); a call that is not
covered goes straight to the wrapped transport. A covered one is planned and admitted by the
guard (a refusal raises before any byte is sent), its body rewritten when tokman asks for
stream usage, and sent; a whole response is read and settled, a stream is handed back wrapped
in a tap that settles when it ends, is cut, or is closed early.

The wrapped transport (the connection pool) stays the original HTTP client's: each tokman
transport keeps that client alive (``owner``) and never closes the pool itself, so the
original client and its instrumented copy can both be used, and the pool is closed when the
original client is closed or collected (the SDK's default client closes itself on ``__del__``).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

from tokman.errors import TokmanError
from tokman.integrations._guard import Active, AsyncGuard, Guard
from tokman.integrations._pipeline import Call, read_call
from tokman.integrations._streams import StreamTap
from tokman.integrations.openai._errors import refusal_response, sdk_error

__all__ = ["transport_classes"]


def _call(request: Any, azure: bool) -> Call | None:
    if request.method != "POST":
        return None
    url = request.url
    return read_call(
        request.method, url.path, request.content, azure=azure, host=url.host, port=url.port
    )


def _with_body(httpx: ModuleType, request: Any, body: bytes) -> Any:
    """The request with a new JSON body (the rest, extensions included, kept)."""
    headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
    return httpx.Request(
        request.method, request.url, headers=headers, content=body, extensions=request.extensions
    )


def _is_stream(response: Any) -> bool:
    return bool(response.headers.get("content-type", "").startswith("text/event-stream"))


def _stream_headers(response: Any, active: Active) -> Any:
    headers = response.headers
    if active.plan.hide_usage and "content-length" in headers:
        headers = headers.copy()
        del headers["content-length"]  # the usage chunk tokman asked for is not passed on
    return headers


@functools.cache
def transport_classes(httpx: ModuleType) -> tuple[type[Any], type[Any]]:
    """``(SyncTransport, AsyncTransport)`` for ``httpx`` (the ``httpx`` or ``httpx2`` module)."""

    class TappedStream(httpx.SyncByteStream):  # type: ignore[name-defined,misc]
        """A streamed body passed through a `StreamTap`; settles when it ends or closes."""

        def __init__(self, inner: Any, guard: Guard, active: Active, status: int) -> None:
            self._inner, self._guard, self._active, self._status = inner, guard, active, status

        def __iter__(self) -> Iterator[bytes]:
            active, tap = self._active, self._active.tap
            assert tap is not None
            try:
                for chunk in self._inner:
                    out = active.passed(chunk, self._guard.clock)
                    if out:
                        yield out
                rest = tap.flush()
                if rest:
                    yield rest
            finally:
                self._guard.stream_ended(active, self._status)

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                self._guard.stream_ended(self._active, self._status)

    class AsyncTappedStream(httpx.AsyncByteStream):  # type: ignore[name-defined,misc]
        """`TappedStream` for asyncio."""

        def __init__(self, inner: Any, guard: AsyncGuard, active: Active, status: int) -> None:
            self._inner, self._guard, self._active, self._status = inner, guard, active, status

        async def __aiter__(self) -> AsyncIterator[bytes]:
            active, tap = self._active, self._active.tap
            assert tap is not None
            try:
                async for chunk in self._inner:
                    out = active.passed(chunk, self._guard.clock)
                    if out:
                        yield out
                rest = tap.flush()
                if rest:
                    yield rest
            finally:
                await self._guard.stream_ended(active, self._status)

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                await self._guard.stream_ended(self._active, self._status)

    class Transport(httpx.BaseTransport):  # type: ignore[name-defined,misc]
        """Wraps the SDK client's transport; see the module docstring."""

        def __init__(
            self, inner: Any, guard: Guard, *, azure: bool, raise_errors: bool, owner: Any
        ) -> None:
            self.inner, self.guard, self.azure, self.raise_errors = (
                inner, guard, azure, raise_errors,
            )  # fmt: skip
            self.owner = owner

        def handle_request(self, request: Any) -> Any:
            call = _call(request, self.azure)
            if call is None:
                return self.inner.handle_request(request)
            try:
                active = self.guard.begin(call)
            except TokmanError as exc:
                if self.raise_errors:
                    raise sdk_error(exc, request, httpx) from exc.__cause__
                return refusal_response(exc, request, httpx)
            if active is None:
                return self.inner.handle_request(request)
            if active.plan.body is not None:
                request = _with_body(httpx, request, active.plan.body)
            try:
                response = self.inner.handle_request(request)
                status = response.status_code
                if status >= 400 or not active.plan.streaming or not _is_stream(response):
                    body = response.read()
                    self.guard.response(active, status, response.headers, body)
                    return response
            except BaseException as exc:
                self.guard.failed(active, None, headers=None, error_type=type(exc).__name__)
                raise
            self.guard.observe(status, response.headers)
            active.tap = StreamTap(call.api, hide_usage=active.plan.hide_usage)
            return httpx.Response(
                status,
                headers=_stream_headers(response, active),
                stream=TappedStream(response.stream, self.guard, active, status),
                extensions=response.extensions,
            )

        def close(self) -> None:
            """The wrapped transport belongs to the original client (`owner`): it closes it."""

    class AsyncTransport(httpx.AsyncBaseTransport):  # type: ignore[name-defined,misc]
        """`Transport` for asyncio."""

        def __init__(
            self, inner: Any, guard: AsyncGuard, *, azure: bool, raise_errors: bool, owner: Any
        ) -> None:
            self.inner, self.guard, self.azure, self.raise_errors = (
                inner, guard, azure, raise_errors,
            )  # fmt: skip
            self.owner = owner

        async def handle_async_request(self, request: Any) -> Any:
            call = _call(request, self.azure)
            if call is None:
                return await self.inner.handle_async_request(request)
            try:
                active = await self.guard.begin(call)
            except TokmanError as exc:
                if self.raise_errors:
                    raise sdk_error(exc, request, httpx) from exc.__cause__
                return refusal_response(exc, request, httpx)
            if active is None:
                return await self.inner.handle_async_request(request)
            if active.plan.body is not None:
                request = _with_body(httpx, request, active.plan.body)
            try:
                response = await self.inner.handle_async_request(request)
                status = response.status_code
                if status >= 400 or not active.plan.streaming or not _is_stream(response):
                    body = await response.aread()
                    await self.guard.response(active, status, response.headers, body)
                    return response
            except BaseException as exc:
                await self.guard.failed(active, None, headers=None, error_type=type(exc).__name__)
                raise
            await self.guard.observe(status, response.headers)
            active.tap = StreamTap(call.api, hide_usage=active.plan.hide_usage)
            return httpx.Response(
                status,
                headers=_stream_headers(response, active),
                stream=AsyncTappedStream(response.stream, self.guard, active, status),
                extensions=response.extensions,
            )

        async def aclose(self) -> None:
            """See `Transport.close`."""

    return Transport, AsyncTransport
