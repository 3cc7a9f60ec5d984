"""Rate-limiter fixtures: every behavioural test runs on each backend, under its own name."""

from __future__ import annotations

import pytest

BACKENDS = ["memory", "redis"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend URL of the current kind (Redis: a reachable server, see tests/servers.py)."""
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("redis_url"))

