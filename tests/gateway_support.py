"""Gateway test helpers: a gateway served by uvicorn in a thread, configs for the fake upstream."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tokman.gateway._app import Gateway, create_app

UPSTREAM_KEY = "sk-upstream-SENTINEL-0123456789"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    """A gateway being served: its state, its URL, a key."""

    gateway: Gateway
    url: str
    key: str

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of the gateway."""
        return f"{self.url}/v1"


@contextmanager
def serve_gateway(gateway: Gateway) -> Iterator[str]:
    """Serve ``gateway`` with uvicorn in a thread; yields its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(gateway), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def config_for(upstream_url: str, **gateway: Any) -> dict[str, Any]:
    """A one-upstream OpenAI-kind config for gpt-4o and gpt-4o-mini on the fake upstream."""
    return {
        "gateway": {"ledger": "memory://", "limiter": "memory://", **gateway},
        "upstreams": [
            {
                "name": f"fake{uuid.uuid4().hex[:8]}",  # limiter names unique per test
                "kind": "openai",
                "base_url": upstream_url,
                "api_key_env": "UPSTREAM_KEY",
                "deployments": [
                    {"model": "gpt-4o", "tpm": 1_000_000, "rpm": 6_000},
                    {"model": "gpt-4o-mini"},
                ],
            }
        ],
    }


