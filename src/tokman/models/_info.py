"""The value objects of the registry: a model's limits (``ModelInfo``) and its prices (``Price``).

Prices are ``Decimal`` USD per 1 million tokens and every price carries the date it took effect
and where the number came from, so a cost computed today for last month's usage uses last
month's price, and anyone can check the number against its source.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from tokman._units import utc_date
from tokman.errors import InvalidRequestError

__all__ = [
    "AZURE_DEPLOYMENT_TYPES",
    "BATCH_FACTOR",
    "DATA_ZONE_FACTOR",
    "SHIPPED_ORIGIN",
    "ModelInfo",
    "Price",
    "normalize_deployment_type",
]

#: Azure per-token deployment types a price can be recorded for. ``"*"`` is a price published
#: without a deployment type (LiteLLM's unlabelled ``azure/<model>`` keys): it applies to any
#: type that has no price of its own.
AZURE_DEPLOYMENT_TYPES = ("global", "datazone", "regional", "*")

#: ``ModelInfo.origin`` of the entries tokman ships.
SHIPPED_ORIGIN = "tokman/models/data/models.json"

#: Microsoft: Global Batch / Data Zone Batch cost 50 % less than the matching Standard type.
BATCH_FACTOR = Decimal("0.5")
#: Data Zone Standard costs 1.1 x Global Standard (LiteLLM's azure/eu|us keys; analyst note).
DATA_ZONE_FACTOR = Decimal("1.1")

# Spellings users write (SKU names from ARM/Bicep, portal labels) -> (type, batch)
_DEPLOYMENT_SPELLINGS: dict[str, tuple[str, bool]] = {
    "global": ("global", False),
    "globalstandard": ("global", False),
    "datazone": ("datazone", False),
    "datazonestandard": ("datazone", False),
    "regional": ("regional", False),
    "standard": ("regional", False),
    "regionalstandard": ("regional", False),
    "globalbatch": ("global", True),
    "datazonebatch": ("datazone", True),
}
_PROVISIONED = (
    "provisioned",
    "provisionedmanaged",
    "globalprovisionedmanaged",
    "datazoneprovisionedmanaged",
    "ptu",
)


def normalize_deployment_type(deployment_type: str) -> tuple[str, bool]:
    """Map an Azure deployment type spelling to ``(type, batch)``.

    Accepts tokman's names (``global``, ``datazone``, ``regional``) and Azure's SKU names
    (``GlobalStandard``, ``DataZoneStandard``, ``Standard``, ``GlobalBatch``, ``DataZoneBatch``)
    in any case, with or without separators.

    >>> normalize_deployment_type("DataZoneBatch")
    ('datazone', True)
    >>> normalize_deployment_type("global-standard")
    ('global', False)

    Raises:
        InvalidRequestError: an unknown spelling, or a provisioned type (billed per PTU-hour,
            so a per-token price does not exist).
    """
    if not isinstance(deployment_type, str):
        raise InvalidRequestError(
            "deployment_type", deployment_type, "an Azure deployment type name as a string"
        )
    value = deployment_type
    key = "".join(ch for ch in value.lower() if ch.isalnum())
    found = _DEPLOYMENT_SPELLINGS.get(key)
    if found is not None:
        return found
    if key in _PROVISIONED:
        raise InvalidRequestError(
            "deployment_type",
            value,
            "provisioned (PTU) deployments are billed per PTU-hour, not per token; tokman has "
            "no per-token price for them",
        )
    raise InvalidRequestError(
        "deployment_type",
        value,
        "expected one of 'global' (GlobalStandard), 'datazone' (DataZoneStandard), 'regional' "
        "(Standard), 'GlobalBatch' or 'DataZoneBatch'",
    )


@dataclass(frozen=True)
class Price:
    """What one way of buying a model costs, in USD per 1M tokens, from ``effective`` on.

    ``provider`` is ``"openai"`` (the OpenAI API) or ``"azure"``; Azure prices name their
    ``deployment_type``. ``batch_*`` are the Batch API prices where they are published.
    When :meth:`ModelInfo.price_at` is asked for batch prices it returns a ``Price`` with
    ``batch=True`` whose ``input``/``cached_input``/``output`` already are the batch prices.
    ``derived`` says which numbers were computed by a documented rule instead of published.
    """

    effective: _dt.date
    provider: str
    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    batch_input: Decimal | None = None
    batch_output: Decimal | None = None
    deployment_type: str | None = None
    source: str = ""
    derived: str | None = None
    batch: bool = False
    model: str = ""

    @property
    def id(self) -> str:
        """A stable, human-readable key: ``gpt-4o/azure-datazone@2024-08-06``."""
        where = self.provider
        if self.deployment_type is not None:
            where += "-any" if self.deployment_type == "*" else f"-{self.deployment_type}"
        if self.batch:
            where += "-batch"
        return f"{self.model}/{where}@{self.effective.isoformat()}"


@dataclass(frozen=True)
class ModelInfo:
    """Everything tokman knows about one model: tokenizer, limits and dated prices.

    ``context_window`` is the total the API enforces for prompt plus completion (reasoning
    included); ``max_input_tokens`` is the prompt limit when the model has a lower one (gpt-5:
    272,000 of a 400,000 window) and equals ``context_window`` otherwise. ``max_output_tokens``
    is ``None`` for models that produce no tokens (embeddings). ``system_messages`` is False for
    chat models whose API refuses system and developer messages (o1-mini).

    A name resolved through an Azure deployment or an ``azure/...`` route carries the
    ``deployment``, ``provider`` and ``deployment_type`` it implies; a fine-tune (``ft:...``)
    keeps its own ``name``, names its ``base_model`` and has no prices, because fine-tuned
    models are billed at their own rates.
    """

    name: str
    encoding: str
    context_window: int
    max_output_tokens: int | None
    max_input_tokens: int = 0
    family: str = ""
    kind: str = "chat"
    reasoning: bool = False
    system_messages: bool = True
    providers: tuple[str, ...] = ("openai",)
    aliases: tuple[str, ...] = ()
    snapshots: tuple[str, ...] = ()
    prices: tuple[Price, ...] = ()
    source: str = ""
    notes: str = ""
    base_model: str | None = None
    provider: str | None = None
    deployment: str | None = None
    deployment_type: str | None = None
    origin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.max_input_tokens:
            object.__setattr__(self, "max_input_tokens", self.context_window)

    # -- current prices (today's OpenAI price, else today's Azure Global price) -----------------

    def _current(self) -> Price | None:
        try:
            return self.price_at(None)
        except InvalidRequestError:
            try:
                return self.price_at(None, deployment_type="global")
            except InvalidRequestError:
                return None

    @property
    def input_price(self) -> Decimal | None:
        """Today's input price, USD per 1M tokens (OpenAI API, else Azure Global)."""
        current = self._current()
        return None if current is None else current.input

    @property
    def cached_input_price(self) -> Decimal | None:
        """Today's cached-input price, USD per 1M tokens, or ``None`` if none is published."""
        current = self._current()
        return None if current is None else current.cached_input

    @property
    def output_price(self) -> Decimal | None:
        """Today's output price, USD per 1M tokens (reasoning tokens are billed as output)."""
        current = self._current()
        return None if current is None else current.output

    @property
    def batch_input_price(self) -> Decimal | None:
        """Today's Batch API input price, USD per 1M tokens, where published."""
        current = self._current()
        return None if current is None else current.batch_input

    @property
    def batch_output_price(self) -> Decimal | None:
        """Today's Batch API output price, USD per 1M tokens, where published."""
        current = self._current()
        return None if current is None else current.batch_output

    def price_at(
        self,
        at: _dt.date | _dt.datetime | str | None = None,
        deployment_type: str | None = None,
        batch: bool = False,
    ) -> Price:
        """The price in effect on ``at`` (default: today, UTC) for one way of buying the model.

        ``deployment_type=None`` means the OpenAI API, or this name's own Azure deployment
        type when it came from a deployment or an ``azure/`` route; any deployment type means
        Azure. An Azure type without a price of its own falls back to a price published
        without a type (``"*"``); a Global price is never used for Data Zone or Regional.

        >>> from tokman import models
        >>> str(models.get("o3").price_at("2025-05-01").output)
        '40'
        >>> str(models.get("o3").price_at("2025-07-01").output)
        '8'

        Raises:
            InvalidRequestError: no price is recorded for that date, provider, deployment
                type or batch; the message lists what is recorded.
        """
        day = utc_date(at)
        kind = deployment_type if deployment_type is not None else self.deployment_type
        if kind is None and self.provider == "azure":
            kind = "global" if self._has("azure", "global") else "*"
        if kind is None:
            provider, dtype = "openai", None
        else:
            provider = "azure"
            dtype, batch_type = ("*", False) if kind == "*" else normalize_deployment_type(kind)
            batch = batch or batch_type
        rows = self._rows(provider, dtype)
        if not rows and dtype not in (None, "*"):
            rows = self._rows(provider, "*")
        if not rows:
            self._missing(day, provider, dtype, "no price is recorded")
        in_effect = [p for p in rows if p.effective <= day]
        if not in_effect:
            first = min(p.effective for p in rows)
            self._missing(day, provider, dtype, f"the first recorded price starts {first}")
        price = max(in_effect, key=lambda p: p.effective)
        return self._batched(price) if batch else price

    def _has(self, provider: str, dtype: str | None) -> bool:
        return bool(self._rows(provider, dtype))

    def _rows(self, provider: str, dtype: str | None) -> list[Price]:
        return [p for p in self.prices if p.provider == provider and p.deployment_type == dtype]

    def _recorded(self) -> str:
        kinds = sorted(
            {
                p.provider + ("" if p.deployment_type is None else f" {p.deployment_type}")
                for p in self.prices
            }
        )
        return ", ".join(kinds) if kinds else "none"

    def _missing(self, day: _dt.date, provider: str, dtype: str | None, why: str) -> None:
        where = "the OpenAI API" if provider == "openai" else f"Azure {dtype}"
        fix = (
            f"prices recorded for {self.name}: {self._recorded()}. Pass another deployment_type "
            "or register the price: tokman.models.register(..., prices=[{...}])"
        )
        if self.base_model is not None:
            fix = (
                f"{self.name} is a fine-tune of {self.base_model}; fine-tuned models are billed "
                "at their own rates, which tokman does not ship. Register them with "
                f"tokman.models.register({self.name!r}, ..., prices=[...])"
            )
        raise InvalidRequestError(
            "at", day.isoformat(), f"{why} for {self.name} on {where} at that date; {fix}"
        )

    def _batched(self, price: Price) -> Price:
        if price.batch_input is not None and price.batch_output is not None:
            return replace(
                price,
                input=price.batch_input,
                output=price.batch_output,
                cached_input=None,
                batch=True,
            )
        if price.provider == "azure" and price.deployment_type in ("global", "datazone"):
            rule = (
                f"batch = 50 % of the {price.deployment_type} Standard price (Microsoft: "
                "Global/Data Zone Batch cost 50 % less)"
            )
            return replace(
                price,
                input=price.input * BATCH_FACTOR,
                output=price.output * BATCH_FACTOR,
                cached_input=None,
                batch=True,
                derived=rule if price.derived is None else f"{price.derived}; {rule}",
            )
        where = "the OpenAI API" if price.provider == "openai" else f"Azure {price.deployment_type}"
        raise InvalidRequestError(
            "batch",
            True,
            f"no Batch price is recorded for {self.name} on {where}; compute without batch=True, "
            "or register the batch_input/batch_output prices with tokman.models.register",
        )

    def with_route(
        self,
        *,
        name: str | None = None,
        provider: str | None = None,
        deployment: str | None = None,
        deployment_type: str | None = None,
    ) -> ModelInfo:
        """A copy that remembers how it was asked for (Azure route or deployment)."""
        return replace(
            self,
            name=name or self.name,
            provider=provider or self.provider,
            deployment=deployment or self.deployment,
            deployment_type=deployment_type or self.deployment_type,
        )

    def as_fine_tune(self, name: str) -> ModelInfo:
        """This base model's tokenizer and limits under a fine-tune's name, without prices."""
        return replace(self, name=name, base_model=self.name, aliases=(), snapshots=(), prices=())

    @property
    def shipped(self) -> bool:
        """Whether this entry comes from tokman's own ``models.json`` (not a user's)."""
        return self.origin.startswith(SHIPPED_ORIGIN)

    @property
    def names(self) -> Sequence[str]:
        """The canonical name, aliases and dated snapshots that resolve to this model."""
        return (self.name, *self.aliases, *self.snapshots)
