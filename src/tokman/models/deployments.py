"""Azure OpenAI deployments: the free-text names requests use, mapped to the models behind them.

On Azure a request's ``model`` is the *deployment* name (``"chat-prod"``), which says nothing
about the tokenizer, limits or price. A :class:`DeploymentMap` records, for each deployment,
the model it serves, its deployment type (which sets the price), region and TPM/RPM quota.
The registry consults it first wherever a model name is accepted.

A deployments file is JSON (or TOML on Python 3.11+)::

    {"deployments": {"chat-prod": {"model": "gpt-4o-2024-11-20",
                                   "deployment_type": "DataZoneStandard",
                                   "region": "swedencentral", "tpm": 450000, "rpm": 2700}}}

``$TOKMAN_DEPLOYMENTS`` holds either such a file's path or the JSON itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from tokman._args import file_path
from tokman.config import Settings
from tokman.errors import ConfigurationError, InvalidRequestError
from tokman.models._files import read_data_file
from tokman.models._info import normalize_deployment_type

__all__ = ["DEPLOYMENTS_ENV", "Deployment", "DeploymentMap"]

DEPLOYMENTS_ENV = "TOKMAN_DEPLOYMENTS"
_FIELDS = ("model", "deployment_type", "region", "tpm", "rpm")


@dataclass(frozen=True)
class Deployment:
    """One Azure deployment: its name, the model it serves and how it is bought.

    ``model`` is always a model *name* (a string the registry resolves), never limits or
    prices; ``deployment_type`` is kept as written (``GlobalStandard``, ``datazone``, ...).
    """

    name: str
    model: str
    deployment_type: str | None = None
    region: str | None = None
    tpm: int | None = None
    rpm: int | None = None


def _fail(origin: str, name: str | None, field: str, value: Any, expected: str) -> NoReturn:
    who = f"deployment {name!r}, " if name else ""
    raise ConfigurationError(f"{origin}: {who}field {field!r}: {value!r} is invalid: {expected}")


def _parse_one(origin: str, name: Any, raw: Any) -> Deployment:
    if not isinstance(name, str) or not name.strip():
        _fail(origin, None, "name", name, "expected a non-empty deployment name")
    if isinstance(raw, str):
        raw = {"model": raw}
    if not isinstance(raw, Mapping):
        _fail(origin, name, "model", raw, 'expected {"model": "<model name>", ...}')
    unknown = sorted(set(raw) - set(_FIELDS) - {"name"})
    if unknown:
        _fail(
            origin, name, unknown[0], raw[unknown[0]], f"unknown field; known: {', '.join(_FIELDS)}"
        )
    model = raw.get("model")
    if not isinstance(model, str) or not model.strip():
        _fail(origin, name, "model", model, "expected the model name the deployment serves")
    dtype = raw.get("deployment_type")
    if dtype is not None:
        if not isinstance(dtype, str):
            _fail(
                origin, name, "deployment_type", dtype, "expected a string such as 'GlobalStandard'"
            )
        try:
            normalize_deployment_type(dtype)
        except InvalidRequestError as exc:
            _fail(origin, name, "deployment_type", dtype, exc.expected)
    region = raw.get("region")
    if region is not None and not isinstance(region, str):
        _fail(origin, name, "region", region, "expected a string such as 'eastus2'")
    quota: dict[str, int | None] = {}
    for key in ("tpm", "rpm"):
        value = raw.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value <= 0
        ):
            _fail(origin, name, key, value, "expected a positive integer")
        quota[key] = value
    return Deployment(name, model.strip(), dtype, region, quota["tpm"], quota["rpm"])


class DeploymentMap(Mapping[str, Deployment]):
    """Deployment name -> :class:`Deployment`, read-only once built.

    >>> dm = DeploymentMap.from_dict({"chat-prod": {"model": "gpt-4o", "tpm": 450000}})
    >>> dm["chat-prod"].model, dm["chat-prod"].tpm
    ('gpt-4o', 450000)
    """

    def __init__(self, deployments: Mapping[str, Deployment] | None = None) -> None:
        self._items: dict[str, Deployment] = dict(deployments or {})

    def __getitem__(self, name: str) -> Deployment:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"DeploymentMap({sorted(self._items)!r})"

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "<deployments>") -> DeploymentMap:
        """Build from ``{"deployments": {...}}``, a bare ``{name: {...}}`` or a list of objects.

        Raises:
            ConfigurationError: naming ``origin``, the deployment and the field at fault.
        """
        if isinstance(data, Mapping) and "deployments" in data:
            data = data["deployments"]
        items: dict[str, Deployment] = {}
        if isinstance(data, Mapping):
            pairs = list(data.items())
        elif isinstance(data, list):
            pairs = []
            for entry in data:
                if not isinstance(entry, Mapping):
                    _fail(origin, None, "deployments", entry, "expected objects with a 'name'")
                pairs.append((entry.get("name"), entry))
        else:
            _fail(
                origin,
                None,
                "deployments",
                data,
                'expected {"deployments": {"<name>": {"model": ...}}}',
            )
        for name, raw in pairs:
            if name in items:
                _fail(origin, name, "name", name, "the deployment appears twice")
            items[name] = _parse_one(origin, name, raw)
        return cls(items)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, field: str = "path") -> DeploymentMap:
        """Read a ``.json`` (or, on Python 3.11+, ``.toml``) deployments file.

        Raises:
            ConfigurationError: the file is missing, unparsable or invalid (file named).
        """
        file = file_path(path, field=field, what="deployments file")
        data = read_data_file(file, what="deployments file", toml=True, field=field)
        return cls.from_dict(data, origin=str(file))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DeploymentMap:
        """Read ``$TOKMAN_DEPLOYMENTS``: inline JSON (starts with ``{`` or ``[``) or a path.

        An unset or empty variable gives an empty map.
        """
        value = Settings.from_env(environ).deployments
        if not value:
            return cls()
        if value[0] in "{[":
            origin = f"${DEPLOYMENTS_ENV}"
            try:
                data = json.loads(value)
            except ValueError as exc:
                raise ConfigurationError(f"{origin}: not valid JSON: {exc}") from exc
            return cls.from_dict(data, origin=origin)
        return cls.from_file(value, field=f"${DEPLOYMENTS_ENV}")

    def merged(self, other: Mapping[str, Deployment]) -> DeploymentMap:
        """A new map with ``other``'s deployments added (``other`` wins on a shared name)."""
        return DeploymentMap({**self._items, **other})
