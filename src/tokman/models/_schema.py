"""Validation of model data: the shipped ``models.json``, a user's file, or ``register(...)``.

One validator for all three, so a user's override is held to the same rules as the data tokman
ships: known fields only, positive integer limits, output within the window, an encoding tokman
can load, prices as exact decimal strings with an ISO ``effective`` date. Every error is a
``ConfigurationError`` naming the file, the model and the field.
"""

from __future__ import annotations

import datetime as _dt
import difflib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from tokman._names import FAMILIES
from tokman.errors import ConfigurationError
from tokman.models._info import AZURE_DEPLOYMENT_TYPES, ModelInfo, Price

__all__ = ["KINDS", "parse_model", "parse_models"]

KINDS = ("chat", "responses", "embedding", "completion")
PROVIDERS = ("openai", "azure")
_MODEL_FIELDS = {
    "name", "family", "kind", "encoding", "providers", "aliases", "snapshots", "context_window",
    "max_input_tokens", "max_output_tokens", "reasoning", "system_messages", "source", "notes",
    "prices",
}  # fmt: skip
_REQUIRED = ("name", "encoding", "context_window")
_PRICE_FIELDS = {
    "effective", "provider", "deployment_type", "input", "cached_input", "output",
    "batch_input", "batch_output", "source", "derived",
}  # fmt: skip
_MONEY = ("input", "cached_input", "output", "batch_input", "batch_output")


class _Where:
    """The file and model an error is about, so every message names both."""

    def __init__(self, origin: str, model: str | None = None) -> None:
        self.origin = origin
        self.model = model

    def fail(self, field: str, value: Any, expected: str) -> NoReturn:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        model = f"model {self.model!r}, " if self.model else ""
        raise ConfigurationError(
            f"{self.origin}: {model}field {field!r}: {shown} is invalid: {expected}"
        )


def _known_encodings() -> list[str]:
    from tokman.encodings import list_encodings

    return list_encodings()


def _int(where: _Where, field: str, value: Any, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        extra = " or null" if optional else ""
        where.fail(field, value, f"expected a positive integer number of tokens{extra}")
    return value


def _str(where: _Where, field: str, value: Any, *, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        where.fail(
            field, value, "expected a non-empty string" if not empty else "expected a string"
        )
    return value


def _family(where: _Where, value: Any) -> str:
    family = _str(where, "family", value)
    if family and family not in FAMILIES:
        close = difflib.get_close_matches(family, FAMILIES, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
        where.fail(
            "family",
            family,
            f"{hint}not a family tokman knows; give the family whose prompt framing the model "
            f"shares (one of {', '.join(FAMILIES)}), or leave it out",
        )
    return family


def _names(where: _Where, field: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        where.fail(field, value, "expected a list of non-empty strings")
    return tuple(value)


def _money(where: _Where, field: str, value: Any) -> Decimal:
    if isinstance(value, float):
        where.fail(
            field,
            value,
            f'write prices as strings, e.g. "{value}", so no binary rounding creeps in',
        )
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        where.fail(field, value, 'expected USD per 1M tokens as a decimal string, e.g. "2.50"')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        where.fail(field, value, 'expected USD per 1M tokens as a decimal string, e.g. "2.50"')
    if not amount.is_finite() or amount < 0:
        where.fail(field, value, "expected a finite, non-negative price")
    return amount


def _price(where: _Where, model: str, index: int, raw: Any) -> Price:
    prefix = f"prices[{index}]"
    if not isinstance(raw, Mapping):
        where.fail(prefix, raw, "expected an object with effective, provider, input, output")
    unknown = sorted(set(raw) - _PRICE_FIELDS)
    if unknown:
        where.fail(
            f"{prefix}.{unknown[0]}",
            raw[unknown[0]],
            f"unknown price field; known: {', '.join(sorted(_PRICE_FIELDS))}",
        )
    for required in ("effective", "provider", "input", "output"):
        if required not in raw:
            where.fail(f"{prefix}.{required}", None, "this field is required")
    try:
        effective = _dt.date.fromisoformat(str(raw["effective"]))
    except ValueError:
        where.fail(f"{prefix}.effective", raw["effective"], "expected an ISO date, '2025-08-07'")
    provider = raw["provider"]
    if provider not in PROVIDERS:
        where.fail(f"{prefix}.provider", provider, "expected 'openai' or 'azure'")
    dtype = raw.get("deployment_type")
    if provider == "azure" and dtype not in AZURE_DEPLOYMENT_TYPES:
        where.fail(
            f"{prefix}.deployment_type",
            dtype,
            f"Azure prices need one of {', '.join(AZURE_DEPLOYMENT_TYPES)}",
        )
    if provider == "openai" and dtype is not None:
        where.fail(f"{prefix}.deployment_type", dtype, "only Azure prices have a deployment type")
    amounts = {
        key: _money(where, f"{prefix}.{key}", raw[key])
        for key in _MONEY
        if raw.get(key) is not None
    }
    if ("batch_input" in amounts) != ("batch_output" in amounts):
        where.fail(
            f"{prefix}.batch_output",
            raw.get("batch_output"),
            "give batch_input and batch_output together",
        )
    derived = raw.get("derived")
    if derived is not None:
        _str(where, f"{prefix}.derived", derived)
    return Price(
        effective=effective,
        provider=provider,
        input=amounts["input"],
        output=amounts["output"],
        cached_input=amounts.get("cached_input"),
        batch_input=amounts.get("batch_input"),
        batch_output=amounts.get("batch_output"),
        deployment_type=dtype,
        source=_str(where, f"{prefix}.source", raw.get("source", "")),
        derived=derived,
        model=model,
    )


def parse_model(raw: Any, *, origin: str, index: int = 0) -> ModelInfo:
    """Validate one model entry and build its ``ModelInfo``.

    Raises:
        ConfigurationError: naming ``origin`` (the file), the model and the field.
    """
    if not isinstance(raw, Mapping):
        _Where(origin).fail(f"models[{index}]", raw, "expected an object describing one model")
    name = raw.get("name")
    where = _Where(origin, name if isinstance(name, str) else None)
    for required in _REQUIRED:
        if required not in raw:
            where.fail(
                required if name is not None else f"models[{index}].{required}",
                None,
                "this field is required",
            )
    name = _str(where, "name", name, empty=False)
    unknown = sorted(set(raw) - _MODEL_FIELDS)
    if unknown:
        where.fail(
            unknown[0],
            raw[unknown[0]],
            f"unknown field; known fields: {', '.join(sorted(_MODEL_FIELDS))}",
        )
    encoding = raw["encoding"]
    known = _known_encodings()
    if encoding not in known:
        where.fail("encoding", encoding, f"expected one of {', '.join(known)}")
    context = _int(where, "context_window", raw["context_window"])
    assert context is not None  # not optional: _int failed otherwise
    max_output = _int(where, "max_output_tokens", raw.get("max_output_tokens"), optional=True)
    max_input = _int(where, "max_input_tokens", raw.get("max_input_tokens"), optional=True)
    if max_output is not None and max_output > context:
        where.fail(
            "max_output_tokens",
            max_output,
            f"larger than context_window={context}; the window holds prompt and output",
        )
    if max_input is not None and max_input > context:
        where.fail("max_input_tokens", max_input, f"larger than context_window={context}")
    kind = raw.get("kind", "chat")
    if kind not in KINDS:
        where.fail("kind", kind, f"expected one of {', '.join(KINDS)}")
    reasoning = raw.get("reasoning", False)
    if not isinstance(reasoning, bool):
        where.fail("reasoning", reasoning, "expected true or false")
    system_messages = raw.get("system_messages", True)
    if not isinstance(system_messages, bool):
        where.fail("system_messages", system_messages, "expected true or false")
    providers = _names(where, "providers", raw.get("providers", ["openai"]))
    for provider in providers:
        if provider not in PROVIDERS:
            where.fail("providers", list(providers), "expected a list of 'openai' / 'azure'")
    prices_raw = raw.get("prices", [])
    if not isinstance(prices_raw, list):
        where.fail("prices", prices_raw, "expected a list of price objects")
    prices = tuple(_price(where, name, i, p) for i, p in enumerate(prices_raw))
    seen: set[tuple[str, str | None, _dt.date]] = set()
    for i, price in enumerate(prices):
        key = (price.provider, price.deployment_type, price.effective)
        if key in seen:
            where.fail(
                f"prices[{i}].effective",
                price.effective.isoformat(),
                "two prices for the same provider, deployment type and date",
            )
        seen.add(key)
    return ModelInfo(
        name=name,
        encoding=encoding,
        context_window=context,
        max_output_tokens=max_output,
        max_input_tokens=max_input or context,
        family=_family(where, raw.get("family", "")),
        kind=kind,
        reasoning=reasoning,
        system_messages=system_messages,
        providers=providers,
        aliases=_names(where, "aliases", raw.get("aliases")),
        snapshots=_names(where, "snapshots", raw.get("snapshots")),
        prices=prices,
        source=_str(where, "source", raw.get("source", "")),
        notes=_str(where, "notes", raw.get("notes", "")),
        origin=origin,
    )


def parse_models(data: Any, *, origin: str) -> list[ModelInfo]:
    """Validate a whole models document (``{"models": [...]}``) and return its models.

    Raises:
        ConfigurationError: the document's shape is wrong, an entry is invalid, or two entries
            claim the same name, alias or snapshot.
    """
    where = _Where(origin)
    if not isinstance(data, Mapping) or not isinstance(data.get("models"), list):
        where.fail(
            "models",
            data if not isinstance(data, Mapping) else data.get("models"),
            'expected a JSON object {"models": [ {...}, ... ]}',
        )
    infos = [parse_model(raw, origin=origin, index=i) for i, raw in enumerate(data["models"])]
    owner: dict[str, str] = {}
    for info in infos:
        for name in info.names:
            if name in owner and owner[name] != info.name:
                _Where(origin, info.name).fail(
                    "aliases", name, f"the name is already used by model {owner[name]!r}"
                )
            if name in owner and name == info.name:
                _Where(origin, info.name).fail("name", name, "the model appears twice")
            owner[name] = info.name
    return infos
