"""Every registry test starts from the shipped data, with no user file or deployments."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tokman import models


@pytest.fixture(autouse=True)
def _clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No developer's $TOKMAN_MODELS_FILE / $TOKMAN_DEPLOYMENTS, no leftover registrations."""
    monkeypatch.delenv("TOKMAN_MODELS_FILE", raising=False)
    monkeypatch.delenv("TOKMAN_DEPLOYMENTS", raising=False)
    models.reset()
    yield
    models.reset()
