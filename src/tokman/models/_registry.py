"""Name resolution: shipped data, then user files and registrations, then Azure deployments.

Names are taken apart once by ``tokman._names.parse_model_name``; lookup order for ``get(name)``:
an Azure deployment of that name (also behind an ``azure/`` route); an exact model name, alias
or dated snapshot, case-insensitively (user entries shadow shipped ones), after removing an
``azure/`` or ``openai/`` route (``azure/eu/gpt-5`` also says "Data Zone"); a fine-tune's base
model. There is no prefix guessing here: a name nobody registered is an ``UnknownModelError``,
never another model's limits or prices.

Everything derived from a name (its encoding, its chat framing, its price) is memoised through
:meth:`Registry.memo`, and every change to the registry drops those memos at once, so no layer
keeps a private cache that goes stale (the chat counter's did).
"""

from __future__ import annotations

import difflib
import json
import os
import threading
from collections.abc import Callable, Hashable, Iterable
from importlib import resources
from typing import Any, TypeVar

from tokman._args import file_path
from tokman._names import ModelName, parse_model_name
from tokman.config import Settings
from tokman.errors import UnknownModelError
from tokman.models._files import read_data_file
from tokman.models._info import SHIPPED_ORIGIN, ModelInfo
from tokman.models._schema import parse_models
from tokman.models.deployments import DeploymentMap

__all__ = ["MODELS_FILE_ENV", "Registry"]

MODELS_FILE_ENV = "TOKMAN_MODELS_FILE"
_SHIPPED = "models.json"

_T = TypeVar("_T")
_MEMO_MAX = 4096  # distinct names per kind; far above what a process uses
_HINT = (
    "Register it: tokman.models.register({name!r}, encoding='o200k_base', "
    "context_window=..., max_output_tokens=...), add it to the JSON file named by "
    "$TOKMAN_MODELS_FILE, or, for an Azure deployment, "
    "tokman.models.register_deployment({name!r}, model='gpt-4o')."
)


def _read_shipped() -> list[ModelInfo]:
    text = resources.files("tokman.models").joinpath("data", _SHIPPED).read_text("utf-8")
    return parse_models(json.loads(text), origin=SHIPPED_ORIGIN)


def read_models_file(path: str | os.PathLike[str], *, field: str = "path") -> list[ModelInfo]:
    """Parse and validate a user's models file (same schema as the shipped one).

    Raises:
        ConfigurationError: unreadable, not JSON, or invalid; the message names the file.
    """
    file = file_path(path, field=field, what="models file")
    data = read_data_file(file, what="models file", field=field)
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
        # kind -> key -> value derived from the registry; cleared by every change to it
        self._memos: dict[str, dict[Hashable, Any]] = {}
        self.generation = 0

    # -- loading ------------------------------------------------------------------------------

    def _ensure(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._shipped = {info.name: info for info in _read_shipped()}
            env_file = Settings.from_env().models_file
            user = (
                {i.name: i for i in read_models_file(env_file, field=f"${MODELS_FILE_ENV}")}
                if env_file
                else {}
            )
            self._env_deployments = DeploymentMap.from_env()
            self._user = {**user, **self._user}
            self._loaded = True
            self._reindex()

    def _changed(self) -> None:
        self._all_deployments = None
        self._memos = {}
        self.generation += 1

    def _reindex(self) -> None:
        index: dict[str, ModelInfo] = {}
        for table in (self._shipped, self._user):  # user entries shadow shipped ones
            for info in table.values():
                for name in info.names:
                    index[name.lower()] = info
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

    def memo(self, kind: str, key: Hashable, compute: Callable[[], _T]) -> _T:
        """``compute()``, remembered under ``(kind, key)`` until the registry next changes.

        The one cache for values derived from the registry (a name's encoding, chat framing,
        price); a value computed while another thread changed the registry is not kept.
        """
        self._ensure()
        table = self._memos.get(kind)
        if table is not None:
            try:
                return table[key]  # type: ignore[no-any-return]
            except KeyError:
                pass
        generation = self.generation
        value = compute()
        with self._lock:
            if generation == self.generation:
                table = self._memos.setdefault(kind, {})
                if len(table) >= _MEMO_MAX:
                    table.clear()
                table[key] = value
        return value

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
        parsed = parse_model_name(name)
        found = self._deployment(parsed) or self._lookup(parsed)
        if found is not None:
            return found
        raise self.unknown(parsed.given)

    def find(self, name: str) -> ModelInfo | None:
        """Like :meth:`get` but ``None`` for an unknown name."""
        try:
            return self.get(name)
        except UnknownModelError:
            return None

    def _deployment(self, parsed: ModelName) -> ModelInfo | None:
        deployments = self.deployments()
        deployment = deployments.get(parsed.given)
        if deployment is None and parsed.provider == "azure":
            deployment = deployments.get(parsed.name)
        if deployment is None:
            return None
        found = self._lookup(parse_model_name(deployment.model))
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

    def _lookup(self, parsed: ModelName) -> ModelInfo | None:
        index = self._index
        found = index.get(parsed.name.lower())
        if found is None and parsed.fine_tuned:
            base = index.get(parsed.base)
            found = None if base is None else base.as_fine_tune(parsed.name)
        if found is None or parsed.provider is None:
            return found
        return found.with_route(provider=parsed.provider, deployment_type=parsed.deployment_type)

    def known_names(self) -> list[str]:
        """Every name ``get`` resolves directly: models, aliases, snapshots, deployments."""
        self._ensure()
        names = {name for info in self._index.values() for name in info.names}
        return sorted(names | set(self.deployments()))

    def unknown(self, name: str) -> UnknownModelError:
        """The error for an unresolvable name, with the closest known names."""
        stripped = parse_model_name(name).name
        close = difflib.get_close_matches(stripped, self.known_names(), n=3, cutoff=0.6)
        return UnknownModelError(name, close_matches=close, hint=_HINT.format(name=name))
