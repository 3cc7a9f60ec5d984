"""`FakeOpenAI.transport()`: the fake behind an httpx2 (or legacy httpx) ``MockTransport``.

openai 3.x sends through httpx2, 1.x/2.x through httpx; both keep httpx's transport interface,
so one adapter, given the module, serves either, sync and async. It converts the request for
:meth:`FakeOpenAI.handle` and the reply back; streams are a byte stream that yields the SSE
messages one by one and, for a cut stream, then raises the module's ``RemoteProtocolError``,
as a dropped connection does. The module is imported here, on first use, so ``import
tokman.testing`` loads neither library.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokman.testing._fake_openai import FakeOpenAI, FakeReply

__all__ = ["make_transport"]

_CUT = "peer closed connection without sending complete message body (incomplete chunked read)"
_STREAMS: dict[str, type] = {}


def _stream_type(module: ModuleType) -> type:
    """A byte stream class of ``module`` that is both sync and async (one per module)."""
    known = _STREAMS.get(module.__name__)
    if known is not None:
        return known

    class _Events(module.SyncByteStream, module.AsyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, reply: FakeReply, request: Any) -> None:
            self._reply, self._request = reply, request

        def _dropped(self) -> Exception:
            error: Exception = module.RemoteProtocolError(_CUT, request=self._request)
            return error

        def __iter__(self) -> Iterator[bytes]:
            yield from self._reply.events or ()
            if self._reply.cut:
                raise self._dropped()

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for event in self._reply.events or ():
                yield event
            if self._reply.cut:
                raise self._dropped()

    _STREAMS[module.__name__] = _Events
    return _Events


def make_transport(fake: FakeOpenAI, module: ModuleType | None) -> Any:
    """``module.MockTransport`` answering every request with ``fake.handle``."""
    http = module if module is not None else importlib.import_module("httpx2")
    events = _stream_type(http)

    def handler(request: Any) -> Any:
        reply = fake.handle(
            request.method,
            request.url.path,
            query=dict(request.url.params),
            headers=dict(request.headers),
            body=request.content,
        )
        if reply.events is None:
            return http.Response(reply.status, headers=list(reply.headers), content=reply.body)
        return http.Response(
            reply.status, headers=list(reply.headers), stream=events(reply, request)
        )

    return http.MockTransport(handler)
