"""encoding_for is cached for speed, and the cache follows every change to the registry."""

from __future__ import annotations

import pytest

import tokman
from tokman import models
from tokman.errors import UnknownModelError


def test_deployment_changes_are_seen_after_a_cached_lookup() -> None:
    """Re-pointing a deployment to another model changes its encoding at once."""
    with pytest.raises(UnknownModelError):
        models.encoding_for("search-prod")
    models.register_deployment("search-prod", model="gpt-4")
    assert models.encoding_for("search-prod") == "cl100k_base"
    assert tokman.count("hello world", model="search-prod") == 2
    models.register_deployment("search-prod", model="gpt-4o")
    assert models.encoding_for("search-prod") == "o200k_base"
    models.reset()
    with pytest.raises(UnknownModelError):
        models.encoding_for("search-prod")


def test_registered_model_shadows_a_cached_prefix_rule() -> None:
    """A model registered after a prefix-rule lookup uses its registered encoding."""
    assert models.encoding_for("gpt-4o-2099-01-01") == "o200k_base"
    models.register("gpt-4o-2099-01-01", encoding="cl100k_base", context_window=1000,
                    max_output_tokens=100)  # fmt: skip
    assert models.encoding_for("gpt-4o-2099-01-01") == "cl100k_base"
