"""Gateway fixtures: a fake upstream (tokman.testing.FakeOpenAI over real HTTP) and gateways
served by uvicorn in a thread on a free port (helpers in tests/gateway_support.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway_support import UPSTREAM_KEY, Running, config_for, serve_gateway
from tokman.gateway import parse_config
from tokman.gateway._app import Gateway
from tokman.testing import FakeOpenAI


@pytest.fixture
def upstream() -> Iterator[Any]:
    """A fake OpenAI/Azure upstream over real HTTP: ``(fake, server)``."""
    fake = FakeOpenAI("Paris is the capital of France.", deployments={"east-4o": "gpt-4o"})
    with fake.serve() as server:
        yield fake, server


@pytest.fixture
def start_gateway(upstream: Any) -> Iterator[Callable[..., Running]]:
    """Start gateways on the fake upstream: ``start(config=None, **gateway_options)``."""
    stack: list[Any] = []

    def start(config: dict[str, Any] | None = None, **options: Any) -> Running:
        _, server = upstream
        cfg = parse_config(config or config_for(server.base_url, **options))
        gateway = Gateway(cfg, environ={"UPSTREAM_KEY": UPSTREAM_KEY, "AZURE_KEY": UPSTREAM_KEY})
        secret, _ = gateway.keys.create("acme")
        cm = serve_gateway(gateway)
        url = cm.__enter__()
        stack.append(cm)
        return Running(gateway, url, secret)

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)
