"""One parser for the model names requests carry, used by every layer that takes a model name.

A request's ``model`` can be a plain name (``gpt-4o``), a dated snapshot
(``gpt-4o-2024-08-06``), an Azure spelling (``gpt-35-turbo``), an OpenAI fine-tune
(``ft:gpt-4o-mini-2024-07-18:acme::abc123``), an Azure fine-tune
(``gpt-4o-mini-2024-07-18.ft-0123abcd``), a routed name as LiteLLM and gateways write it
(``azure/eu/gpt-5``, ``openai/gpt-4o``) or a free-text Azure deployment name (``chat-prod``).
:func:`parse_model_name` takes the decoration apart once, here, so the encoding table, the model
registry and the chat framing rules cannot disagree about what a name means (they did, when
each had its own list of route prefixes).

What this module does not do is decide which model a name *is*: that needs the registry (user
registrations, deployments), which sits above. It only says what the name says about itself.

>>> n = parse_model_name("azure/eu/ft:gpt-4o-mini-2024-07-18:acme::x1")
>>> n.provider, n.deployment_type, n.name, n.base, n.fine_tuned
('azure', 'datazone', 'ft:gpt-4o-mini-2024-07-18:acme::x1', 'gpt-4o-mini-2024-07-18', True)
"""

from __future__ import annotations

from dataclasses import dataclass

from tokman.errors import InvalidRequestError

__all__ = [
    "CHAT_FAMILIES",
    "FAMILIES",
    "REGION_TYPES",
    "ROUTES",
    "ModelName",
    "parse_model_name",
]

#: ``<route>/`` prefixes and the provider each names.
ROUTES: dict[str, str] = {"azure/": "azure", "openai/": "openai"}

#: ``azure/<segment>/<model>`` segments LiteLLM and others use, and the Azure deployment type
#: each implies (which sets the price).
REGION_TYPES: dict[str, str] = {
    "eu/": "datazone",
    "us/": "datazone",
    "datazone/": "datazone",
    "global/": "global",
    "global-standard/": "global",
    "regional/": "regional",
}

#: Chat model families tokman can frame a prompt for (``counting/_families.py`` holds one row
#: per family; a test keeps the two lists equal). ``family=`` in ``tokman.models.register``
#: names one of these to say how a model the name rules cannot place frames its prompts.
CHAT_FAMILIES: tuple[str, ...] = (
    "gpt-3.5-0301",
    "gpt-3.5",
    "gpt-4",
    "gpt-4-turbo",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-4.5",
    "o1",
    "o1-mini",
    "o1-preview",
    "o3",
    "o3-mini",
    "o4-mini",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
)

#: Every family name the registry accepts: the chat families plus those of models that take
#: no chat prompt.
FAMILIES: tuple[str, ...] = (*CHAT_FAMILIES, "text-embedding", "completion")


@dataclass(frozen=True, slots=True)
class ModelName:
    """What a model name says about itself.

    Attributes:
        given: the name as passed, without surrounding whitespace.
        name: ``given`` without its route (``azure/eu/``): the model, snapshot, fine-tune or
            deployment name the registry is asked about.
        base: ``name`` without fine-tune decoration, lower-cased: the key of the encoding and
            framing tables (``gpt-4o-mini-2024-07-18`` for both fine-tune spellings).
        provider: ``"azure"`` or ``"openai"`` when a route says so, else ``None``.
        deployment_type: the Azure deployment type a route segment implies, else ``None``.
        fine_tuned: the name is an OpenAI (``ft:``) or Azure (``.ft-``) fine-tune.
    """

    given: str
    name: str
    base: str
    provider: str | None
    deployment_type: str | None
    fine_tuned: bool


def _strip_route(name: str) -> tuple[str, str | None, str | None]:
    lowered = name.lower()
    for prefix, provider in ROUTES.items():
        if lowered.startswith(prefix):
            rest = name[len(prefix) :]
            if provider == "azure":
                lowered_rest = rest.lower()
                for segment, dtype in REGION_TYPES.items():
                    if lowered_rest.startswith(segment):
                        return rest[len(segment) :], provider, dtype
            return rest, provider, None
    return name, None, None


def _fine_tune_base(name: str) -> str:
    # OpenAI: ft:gpt-4o-mini-2024-07-18:org:suffix:id; Azure: gpt-4o-mini-2024-07-18.ft-abc
    base = name
    if base.startswith("ft:"):
        base = base[3:].split(":", 1)[0]
    if ".ft-" in base:
        base = base.split(".ft-", 1)[0]
    return base


def parse_model_name(model: object, *, field: str = "model") -> ModelName:
    """Take a model name apart: route, region type, fine-tune decoration, table key.

    >>> parse_model_name("gpt-4o-2024-08-06").base
    'gpt-4o-2024-08-06'
    >>> parse_model_name("gpt-35-turbo-0125.ft-0a1b2c").base
    'gpt-35-turbo-0125'
    >>> parse_model_name("openai/GPT-4o").base
    'gpt-4o'

    Raises:
        InvalidRequestError: ``model`` is not a non-empty string (named by ``field``).
    """
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError(
            field, model, "pass the model or Azure deployment name as a string, e.g. 'gpt-4o'"
        )
    given = model.strip()
    name, provider, dtype = _strip_route(given)
    base = _fine_tune_base(name)
    return ModelName(
        given=given,
        name=name,
        base=base.lower(),
        provider=provider,
        deployment_type=dtype,
        fine_tuned=base != name,
    )

