"""Rate-limiter fixtures: every behavioural test runs on each backend, under its own name."""

from __future__ import annotations

import uuid

import pytest

BACKENDS = ["memory", "redis"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend URL of the current kind (Redis: a reachable server, see tests/servers.py)."""
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A quota name no other test uses (its Redis keys are deleted afterwards)."""
    unique = f"t{uuid.uuid4().hex[:12]}"
    yield unique
    if "redis_url" in request.fixturenames:
        import redis

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        keys = list(client.scan_iter(match=f"{{tokman:{unique}}}*"))
        if keys:
            client.delete(*keys)
        client.close()
