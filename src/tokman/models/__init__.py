"""Model registry: names, tokenizer, limits and dated prices, plus Azure deployments.

The data ships as ``data/models.json`` (sources and every judgement call in ``data/SOURCES.md``)
and users extend it without editing the package: :func:`register` in code, :func:`load` a file
(or point ``$TOKMAN_MODELS_FILE`` at one), and map Azure deployment names to models with
:func:`register_deployment` / :func:`load_deployments` (or ``$TOKMAN_DEPLOYMENTS``).

>>> from tokman import models
>>> info = models.get("gpt-4o-mini-2024-07-18")
>>> info.name, info.encoding, info.context_window, info.max_output_tokens
('gpt-4o-mini', 'o200k_base', 128000, 16384)
>>> info.input_price
Decimal('0.15')
>>> models.get("gpt-35-turbo").name
'gpt-3.5-turbo'
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from tokman._names import FAMILIES
from tokman.encodings import Encoding, encoding_name_for_model, get_encoding, list_encodings
from tokman.errors import ConfigurationError, InvalidRequestError, UnknownModelError
from tokman.models._info import ModelInfo, Price, normalize_deployment_type
from tokman.models._registry import MODELS_FILE_ENV, Registry, read_models_file
from tokman.models._schema import KINDS, PROVIDERS, parse_model
from tokman.models.deployments import DEPLOYMENTS_ENV, Deployment, DeploymentMap

__all__ = [
    "DEPLOYMENTS_ENV",
    "MODELS_FILE_ENV",
    "Deployment",
    "DeploymentMap",
    "ModelInfo",
    "Price",
    "deployments",
    "encoding_for",
    "encoding_for_model",
    "get",
    "list",
    "load",
    "load_deployments",
    "memo",
    "normalize_deployment_type",
    "register",
    "register_deployment",
    "register_model",
    "reset",
]

_registry = Registry()
_T = TypeVar("_T")


def get(name: str) -> ModelInfo:
    """Everything known about ``name``: exact name, alias, dated snapshot, Azure spelling
    (``gpt-35-turbo``), ``azure/...`` route, ``ft:`` fine-tune or Azure deployment name.

    >>> get("azure/eu/gpt-5-2025-08-07").deployment_type
    'datazone'

    Raises:
        UnknownModelError: nobody registered the name; the message lists the closest known
            names and how to register it. tokman never substitutes another model's numbers.
    """
    return _registry.get(name)


def list(
    *,
    family: str | None = None,
    provider: str | None = None,
    kind: str | None = None,
    reasoning: bool | None = None,
    encoding: str | None = None,
) -> builtins.list[ModelInfo]:
    """Known models, sorted by name, optionally filtered.

    >>> [m.name for m in list(family="gpt-4.1")]
    ['gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano']

    Raises:
        InvalidRequestError: a filter names no family, provider, kind or encoding tokman has
            (so a typo is an error, not an empty list).
    """
    _check_filter("family", family, FAMILIES)
    _check_filter("provider", provider, PROVIDERS)
    _check_filter("kind", kind, KINDS)
    _check_filter("encoding", encoding, list_encodings())
    if reasoning is not None and not isinstance(reasoning, bool):
        raise InvalidRequestError("reasoning", reasoning, "True, False or None (no filter)")
    return [
        info
        for info in _registry.models()
        if (family is None or info.family == family)
        and (provider is None or provider in info.providers)
        and (kind is None or info.kind == kind)
        and (reasoning is None or info.reasoning == reasoning)
        and (encoding is None or info.encoding == encoding)
    ]


def _check_filter(field: str, value: object, known: Sequence[str]) -> None:
    if value is None or (isinstance(value, str) and value in known):
        return
    raise InvalidRequestError(field, value, f"None (no filter) or one of {', '.join(known)}")


def _as_list(value: object) -> object:
    """Sequences become lists for the validator; anything else is left for it to refuse."""
    return builtins.list(value) if isinstance(value, (builtins.list, tuple)) else value


def register_model(info: ModelInfo) -> ModelInfo:
    """Add (or replace, by name) a model built in code; returns it.

    Raises:
        ConfigurationError: the limits are inconsistent or the encoding is unknown.
    """
    if not isinstance(info, ModelInfo):
        raise ConfigurationError(f"register_model() expects a ModelInfo, got {info!r}")
    # the same checks as the data files: round-trip the limits through the validator
    parse_model(
        {
            "name": info.name,
            "encoding": info.encoding,
            "context_window": info.context_window,
            "max_output_tokens": info.max_output_tokens,
            "max_input_tokens": info.max_input_tokens,
            "kind": info.kind,
        },
        origin="register_model()",
    )
    _registry.add([info])
    return info


def register(
    name: str,
    *,
    encoding: str,
    context_window: int,
    max_output_tokens: int | None = None,
    max_input_tokens: int | None = None,
    aliases: Sequence[str] = (),
    snapshots: Sequence[str] = (),
    family: str = "",
    kind: str = "chat",
    reasoning: bool = False,
    system_messages: bool = True,
    providers: Sequence[str] = ("openai",),
    prices: Sequence[Mapping[str, Any]] = (),
    source: str = "registered in code",
) -> ModelInfo:
    """Register a model from keyword arguments, validated like an entry of ``models.json``.

    ``prices`` are dicts as in the data file, e.g. ``{"effective": "2025-01-01", "provider":
    "openai", "input": "1.00", "output": "4.00"}`` (USD per 1M tokens, as strings).

    >>> info = register("acme-chat", encoding="o200k_base", context_window=32000,
    ...                 max_output_tokens=4000)
    >>> get("acme-chat").context_window
    32000
    >>> reset()  # forget the example registration

    Raises:
        ConfigurationError: a field is invalid; the message names the model and the field.
    """
    raw: dict[str, Any] = {
        "name": name,
        "encoding": encoding,
        "context_window": context_window,
        "max_output_tokens": max_output_tokens,
        "max_input_tokens": max_input_tokens,
        "aliases": _as_list(aliases),
        "snapshots": _as_list(snapshots),
        "family": family,
        "kind": kind,
        "reasoning": reasoning,
        "system_messages": system_messages,
        "providers": _as_list(providers),
        "prices": [dict(p) if isinstance(p, Mapping) else p for p in prices]
        if isinstance(prices, (builtins.list, tuple))
        else prices,
        "source": source,
    }
    info = parse_model(raw, origin="tokman.models.register()")
    _registry.add([info])
    return info


def load(path: str | os.PathLike[str]) -> builtins.list[ModelInfo]:
    """Load a user models file (same JSON schema as the shipped one); its models win.

    Raises:
        ConfigurationError: the file is unreadable or invalid; names file, model and field.
    """
    infos = read_models_file(path)
    _registry.add(infos)
    return infos


def register_deployment(
    name: str,
    *,
    model: str,
    deployment_type: str | None = None,
    region: str | None = None,
    tpm: int | None = None,
    rpm: int | None = None,
) -> Deployment:
    """Map an Azure deployment name to the model it serves.

    >>> _ = register_deployment("chat-prod", model="gpt-4o-2024-11-20",
    ...                         deployment_type="DataZoneStandard")
    >>> get("chat-prod").name, encoding_for("chat-prod")
    ('gpt-4o-2024-11-20', 'o200k_base')
    >>> reset()

    Raises:
        ConfigurationError: a field is invalid.
        UnknownModelError: ``model`` is not a known model.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequestError("name", name, "the Azure deployment name as a string")
    raw = {"model": model, "deployment_type": deployment_type, "region": region,
           "tpm": tpm, "rpm": rpm}  # fmt: skip
    mapping = DeploymentMap.from_dict(
        {name: {k: v for k, v in raw.items() if v is not None}}, origin="register_deployment()"
    )
    if not isinstance(model, str) or not _registry.find(model) or model in _registry.deployments():
        raise _registry.unknown(model)
    _registry.add_deployments(mapping)
    return mapping[name]


def load_deployments(
    source: str | os.PathLike[str] | Mapping[str, Any] | DeploymentMap,
) -> DeploymentMap:
    """Add deployments from a file path, a dict or a :class:`DeploymentMap`."""
    if isinstance(source, DeploymentMap):
        mapping = source
    elif isinstance(source, Mapping):
        mapping = DeploymentMap.from_dict(source, origin="load_deployments(source)")
    else:
        mapping = DeploymentMap.from_file(source, field="source")
    _registry.add_deployments(mapping)
    return mapping


def deployments() -> DeploymentMap:
    """The deployments in use: ``$TOKMAN_DEPLOYMENTS`` plus those registered in code."""
    return _registry.deployments()


def reset() -> None:
    """Drop code registrations and loaded files; re-read the data and environment on next use."""
    _registry.reset()


def encoding_for(model: str) -> str:
    """The encoding name of a model, alias, snapshot, ``ft:`` name or Azure deployment.

    The registry answers first (it knows user registrations and deployment names); names it
    does not hold fall back to tokman's prefix rules (``gpt-4o-2099-01-01`` is still a gpt-4o).

    >>> encoding_for("gpt-4.1-nano-2025-04-14")
    'o200k_base'

    Raises:
        UnknownModelError: neither the registry nor the prefix rules know the name.
    """
    if not isinstance(model, str):
        raise UnknownModelError(repr(model), hint="Pass the model name as a string.")
    return _registry.memo("encoding", model, lambda: _resolve_encoding(model))


def _resolve_encoding(model: str) -> str:
    info = _registry.find(model)
    if info is not None:
        return info.encoding
    try:
        return encoding_name_for_model(model)
    except UnknownModelError:
        raise _registry.unknown(model.strip()) from None


def encoding_for_model(model: str) -> Encoding:
    """The verified :class:`~tokman.encodings.Encoding` a model (or deployment) counts with.

    tiktoken's ``encoding_for_model``, resolved the way every tokman API resolves a model name:
    registered models and Azure deployment names included.

    >>> _ = register_deployment("chat-prod", model="gpt-4o")
    >>> encoding_for_model("chat-prod").name
    'o200k_base'
    >>> reset()

    Raises:
        UnknownModelError: the name is not known.
    """
    return get_encoding(encoding_for(model))


def memo(kind: str, key: Hashable, compute: Callable[[], _T]) -> _T:
    """``compute()``, cached under ``(kind, key)`` until the registry next changes.

    For layers above the registry (chat framing, prices) that derive values from a model name:
    the cache is dropped on every ``register``/``load``/``register_deployment``/``reset``.
    """
    return _registry.memo(kind, key, compute)
