"""`FakeOpenAI.serve()`: the fake on a real HTTP/1.1 socket, for clients that must connect.

Some code under test builds its own client (another process, another HTTP library, the
gateway); it needs a URL. :class:`FakeServer` runs the standard library's
``ThreadingHTTPServer`` on 127.0.0.1 at a free port in a daemon thread, and carries bytes
between the socket and :meth:`FakeOpenAI.handle`: keep-alive answers with ``Content-Length``,
streams chunked (one chunk per SSE message, Nagle off, so each arrives at once), and a cut
stream closes the socket before the last chunk, which clients see as a dropped connection.
Each answer is written with one ``send`` call: no sleeps, no buffering delays.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tokman.testing._fake_bodies import error_body

if TYPE_CHECKING:
    from tokman.testing._fake_openai import FakeOpenAI, FakeReply

__all__ = ["FakeServer"]

_POLL_SECONDS = 0.02  # how long stopping the server may wait for its loop to notice


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a burst of new connections (a
    # gateway opening 100 at once), which the client's kernel retries only after 1 s
    request_queue_size = 1024

    def __init__(self, fake: FakeOpenAI) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a closed keep-alive connection, a stream closed early) is
        normal for a test server; anything else is printed as the base class does."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        try:
            reply = self.server.fake.handle(
                self.command,
                unquote(url.path),
                query=dict(parse_qsl(url.query, keep_blank_values=True)),
                headers=dict(self.headers.items()),
                body=body,
            )
        except Exception:  # a bug in the fake: say so in the answer, not as a dropped socket
            message = "FakeOpenAI failed: " + traceback.format_exc(limit=3)
            self._write(500, (("content-type", "application/json"),),
                        error_body(message, type="server_error"))  # fmt: skip
            return
        if reply.events is None:
            self._write(reply.status, reply.headers, reply.body)
        else:
            self._stream(reply)

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _answer

    def _head(self, status: int, headers: tuple[tuple[str, str], ...]) -> list[bytes]:
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        lines = [f"HTTP/1.1 {status} {phrase}".encode()]
        lines += [f"{name}: {value}".encode("latin-1") for name, value in headers]
        return lines

    def _write(self, status: int, headers: tuple[tuple[str, str], ...], body: bytes) -> None:
        lines = self._head(status, headers)
        lines.append(b"content-length: %d" % len(body))
        self.wfile.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)

    def _stream(self, reply: FakeReply) -> None:
        lines = self._head(reply.status, reply.headers)
        lines += [b"transfer-encoding: chunked", b"cache-control: no-cache"]
        self.wfile.write(b"\r\n".join(lines) + b"\r\n\r\n")
        for event in reply.events or ():
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        if reply.cut:  # no last chunk: the client reads an incomplete body
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a test's output is not the place for an access log."""


class FakeServer:
    """A running `FakeOpenAI` HTTP server; use it as a context manager (``fake.serve()``).

    Attributes:
        host, port: where it listens (127.0.0.1 and a free port).
        url: ``http://127.0.0.1:PORT``.
        base_url: ``url + "/v1"``, for ``openai.OpenAI(base_url=...)``.
        azure_endpoint: ``url``, for ``openai.AzureOpenAI(azure_endpoint=...)``.
    """

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.host, self.port = "127.0.0.1", 0

    @property
    def url(self) -> str:
        """The server's root URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (``/v1``)."""
        return self.url + "/v1"

    @property
    def azure_endpoint(self) -> str:
        """The Azure endpoint (the SDK adds ``/openai/...``)."""
        return self.url

    def start(self) -> FakeServer:
        """Bind and start serving in a daemon thread; returns ``self``."""
        if self._server is None:
            self._server = _Server(self.fake)
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": _POLL_SECONDS},
                name=f"FakeOpenAI:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open (keep-alive) connections and wait for the thread."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with server.connections_lock:
            for connection in server.connections:
                with contextlib.suppress(OSError):  # already closed by the client
                    connection.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
