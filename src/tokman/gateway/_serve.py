"""Running the gateway: one uvicorn server per worker process, all on one listening socket.

The parent binds the socket once and starts ``workers`` processes (``spawn``), each building
its own app from the config file and serving the shared socket; the parent restarts a worker
that dies (``kill -9``, out of memory) while the others keep serving, and stops them all on
SIGINT/SIGTERM. This is uvicorn's own multi-worker model, with the app built from a file path
instead of an import string, so nothing is passed through the environment.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from typing import Any

__all__ = ["bind", "serve"]

_log = logging.getLogger("tokman.gateway")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket, shared by every worker."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(config_path: str, sock: socket.socket, log_level: str) -> None:
    import uvicorn

    from tokman.gateway import build_app, load_config

    app = build_app(load_config(config_path))
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


def serve(
    config_path: str,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int = 1,
    log_level: str = "warning",
    ready: Any = None,
) -> None:
    """Serve until SIGINT/SIGTERM (see the module docstring)."""
    from tokman.gateway import load_config

    config = load_config(config_path)  # checked here, so a mistake stops the start
    if workers > 1 and config.limiter.startswith("memory:"):
        from tokman.errors import ConfigurationError

        raise ConfigurationError(
            f"{config.source}: gateway.limiter = 'memory://' keeps a quota per process, so "
            f"{workers} workers would admit {workers}x the quota: set gateway.limiter to a "
            "redis:// URL, or run one worker"
        )
    sock = bind(host or config.host, port or config.port)
    if workers == 1:
        _worker(config_path, sock, log_level)
        return
    context = multiprocessing.get_context("spawn")
    procs: list[Any] = []
    stopping = False

    def start() -> Any:
        proc = context.Process(target=_worker, args=(config_path, sock, log_level), daemon=True)
        proc.start()
        return proc

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        procs = [start() for _ in range(workers)]
        if ready is not None:
            ready()
        while not stopping:
            time.sleep(0.2)
            for i, proc in enumerate(procs):
                if not proc.is_alive() and not stopping:
                    _log.warning("gateway worker %s exited (%s): starting another", proc.pid,
                                 proc.exitcode)  # fmt: skip
                    procs[i] = start()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(10)
        for s, handler in old.items():
            signal.signal(s, handler)
        sock.close()
