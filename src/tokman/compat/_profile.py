"""What one `TokenManager` resolved: its model, the limits it enforces and how it prices.

The seed read all of this from ``config.model_limits`` (hand-written per model, with
``model_limits["gpt-4"]`` as a silent fallback). Here the registry (`tokman.models`) is the
source, and the seed-shaped entries of ``config.model_limits`` are overrides on top of it:

* ``max_tokens`` can only lower the window (the API never accepts more than the registry's);
* ``chunk_size`` sets the default chunk limit (capped at the largest prompt the model takes);
* ``cost_per_1k_prompt`` / ``cost_per_1k_completion`` / ``cached_cost_per_1k_prompt`` replace
  the registry's prices (a negotiated rate); ``cached_cost_per_1k_completion`` is read but
  unused, because the API never bills completion tokens from a cache.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tokman import models
from tokman._units import check_usd
from tokman.errors import InvalidRequestError
from tokman.models import ModelInfo, Price

__all__ = ["Profile", "resolve"]

#: the override keys the seed's ``model_limits`` entries use that tokman reads
_PRICE_KEYS = {
    "cost_per_1k_prompt": "input",
    "cost_per_1k_completion": "output",
    "cached_cost_per_1k_prompt": "cached_input",
}


@dataclass(frozen=True)
class Profile:
    """The resolved facts a manager works with.

    Attributes:
        model: the model name (a registered deployment's model, else the ``model`` given).
        name: the name handed to tokman's functions: the deployment when it is registered
            (so its Azure deployment type prices the call), else ``model``.
        info: the registry entry.
        max_tokens: the window (prompt plus completion), lowered by a ``max_tokens`` override.
        max_prompt_tokens: the largest prompt (the registry's input limit, within the window).
        max_completion_tokens: the model's maximum output, within the window.
        chunk_size: the default chunk limit (see `default_chunk_size`).
        override_key: the ``config.model_limits`` key whose entry applied, if any.
        max_tokens_override: the configured ``max_tokens`` when it lowers the window.
        price_model: what `tokman.cost` is given: ``name``, or a copy of ``info`` carrying the
            configured prices.
    """

    model: str
    name: str
    info: ModelInfo
    max_tokens: int
    max_prompt_tokens: int
    max_completion_tokens: int
    chunk_size: int
    override_key: str | None
    max_tokens_override: int | None
    price_model: str | ModelInfo

    @property
    def priced_by_config(self) -> bool:
        """Whether the configured prices replace the registry's."""
        return isinstance(self.price_model, ModelInfo)


def default_chunk_size(window: int, max_prompt: int, max_output: int) -> int:
    """The largest prompt that still leaves room for the model's whole output, but at least
    half the window (gpt-4's output may fill its whole window), and never over the input
    limit: chunks sized for ``chunk_size`` can each be sent with a full-size answer."""
    return min(max(window - max_output, window // 2), max_prompt)


def _text(field: str, value: object, meaning: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(field, value, meaning)
    return value


def _overrides(config: Any, keys: tuple[str, ...]) -> tuple[str | None, Mapping[str, Any]]:
    if config is None:
        return None, {}
    limits = getattr(config, "model_limits", None)
    if not isinstance(limits, Mapping):
        raise InvalidRequestError(
            "config",
            config,
            "a tokman.AzureOpenAIConfig (or any object whose model_limits is a mapping of "
            "model name -> {'max_tokens': ..., 'chunk_size': ..., 'cost_per_1k_prompt': ...}), "
            "or None",
        )
    for key in keys:
        entry = limits.get(key)
        if entry is None:
            continue
        if not isinstance(entry, Mapping):
            raise InvalidRequestError(
                f"config.model_limits[{key!r}]", entry, "a mapping such as {'max_tokens': 8192}"
            )
        return key, entry
    return None, {}


def _limit(where: str, entry: Mapping[str, Any], key: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(f"{where}[{key!r}]", value, "a whole number of tokens >= 1")
    return value


def _per_million(where: str, entry: Mapping[str, Any], key: str) -> Decimal | None:
    value = entry.get(key)
    if value is None:
        return None
    # the seed's configs hold floats: read one as its shortest decimal spelling (0.03 ->
    # Decimal('0.03'), what was typed), never as its binary expansion
    if isinstance(value, float):
        value = Decimal(repr(value))
    return check_usd(value, f"{where}[{key!r}]") * 1000


def _configured_prices(info: ModelInfo, where: str, entry: Mapping[str, Any]) -> ModelInfo | None:
    given = {field: _per_million(where, entry, key) for key, field in _PRICE_KEYS.items()}
    if all(v is None for v in given.values()):
        return None
    input_price, output_price = given["input"], given["output"]
    if input_price is None or output_price is None:  # the other one stays the registry's
        base = info.price_at(None)
        input_price = base.input if input_price is None else input_price
        output_price = base.output if output_price is None else output_price
    price = Price(
        effective=_dt.date(1970, 1, 1),
        provider="openai",
        input=input_price,
        output=output_price,
        cached_input=given["cached_input"],
        source=f"TokenManager config: {where}",
        model=f"{info.name}+config",
    )
    # an OpenAI-API price with no route: the configured rate applies whatever the deployment
    return dataclasses.replace(
        info, prices=(price,), provider=None, deployment=None, deployment_type=None
    )


def resolve(model: object, deployment_name: object, config: object) -> Profile:
    """The `Profile` for a manager's arguments.

    Raises:
        InvalidRequestError: a bad argument or override, naming it.
        UnknownModelError: ``model`` is not in the registry (the seed used gpt-4's numbers).
    """
    name = _text("model", model, "the model name as a non-empty str, e.g. 'gpt-4o'")
    if deployment_name is not None:
        deployment = _text(
            "deployment_name", deployment_name, "the Azure deployment name as a str, or None"
        )
        known = models.deployments().get(deployment)
        if known is not None:  # its model wins: the deployment says what it serves
            name, request_name = known.model, deployment
        else:
            request_name = name
        info = models.get(request_name)
    else:
        deployment = None
        info = models.get(name)
        request_name = name
    keys = tuple(k for k in dict.fromkeys((deployment, name, info.name)) if k)
    key, entry = _overrides(config, keys)
    where = f"config.model_limits[{key!r}]"
    window = info.context_window
    configured_window = _limit(where, entry, "max_tokens")
    lowered = configured_window if configured_window and configured_window < window else None
    max_tokens = lowered or window
    max_prompt = min(info.max_input_tokens, max_tokens)
    max_output = min(info.max_output_tokens or 0, max_tokens)
    chunk = _limit(where, entry, "chunk_size")
    chunk_size = (
        min(chunk, max_prompt)
        if chunk is not None
        else default_chunk_size(max_tokens, max_prompt, max_output)
    )
    priced = _configured_prices(info, where, entry)
    return Profile(
        model=name,
        name=request_name,
        info=info,
        max_tokens=max_tokens,
        max_prompt_tokens=max_prompt,
        max_completion_tokens=max_output,
        chunk_size=chunk_size,
        override_key=key,
        max_tokens_override=lowered,
        price_model=priced if priced is not None else request_name,
    )
