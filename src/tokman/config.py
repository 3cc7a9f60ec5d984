"""Every environment variable tokman reads, read in one place.

``Settings.from_env()`` is the only code in tokman that looks at ``os.environ``; a test keeps it
so. Settings are read when they are needed (opening a ledger, loading the registry or a
vocabulary), not at import, so a variable set by a test or by an application's start-up code is
honoured. tokman never writes the environment.

========================  ===================================================================
variable                  meaning
========================  ===================================================================
``TOKMAN_VOCAB_DIR``      directory searched first for vocabulary files (``o200k_base.tiktoken``)
``TOKMAN_TOKENIZER``      ``tiktoken`` counts with tiktoken only; ``bpe-openai`` never uses the
                          gigatoken corpus backend; ``auto`` (default) uses the verified-
                          identical Rust backends where they are faster
``TOKMAN_MODELS_FILE``    a JSON/TOML models file whose entries extend or shadow the registry
``TOKMAN_DEPLOYMENTS``    Azure deployments: a JSON/TOML file's path, or the JSON itself
``TOKMAN_LEDGER_URL``     the default ledger (``sqlite:///...``, ``postgresql://...``)
``TIKTOKEN_CACHE_DIR``    tiktoken's cache directory, searched for vocabularies (also
                          ``DATA_GYM_CACHE_DIR``, tiktoken's older name)
``AZURE_OPENAI_ENDPOINT`` ``AzureOpenAIConfig.from_env()``: the resource endpoint
``AZURE_OPENAI_API_KEY``  ... its key (never shown in a repr, log line or error)
``OPENAI_API_VERSION``    ... the ``api-version``
``AZURE_OPENAI_DEPLOYMENT`` ... the default deployment
``TOKMAN_GATEWAY_CONFIG`` the gateway's TOML file (set by ``tokman gateway`` for its workers)
``PROMETHEUS_MULTIPROC_DIR`` prometheus_client's multiprocess directory (the gateway's /metrics)
========================  ===================================================================

>>> Settings.from_env({"TOKMAN_TOKENIZER": "tiktoken"}).tokenizer
'tiktoken'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

from tokman.errors import ConfigurationError

__all__ = ["TOKENIZERS", "VARIABLES", "Settings", "secret_from_env"]

#: Accepted values of ``TOKMAN_TOKENIZER``.
TOKENIZERS = ("auto", "bpe-openai", "tiktoken")
Tokenizer = Literal["auto", "bpe-openai", "tiktoken"]

#: variable -> the ``Settings`` field it sets (the README's table lists exactly these).
VARIABLES: dict[str, str] = {
    "TOKMAN_VOCAB_DIR": "vocab_dir",
    "TOKMAN_TOKENIZER": "tokenizer",
    "TOKMAN_MODELS_FILE": "models_file",
    "TOKMAN_DEPLOYMENTS": "deployments",
    "TOKMAN_LEDGER_URL": "ledger_url",
    "TIKTOKEN_CACHE_DIR": "tiktoken_cache_dir",
    "DATA_GYM_CACHE_DIR": "tiktoken_cache_dir",
    "AZURE_OPENAI_ENDPOINT": "azure_endpoint",
    "AZURE_OPENAI_API_KEY": "azure_api_key",
    "OPENAI_API_VERSION": "openai_api_version",
    "AZURE_OPENAI_DEPLOYMENT": "azure_deployment",
    "TOKMAN_GATEWAY_CONFIG": "gateway_config",
    "PROMETHEUS_MULTIPROC_DIR": "prometheus_multiproc_dir",
}


def _path(environ: Mapping[str, str], name: str) -> Path | None:
    value = environ.get(name, "").strip()
    try:
        return Path(value).expanduser() if value else None
    except RuntimeError:  # "~someone" for a user this system does not have
        raise ConfigurationError(
            f"${name}={value!r} is invalid: ~user names no user on this system; give the path"
        ) from None


@dataclass(frozen=True)
class Settings:
    """tokman's settings from the environment (empty variables count as unset).

    Attributes:
        vocab_dir: ``$TOKMAN_VOCAB_DIR``.
        tokenizer: ``$TOKMAN_TOKENIZER``: ``"auto"`` (the fastest verified backends: bpe-openai,
            and gigatoken for corpus-scale batches when ``tokman[fast]`` is installed),
            ``"bpe-openai"`` (never gigatoken) or ``"tiktoken"`` (tiktoken alone).
        models_file: ``$TOKMAN_MODELS_FILE``.
        deployments: ``$TOKMAN_DEPLOYMENTS`` (a path, or inline JSON starting with ``{``/``[``).
        ledger_url: ``$TOKMAN_LEDGER_URL``; kept out of ``repr`` since it may hold a password.
        tiktoken_cache_dir: ``$TIKTOKEN_CACHE_DIR``, else ``$DATA_GYM_CACHE_DIR``.
        tiktoken_cache_var: which of the two set ``tiktoken_cache_dir`` (for messages).
        azure_endpoint, azure_api_key, openai_api_version, azure_deployment: the Azure OpenAI
            variables `tokman.AzureOpenAIConfig.from_env` reads (the key kept out of ``repr``).
        gateway_config: ``$TOKMAN_GATEWAY_CONFIG``.
        prometheus_multiproc_dir: ``$PROMETHEUS_MULTIPROC_DIR``.
    """

    vocab_dir: Path | None = None
    tokenizer: Tokenizer = "auto"
    models_file: Path | None = None
    deployments: str | None = None
    ledger_url: str | None = field(default=None, repr=False)
    tiktoken_cache_dir: Path | None = None
    tiktoken_cache_var: str | None = None
    azure_endpoint: str | None = None
    azure_api_key: str | None = field(default=None, repr=False)
    openai_api_version: str | None = None
    azure_deployment: str | None = None
    gateway_config: Path | None = None
    prometheus_multiproc_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the variables from ``environ`` (default: ``os.environ``) now.

        Raises:
            ConfigurationError: a variable has a value tokman cannot use; the message names
                the variable and what it accepts.
        """
        env = os.environ if environ is None else environ
        tokenizer = env.get("TOKMAN_TOKENIZER", "").strip().lower() or "auto"
        if tokenizer not in TOKENIZERS:
            raise ConfigurationError(
                f"$TOKMAN_TOKENIZER={env.get('TOKMAN_TOKENIZER')!r} is invalid: expected "
                "'tiktoken' (count with tiktoken only), 'bpe-openai' (never the gigatoken corpus "
                "backend) or 'auto' (the default); unset it to use the default"
            )
        cache_var = next(
            (var for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR") if env.get(var)), None
        )
        return cls(
            vocab_dir=_path(env, "TOKMAN_VOCAB_DIR"),
            tokenizer=cast(Tokenizer, tokenizer),  # one of TOKENIZERS, checked above
            models_file=_path(env, "TOKMAN_MODELS_FILE"),
            deployments=env.get("TOKMAN_DEPLOYMENTS", "").strip() or None,
            ledger_url=env.get("TOKMAN_LEDGER_URL", "").strip() or None,
            tiktoken_cache_dir=None if cache_var is None else _path(env, cache_var),
            tiktoken_cache_var=cache_var,
            azure_endpoint=env.get("AZURE_OPENAI_ENDPOINT", "").strip() or None,
            azure_api_key=env.get("AZURE_OPENAI_API_KEY", "").strip() or None,
            openai_api_version=env.get("OPENAI_API_VERSION", "").strip() or None,
            azure_deployment=env.get("AZURE_OPENAI_DEPLOYMENT", "").strip() or None,
            gateway_config=_path(env, "TOKMAN_GATEWAY_CONFIG"),
            prometheus_multiproc_dir=_path(env, "PROMETHEUS_MULTIPROC_DIR"),
        )


def secret_from_env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of the variable a config file names for a secret (the gateway's upstream
    ``api_key_env``): the file holds the variable's name, never the key itself."""
    env = os.environ if environ is None else environ
    return env.get(name, "").strip() or None
