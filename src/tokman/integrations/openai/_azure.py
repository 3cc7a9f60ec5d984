"""`AzureOpenAIConfig`: an Azure OpenAI endpoint, key, API version and deployment in one value.

It builds instrumented ``AzureOpenAI`` / ``AsyncAzureOpenAI`` clients and is what the seed's
``TokenManager(config=...)`` reads. The key is never shown: ``repr``, ``str`` and every error
mask it, and it is never stored in a ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tokman.config import Settings
from tokman.errors import ConfigurationError, InvalidRequestError

__all__ = ["AzureOpenAIConfig"]


def _mask(key: str | None) -> str:
    if not key:
        return "None"
    return "'***'" if len(key) < 12 else f"'{key[:3]}***{key[-2:]}'"


@dataclass(frozen=True)
class AzureOpenAIConfig:
    """Where and how to reach an Azure OpenAI deployment.

    Attributes:
        endpoint: ``https://<resource>.openai.azure.com``.
        api_key: the resource key (masked in ``repr``).
        api_version: the ``api-version`` query value (``2024-10-21``).
        deployment: the default deployment name, if any.
        model_limits: per-model overrides in the seed's shape (``{"gpt-4": {"max_tokens":
            8192, "chunk_size": 2048, "cost_per_1k_prompt": 0.03, ...}}``).

    >>> AzureOpenAIConfig("https://r.openai.azure.com", "0123456789abcdef", "2024-10-21")
    AzureOpenAIConfig(endpoint='https://r.openai.azure.com', api_key='012***ef', \
api_version='2024-10-21', deployment=None)
    """

    endpoint: str
    api_key: str | None = field(default=None, repr=False)
    api_version: str | None = None
    deployment: str | None = None
    model_limits: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        endpoint = self.endpoint
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            raise InvalidRequestError(
                "endpoint",
                endpoint if isinstance(endpoint, str) else type(endpoint).__name__,
                "the resource's endpoint URL, https://<resource>.openai.azure.com",
            )
        if self.api_key is not None and (not isinstance(self.api_key, str) or not self.api_key):
            raise InvalidRequestError(  # the value itself is never shown: it may be a key
                "api_key", "<hidden>", "the resource key as a non-empty str, or None"
            )
        for name in ("api_version", "deployment"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InvalidRequestError(name, value, "a non-empty str, or None")
        limits = self.model_limits
        if not isinstance(limits, Mapping) or not all(
            isinstance(k, str) and isinstance(v, Mapping) for k, v in limits.items()
        ):
            raise InvalidRequestError(
                "model_limits",
                limits,
                "a dict {model: {'max_tokens': ..., 'chunk_size': ..., ...}} (the seed's shape)",
            )

    def __repr__(self) -> str:
        return (
            f"AzureOpenAIConfig(endpoint={self.endpoint!r}, api_key={_mask(self.api_key)}, "
            f"api_version={self.api_version!r}, deployment={self.deployment!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AzureOpenAIConfig:
        """From ``AZURE_OPENAI_ENDPOINT``, ``AZURE_OPENAI_API_KEY``, ``OPENAI_API_VERSION`` and
        ``AZURE_OPENAI_DEPLOYMENT`` (the variables the openai SDK reads, plus the deployment).

        Raises:
            ConfigurationError: ``AZURE_OPENAI_ENDPOINT`` is not set.
        """
        settings = Settings.from_env(environ)
        if not settings.azure_endpoint:
            raise ConfigurationError(
                "$AZURE_OPENAI_ENDPOINT is not set: set it to your resource's endpoint "
                "(https://<resource>.openai.azure.com), or pass AzureOpenAIConfig(endpoint=...)"
            )
        return cls(
            endpoint=settings.azure_endpoint,
            api_key=settings.azure_api_key,
            api_version=settings.openai_api_version,
            deployment=settings.azure_deployment,
        )

    def _client_kwargs(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        args: dict[str, Any] = {"azure_endpoint": self.endpoint}
        if self.api_key is not None:
            args["api_key"] = self.api_key
        if self.api_version is not None:
            args["api_version"] = self.api_version
        if self.deployment is not None:
            args["azure_deployment"] = self.deployment
        return {**args, **kwargs}

    def client(self, *, client_options: Mapping[str, Any] | None = None, **instrument: Any) -> Any:
        """An instrumented ``openai.AzureOpenAI`` (``instrument`` keywords: ledger, limiter,
        budgets, metrics, tags, ...; ``client_options`` go to ``AzureOpenAI(...)``)."""
        from tokman.integrations.openai import _openai
        from tokman.integrations.openai import instrument as instrument_client

        openai = _openai()
        raw = openai.AzureOpenAI(**self._client_kwargs(client_options or {}))
        return instrument_client(raw, **instrument)

    def async_client(
        self, *, client_options: Mapping[str, Any] | None = None, **instrument: Any
    ) -> Any:
        """An instrumented ``openai.AsyncAzureOpenAI`` (see `client`)."""
        from tokman.integrations.openai import _openai
        from tokman.integrations.openai import instrument as instrument_client

        openai = _openai()
        raw = openai.AsyncAzureOpenAI(**self._client_kwargs(client_options or {}))
        return instrument_client(raw, **instrument)
