"""Which encoding a model name uses, for every current OpenAI and Azure OpenAI spelling.

Exact names first, then prefixes in order (the first match wins, so ``gpt-4o-`` is tried before
``gpt-4-``), both on the table key ``tokman._names.parse_model_name`` gives: fine-tune names
(``ft:gpt-4o-mini:org::id``) resolve through their base model and an ``azure/`` or region
prefix (``azure/eu/gpt-5``) is ignored. The model registry can know
more names (aliases, user-registered models, Azure deployments) and consults this table last.
"""

from __future__ import annotations

import difflib

from tokman._names import parse_model_name
from tokman.errors import UnknownModelError

__all__ = [
    "MODEL_PREFIX_TO_ENCODING",
    "MODEL_TO_ENCODING",
    "encoding_name_for_model",
    "known_model_names",
]

MODEL_TO_ENCODING: dict[str, str] = {
    # reasoning models
    "o1": "o200k_base",
    "o3": "o200k_base",
    "o4-mini": "o200k_base",
    # chat
    "gpt-5": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4o": "o200k_base",
    "gpt-4": "cl100k_base",
    "gpt-3.5-turbo": "cl100k_base",
    "gpt-3.5": "cl100k_base",
    "gpt-35-turbo": "cl100k_base",
    # embeddings
    "text-embedding-3-small": "cl100k_base",
    "text-embedding-3-large": "cl100k_base",
    "text-embedding-ada-002": "cl100k_base",
    # base / legacy
    "davinci-002": "cl100k_base",
    "babbage-002": "cl100k_base",
    "text-davinci-003": "p50k_base",
    "text-davinci-002": "p50k_base",
    "code-davinci-002": "p50k_base",
}

MODEL_PREFIX_TO_ENCODING: tuple[tuple[str, str], ...] = (
    ("o1-", "o200k_base"),
    ("o3-", "o200k_base"),
    ("o4-mini-", "o200k_base"),
    ("gpt-5", "o200k_base"),  # gpt-5-mini, gpt-5.1, gpt-5.4-nano, gpt-5-2025-08-07
    ("gpt-4.1-", "o200k_base"),
    ("gpt-4.5-", "o200k_base"),
    ("gpt-4o-", "o200k_base"),
    ("chatgpt-4o-", "o200k_base"),
    ("gpt-oss-", "o200k_harmony"),
    ("gpt-4-", "cl100k_base"),
    ("gpt-3.5-turbo-", "cl100k_base"),
    ("gpt-35-turbo-", "cl100k_base"),
    ("text-embedding-ada-002-", "cl100k_base"),
)


def known_model_names() -> list[str]:
    """Every exact name in the table (for suggestions)."""
    return sorted(MODEL_TO_ENCODING)


def encoding_name_for_model(model: str) -> str:
    """The encoding name of ``model``; raises ``UnknownModelError`` rather than guess.

    >>> encoding_name_for_model("gpt-4o-mini-2024-07-18")
    'o200k_base'
    >>> encoding_name_for_model("ft:gpt-3.5-turbo-0125:acme::abc123")
    'cl100k_base'
    """
    name = parse_model_name(model).base
    found = MODEL_TO_ENCODING.get(name)
    if found is not None:
        return found
    for prefix, encoding in MODEL_PREFIX_TO_ENCODING:
        if name.startswith(prefix):
            return encoding
    raise UnknownModelError(
        model.strip(),
        close_matches=difflib.get_close_matches(name, known_model_names(), n=3, cutoff=0.6),
    )
