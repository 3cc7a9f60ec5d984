"""tokman's OpenAI-compatible gateway (the ``tokman[gateway]`` extra): exact quotas, budgets
and a ledger for applications in any language, on one process or many.

``tokman gateway --config gateway.toml [--workers N]`` serves it; `create_app` and `Gateway`
are for embedding it in another ASGI server or a test.
"""

from __future__ import annotations

from typing import Any

from tokman.gateway._config import GatewayConfig, load_config, parse_config
from tokman.gateway._keys import KeyStore, VirtualKey, parse_budget

__all__ = [
    "GatewayConfig",
    "KeyStore",
    "VirtualKey",
    "build_app",
    "load_config",
    "parse_budget",
    "parse_config",
    "serve",
]


def build_app(config: GatewayConfig, **kwargs: Any) -> Any:
    """The ASGI app for ``config`` (``kwargs`` go to `Gateway`)."""
    from tokman.gateway._app import Gateway, create_app

    return create_app(Gateway(config, **kwargs))


def serve(
    config_path: str,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int = 1,
    log_level: str = "warning",
) -> None:
    """Run the gateway under uvicorn until interrupted: ``workers`` processes on one socket
    (quotas and the ledger are shared through the config's ``redis://`` / SQL URLs)."""
    from tokman.gateway._serve import serve as run

    run(config_path, host=host, port=port, workers=workers, log_level=log_level)
