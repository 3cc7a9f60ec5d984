"""Name resolution: shipped data, then user files and registrations, then Azure deployments.

Lookup order for ``get(name)``: an Azure deployment of that name; an exact model name, alias or
dated snapshot (user entries shadow shipped ones); the same after removing an ``azure/`` or
``openai/`` route (``azure/eu/gpt-5`` also says "Data Zone"); a fine-tune's base model. There
is no prefix guessing here: a name nobody registered is an ``UnknownModelError``, never another
model's limits or prices.
"""

from __future__ import annotations

import difflib
import json
import os
import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from tokman.errors import UnknownModelError
from tokman.models._files import read_data_file
from tokman.models._info import ModelInfo
from tokman.models._schema import parse_models
from tokman.models.deployments import Deployment, DeploymentMap

__all__ = ["MODELS_FILE_ENV", "Registry"]

MODELS_FILE_ENV = "TOKMAN_MODELS_FILE"
_SHIPPED = "models.json"

# azure/<region>/<model>: region segments LiteLLM and others use, and the type each implies
_ROUTE_TYPES = {
    "eu/": "datazone",
    "us/": "datazone",
    "datazone/": "datazone",
    "global/": "global",
    "global-standard/": "global",
    "regional/": "regional",
}
_HINT = (
    "Register it: tokman.models.register({name!r}, encoding='o200k_base', "
    "context_window=..., max_output_tokens=...), add it to the JSON file named by "
    "$TOKMAN_MODELS_FILE, or, for an Azure deployment, "
    "tokman.models.register_deployment({name!r}, model='gpt-4o')."
)


def _read_shipped() -> list[ModelInfo]:
    text = resources.files("tokman.models").joinpath("data", _SHIPPED).read_text("utf-8")
    return parse_models(json.loads(text), origin=f"tokman/models/data/{_SHIPPED}")


def read_models_file(path: str | os.PathLike[str]) -> list[ModelInfo]:
    """Parse and validate a user's models file (same schema as the shipped one).

    Raises:
        ConfigurationError: unreadable, not JSON, or invalid; the message names the file.
    """
    file = Path(path)
    data = read_data_file(file, what="models file")
    return parse_models(data, origin=str(file))


class Registry:
    """All known models and deployments, loaded on first use and safe to share across threads."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._loaded = False
        self._shipped: dict[str, ModelInfo] = {}
        self._user: dict[str, ModelInfo] = {}
        self._index: dict[str, ModelInfo] = {}
        self._deployments = DeploymentMap()
        self._env_deployments = DeploymentMap()
        self._all_deployments: DeploymentMap | None = None
        # name -> encoding, for the counting hot path; cleared by every change to the registry
        self._encodings: dict[str, str] = {}

    # -- loading ------------------------------------------------------------------------------

    def _ensure(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._shipped = {info.name: info for info in _read_shipped()}
            env_file = os.environ.get(MODELS_FILE_ENV, "").strip()
            user = {info.name: info for info in read_models_file(env_file)} if env_file else {}
            self._env_deployments = DeploymentMap.from_env()
            self._user = {**user, **self._user}
            self._loaded = True
            self._reindex()

    def _changed(self) -> None:
        self._all_deployments = None
        self._encodings = {}

    def _reindex(self) -> None:
        index: dict[str, ModelInfo] = {}
        for table in (self._shipped, self._user):  # user entries shadow shipped ones
            for info in table.values():
                for name in info.names:
                    index[name] = info
        self._index = index
        self._changed()

    def reset(self) -> None:
        """Forget registrations and re-read the shipped data and environment on next use."""
        with self._lock:
            self._loaded = False
            self._shipped = {}
            self._user = {}
            self._index = {}
            self._deployments = DeploymentMap()
            self._env_deployments = DeploymentMap()
            self._changed()

    def add(self, infos: Iterable[ModelInfo]) -> None:
        """Add or replace models (by canonical name); they shadow shipped names and aliases."""
        with self._lock:
            self._ensure()
            for info in infos:
                self._user[info.name] = info
            self._reindex()

    def add_deployments(self, deployments: DeploymentMap) -> None:
        """Add or replace deployments; the models they name are checked on lookup."""
        with self._lock:
            self._ensure()
            self._deployments = self._deployments.merged(deployments)
            self._changed()

    # -- lookup -------------------------------------------------------------------------------

    def deployments(self) -> DeploymentMap:
        """Deployments from ``$TOKMAN_DEPLOYMENTS`` plus those registered in code."""
        self._ensure()
        merged = self._all_deployments
        if merged is None:
            with self._lock:
                merged = self._all_deployments = self._env_deployments.merged(self._deployments)
        return merged

    def cached_encoding(self, name: str) -> str | None:
        """The encoding already resolved for ``name`` since the registry last changed."""
        self._ensure()
        return self._encodings.get(name)

    def remember_encoding(self, name: str, encoding: str) -> None:
        """Keep ``name -> encoding`` for the next lookup (bounded: names are few in practice)."""
        if len(self._encodings) >= 4096:
            self._encodings = {}
        self._encodings[name] = encoding

    def models(self) -> list[ModelInfo]:
        """Every model once (user entries replacing shipped ones of the same name)."""
        self._ensure()
        merged = {**self._shipped, **self._user}
        return [merged[name] for name in sorted(merged)]

    def get(self, name: str) -> ModelInfo:
        """Resolve a model name, alias, snapshot, route, fine-tune or deployment."""
        if not isinstance(name, str) or not name.strip():
            raise UnknownModelError(repr(name), hint="Pass the model name as a string.")
        self._ensure()
        key = name.strip()
        deployment = self.deployments().get(key)
        if deployment is not None:
            return self._via_deployment(deployment)
        found = self._lookup(key)
        if found is not None:
            return found
        raise self.unknown(key)

    def find(self, name: str) -> ModelInfo | None:
        """Like :meth:`get` but ``None`` for an unknown name."""
        try:
            return self.get(name)
        except UnknownModelError:
            return None

    def _via_deployment(self, deployment: Deployment) -> ModelInfo:
        found = self._lookup(deployment.model)
        if found is None:
            known = self.unknown(deployment.model)
            raise UnknownModelError(
                deployment.model,
                close_matches=known.close_matches,
                hint=f"Azure deployment {deployment.name!r} names this model, which tokman does "
                "not know; fix the deployment's 'model' or register the model with "
                "tokman.models.register(...).",
            )
        return found.with_route(
            provider="azure",
            deployment=deployment.name,
            deployment_type=deployment.deployment_type,
        )

    def _lookup(self, key: str) -> ModelInfo | None:
        found = self._index.get(key)
        if found is not None:
            return found
        routed = self._routed(key)
        if routed is not None:
            return routed
        return self._fine_tune(key)

    def _routed(self, key: str) -> ModelInfo | None:
        for route, provider in (("azure/", "azure"), ("openai/", "openai")):
            if not key.startswith(route):
                continue
            rest, dtype = key[len(route) :], None
            if provider == "azure":
                for segment, implied in _ROUTE_TYPES.items():
                    if rest.startswith(segment):
                        rest, dtype = rest[len(segment) :], implied
                        break
            inner = self._index.get(rest) or self._fine_tune(rest)
            if inner is None:
                return None
            return inner.with_route(provider=provider, deployment_type=dtype)
        return None

    def _fine_tune(self, key: str) -> ModelInfo | None:
        # OpenAI: ft:gpt-4o-mini-2024-07-18:org:suffix:id; Azure: gpt-4o-mini-2024-07-18.ft-abc
        base = key
        if base.startswith("ft:"):
            base = base[3:].split(":", 1)[0]
        if ".ft-" in base:
            base = base.split(".ft-", 1)[0]
        if base == key:
            return None
        found = self._index.get(base)
        return None if found is None else found.as_fine_tune(key)

    def known_names(self) -> list[str]:
        """Every name ``get`` resolves directly: models, aliases, snapshots, deployments."""
        self._ensure()
        return sorted({*self._index, *self.deployments()})

    def unknown(self, name: str) -> UnknownModelError:
        """The error for an unresolvable name, with the closest known names."""
        stripped = name
        for route in ("azure/", "openai/"):
            if stripped.startswith(route):
                stripped = stripped[len(route) :].split("/")[-1]
        close = difflib.get_close_matches(stripped, self.known_names(), n=3, cutoff=0.6)
        return UnknownModelError(name, close_matches=close, hint=_HINT.format(name=name))
