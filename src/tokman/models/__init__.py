"""Model registry (being built for the registry issue): names, limits, prices, deployments."""

from __future__ import annotations

from tokman.encodings import encoding_name_for_model

__all__ = ["encoding_for"]


def encoding_for(model: str) -> str:
    """The encoding name of a model, alias, snapshot, ``ft:`` name or Azure deployment."""
    return encoding_name_for_model(model)
