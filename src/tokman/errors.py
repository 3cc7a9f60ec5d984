"""Every exception tokman raises, in one tree.

Callers catch the most specific class they can handle; each class subclasses the built-in
exception that code already catches for that kind of failure (``ValueError`` for bad input,
``LookupError`` for unknown names, ``ImportError`` for a missing extra)::

    TokmanError
    ├── ConfigurationError(ValueError)          bad setting, unknown URL scheme, bad data file
    │   └── MissingDependencyError(ImportError) names the extra: pip install "tokman[postgres]"
    ├── UnknownModelError(LookupError)          names the model, close matches, how to register
    ├── VocabularyError
    │   ├── VocabularyNotFoundError             encoding, every place searched, one fix
    │   └── VocabularyIntegrityError            expected vs actual sha256
    ├── InvalidRequestError(ValueError)         field path, value, what is expected
    ├── LimitExceededError
    │   ├── ContextWindowExceededError          tokens, limit, breakdown, what to do
    │   ├── BudgetExceededError                 budget, spent, reserved, period reset
    │   └── RateLimitExceededError              quota, retry_after
    └── StorageError                            backend failure; URL shown without password

Messages are built by one helper per kind of failure so that every message names the field,
the value and the fix in the same words wherever it is raised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "BudgetExceededError",
    "ConfigurationError",
    "ContextWindowExceededError",
    "InvalidRequestError",
    "LimitExceededError",
    "MissingDependencyError",
    "RateLimitExceededError",
    "StorageError",
    "TokmanError",
    "UnknownModelError",
    "VocabularyError",
    "VocabularyIntegrityError",
    "VocabularyNotFoundError",
]


class TokmanError(Exception):
    """Base class of every error tokman raises on purpose."""


class ConfigurationError(TokmanError, ValueError):
    """A setting, URL or data file is invalid."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional dependency is needed for this feature; the message names the extra."""

    def __init__(self, package: str, *, extra: str, feature: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{feature} needs the optional package {package!r}, which is not installed. "
            f'Install it with: pip install "tokman[{extra}]"'
        )


class UnknownModelError(TokmanError, LookupError):
    """A model or deployment name that tokman cannot resolve.

    tokman never falls back to another model's tokenizer, limits or prices: a wrong answer
    that looks right is worse than an error.
    """

    def __init__(
        self,
        name: str,
        *,
        kind: str = "model",
        close_matches: Sequence[str] = (),
        hint: str | None = None,
    ) -> None:
        self.name = name
        self.close_matches = tuple(close_matches)
        parts = [f"Unknown {kind} {name!r}."]
        if self.close_matches:
            parts.append("Did you mean " + ", ".join(repr(m) for m in self.close_matches) + "?")
        parts.append(
            hint
            or "Pass encoding='o200k_base' (or the encoding your model uses) to count without a "
            "model, or register it: tokman.models.register(name, encoding=..., context_window=...)."
        )
        super().__init__(" ".join(parts))

    def __str__(self) -> str:  # LookupError would otherwise quote the message like a key
        return str(self.args[0])


class VocabularyError(TokmanError):
    """A tokenizer vocabulary file could not be used."""


class VocabularyNotFoundError(VocabularyError):
    """No verified copy of an encoding's vocabulary exists anywhere tokman looks."""

    def __init__(self, encoding: str, searched: Iterable[str], fix: str) -> None:
        self.encoding = encoding
        self.searched = tuple(searched)
        lines = "\n".join(f"  - {place}" for place in self.searched) or "  (nowhere)"
        super().__init__(
            f"No vocabulary file for encoding {encoding!r} was found (tokman never downloads "
            f"it). Searched:\n{lines}\nFix: {fix}"
        )


class VocabularyIntegrityError(VocabularyError):
    """A vocabulary file exists but its sha256 is not the official one."""

    def __init__(self, encoding: str, path: str, expected: str, actual: str) -> None:
        self.encoding = encoding
        self.path = path
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Vocabulary file {path} for encoding {encoding!r} has sha256 {actual}, expected "
            f"{expected}. The file is corrupt or not the official one: delete it and put the "
            "official file in its place."
        )


class InvalidRequestError(TokmanError, ValueError):
    """A request or argument is malformed; the message names the field and the fix."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}={shown} is invalid: {expected}")


class LimitExceededError(TokmanError):
    """A request would exceed a limit (context window, budget, rate limit)."""


class ContextWindowExceededError(LimitExceededError):
    """The prompt plus the requested output does not fit the model's limits."""

    def __init__(self, message: str, *, tokens: int, limit: int, breakdown: Any = None) -> None:
        self.tokens = tokens
        self.limit = limit
        self.over_by = tokens - limit
        self.breakdown = breakdown
        super().__init__(message)


class BudgetExceededError(LimitExceededError):
    """Reserving this request would take a budget over its limit."""

    def __init__(
        self,
        budget: Any,
        *,
        limit: Any,
        spent: Any,
        reserved: Any,
        requested: Any,
        unit: str,
        resets_at: Any = None,
    ) -> None:
        self.budget = budget
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.requested = requested
        self.unit = unit
        self.resets_at = resets_at
        name = getattr(budget, "id", budget)
        when = (
            f"The budget resets at {resets_at.isoformat()}; wait until then or raise its limit."
            if resets_at is not None
            else "The budget has no period and never resets: raise its limit or add a new one."
        )
        super().__init__(
            f"Budget {name!r} has no room for this request: spent {spent} + reserved {reserved} "
            f"+ requested {requested} > limit {limit} {unit}. {when}"
        )


class RateLimitExceededError(LimitExceededError):
    """The deployment's TPM/RPM quota has no room for this request now."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class StorageError(TokmanError):
    """A ledger, budget or rate-limit store failed; the original exception is the ``__cause__``.

    Attributes:
        url: The store's URL with every password hidden (``None`` when no URL is involved).
        retryable: Whether the same call may succeed later unchanged (the server was down or
            the connection dropped), as opposed to a bug or data the database rejects; the
            ledger spools only retryable failures.
        action: What was being done, e.g. ``"write to"`` (``None`` when not known).
    """

    code = "storage_error"
    http_status = 503

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        retryable: bool = False,
        action: str | None = None,
    ) -> None:
        self.url = url
        self.retryable = retryable
        self.action = action
        super().__init__(message)
