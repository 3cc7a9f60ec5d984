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

Every class carries a stable machine-readable ``code`` (``context_length_exceeded``,
``rate_limit_exceeded``, ``budget_exceeded``, ``invalid_request``, ``unknown_model``, ...) and
the ``http_status`` a server answers with, and :meth:`TokmanError.to_openai_error` renders the
OpenAI-style error body, so the SDK integration and the gateway keep no mapping tables of
their own: a new error class is mapped where it is defined.

>>> err = InvalidRequestError("max_tokens", -1, "expected a positive integer")
>>> err.code, err.http_status, err.to_openai_error()["error"]["param"]
('invalid_request', 400, 'max_tokens')
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar

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
    """Base class of every error tokman raises on purpose.

    Attributes:
        code: stable identifier of the kind of failure, for programs and wire formats.
        http_status: the status an HTTP server (the gateway) answers with.
        openai_type: the ``error.type`` OpenAI's API uses for this kind of failure.
    """

    code: ClassVar[str] = "tokman_error"
    http_status: ClassVar[int] = 500
    openai_type: ClassVar[str] = "server_error"

    @property
    def param(self) -> str | None:
        """The request field at fault, when there is one (OpenAI's ``error.param``)."""
        return None

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as cls(*args), which these constructors do not accept: rebuild from
        # the message and the typed fields instead, so errors survive worker processes (and Ray).
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))

    def to_openai_error(self) -> dict[str, Any]:
        """The error as OpenAI's API would send it: ``{"error": {message, type, param, code}}``.

        Clients written for OpenAI (any language) read these fields, so the gateway sends
        exactly this body with :attr:`http_status`.
        """
        return {
            "error": {
                "message": str(self),
                "type": self.openai_type,
                "param": self.param,
                "code": self.code,
            }
        }


def _rebuild(cls: type[TokmanError], args: tuple[Any, ...], state: dict[str, Any]) -> TokmanError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigurationError(TokmanError, ValueError):
    """A setting, URL or data file is invalid."""

    code = "configuration_error"


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional dependency is needed for this feature; the message names the extra."""

    code = "missing_dependency"

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

    code = "unknown_model"
    http_status = 404
    openai_type = "invalid_request_error"

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

    @property
    def param(self) -> str | None:
        """Always ``"model"``: the field that named the unknown model."""
        return "model"


class VocabularyError(TokmanError):
    """A tokenizer vocabulary file could not be used."""

    code = "vocabulary_error"


class VocabularyNotFoundError(VocabularyError):
    """No verified copy of an encoding's vocabulary exists anywhere tokman looks."""

    code = "vocabulary_not_found"

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

    code = "vocabulary_integrity"

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
    """A request or argument is malformed; the message names the field and the fix.

    Attributes:
        field: the argument or request field path (``messages[2].content``).
        value: the value given (shown shortened in the message).
        expected: what would be accepted, and how to fix it.
    """

    code = "invalid_request"
    http_status = 400
    openai_type = "invalid_request_error"

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}={shown} is invalid: {expected}")

    @property
    def param(self) -> str | None:
        """The field at fault."""
        return self.field


class LimitExceededError(TokmanError):
    """A request would exceed a limit (context window, budget, rate limit)."""

    code = "limit_exceeded"
    http_status = 400
    openai_type = "invalid_request_error"


class ContextWindowExceededError(LimitExceededError):
    """The prompt plus the requested output does not fit the model's limits.

    Attributes:
        tokens: what the request needs (prompt plus requested completion).
        limit: the limit it is over.
        over_by: ``tokens - limit``.
        breakdown: the prompt's :class:`tokman.PromptCount`, when it was counted.
    """

    code = "context_length_exceeded"  # OpenAI's own code for this failure

    def __init__(
        self, message: str, *, tokens: int, limit: int, breakdown: object | None = None
    ) -> None:
        self.tokens = tokens
        self.limit = limit
        self.over_by = tokens - limit
        self.breakdown = breakdown
        super().__init__(message)


class BudgetExceededError(LimitExceededError):
    """Reserving this request would take a budget over its limit.

    Answered with 429 like OpenAI's ``insufficient_quota``; servers should also tell clients
    not to retry before ``resets_at`` (the gateway sends ``x-should-retry: false``).

    Attributes:
        budget: the :class:`tokman.Budget` (or its id).
        budget_id: the budget's id.
        limit, spent, reserved, requested: amounts in the budget's unit.
        unit: ``"USD"`` or ``"tokens"``.
        resets_at: when the budget's period restarts (``None``: never).
    """

    code = "budget_exceeded"
    http_status = 429
    openai_type = "insufficient_quota"

    def __init__(
        self,
        budget: object,
        *,
        limit: Decimal | int,
        spent: Decimal | int,
        reserved: Decimal | int,
        requested: Decimal | int,
        unit: str,
        resets_at: _dt.datetime | None = None,
    ) -> None:
        self.budget = budget
        self.budget_id = str(getattr(budget, "id", budget))
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.requested = requested
        self.unit = unit
        self.resets_at = resets_at
        when = (
            f"The budget resets at {resets_at.isoformat()}; wait until then or raise its limit."
            if resets_at is not None
            else "The budget has no period and never resets: raise its limit or add a new one."
        )
        super().__init__(
            f"Budget {self.budget_id!r} has no room for this request: spent {spent} + reserved "
            f"{reserved} + requested {requested} > limit {limit} {unit}. {when}"
        )


class RateLimitExceededError(LimitExceededError):
    """The deployment's TPM/RPM quota has no room for this request now.

    Attributes:
        retry_after: seconds after which the request would be admitted, when known.
    """

    code = "rate_limit_exceeded"
    http_status = 429
    openai_type = "requests"

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
