"""`Quota` (a deployment's TPM/RPM and their windows) and the admission estimate of a request."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tokman._units import check_seconds
from tokman.errors import InvalidRequestError

__all__ = ["Quota", "estimate_tokens"]


#: The largest TPM / RPM accepted: sums of tokens stay exact in the Lua script's doubles.
MAX_QUOTA = 10**12


def _positive_int(value: Any, field: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_QUOTA:
        raise InvalidRequestError(field, value, f"a whole number of {what} from 1 to 10**12")
    return int(value)


@dataclass(frozen=True)
class Quota:
    """A TPM/RPM quota: ``tpm`` tokens per ``token_window`` seconds (60: Azure's running
    counter that resets every minute) and ``rpm`` requests per minute, checked over every
    ``request_window`` seconds (10 by default).

    Azure evaluates RPM over short windows, "typically 1 or 10 seconds" (its quota article), and
    its ``x-ratelimit-remaining-requests`` header has been seen to track a 10-s budget of
    RPM ÷ 6. So the request limit per window is ``rpm * request_window / 60`` rounded down (at
    least 1): 600 RPM is 100 requests per 10 s, or 10 per second with ``request_window=1``.
    RPM is never derived from TPM (the RPM per 1,000 TPM ratio is 1, 6 or 10 depending on model
    and tier): give it, or take both from the deployment map with `for_deployment`.
    ``rpm=None`` explicitly means "no request limit".

    >>> Quota(tpm=450_000, rpm=2_700).request_limit
    450
    >>> Quota(tpm=10_000, rpm=60, request_window=1).request_limit
    1
    """

    tpm: int
    rpm: int | None
    token_window: float = 60.0
    request_window: float = 10.0
    name: str | None = None  #: the deployment it came from, if any (the limiter's default name)

    def __post_init__(self) -> None:
        _positive_int(self.tpm, "tpm", "tokens per minute")
        if self.rpm is not None:
            _positive_int(self.rpm, "rpm", "requests per minute (or None for no request limit)")
        object.__setattr__(self, "token_window", check_seconds(self.token_window, "token_window"))
        object.__setattr__(
            self, "request_window", check_seconds(self.request_window, "request_window")
        )
        if self.request_window > self.token_window:
            raise InvalidRequestError(
                "request_window",
                self.request_window,
                f"at most token_window={self.token_window:g} s (Azure: 1 or 10 s against 60 s)",
            )

    @property
    def request_limit(self) -> int:
        """Requests admitted per ``request_window``: ``floor(rpm * request_window / 60)``,
        at least 1 (a huge number when ``rpm`` is ``None``)."""
        if self.rpm is None:
            return 2**52
        return max(1, math.floor(self.rpm * self.request_window / 60))

    @property
    def token_window_us(self) -> int:
        """``token_window`` in whole microseconds."""
        return round(self.token_window * 1_000_000)

    @property
    def request_window_us(self) -> int:
        """``request_window`` in whole microseconds."""
        return round(self.request_window * 1_000_000)

    @cached_property
    def script_args(self) -> tuple[int, int, int, int]:
        """``(tpm, request_limit, token_window_us, request_window_us)``, as the Lua script and the
        memory backend take them (computed once: the properties are not free on a hot path)."""
        return (self.tpm, self.request_limit, self.token_window_us, self.request_window_us)

    @classmethod
    def for_deployment(
        cls, name: str, *, token_window: float = 60.0, request_window: float = 10.0
    ) -> Quota:
        """The quota of the Azure deployment ``name`` from the deployment map
        (``$TOKMAN_DEPLOYMENTS`` or ``tokman.models.register_deployment``).

        Raises:
            UnknownModelError: no such deployment.
            InvalidRequestError: the deployment has no ``tpm`` or no ``rpm`` recorded (tokman
                does not guess RPM from TPM).
        """
        from tokman.errors import UnknownModelError
        from tokman.models import deployments

        found = deployments()
        if not isinstance(name, str) or name not in found:
            import difflib

            raise UnknownModelError(
                str(name),
                kind="deployment",
                close_matches=difflib.get_close_matches(str(name), list(found)),
                hint="Add it (with tpm and rpm) to the deployments file named by "
                "$TOKMAN_DEPLOYMENTS or tokman.models.register_deployment(...).",
            )
        deployment = found[name]
        for field in ("tpm", "rpm"):
            if getattr(deployment, field) is None:
                raise InvalidRequestError(
                    f"deployments[{name!r}].{field}",
                    None,
                    f"the deployment's {field.upper()} from its Azure configuration, in the "
                    "deployments file or register_deployment(...); or build "
                    "Quota(tpm=..., rpm=...) yourself (RPM is never derived from TPM)",
                )
        assert deployment.tpm is not None
        return cls(
            deployment.tpm,
            deployment.rpm,
            token_window=token_window,
            request_window=request_window,
            name=name,
        )


def estimate_tokens(request: Mapping[str, Any]) -> int:
    """What Azure charges a request at admission, counted exactly: the prompt (``count_prompt``
    for chat / Responses, each input for embeddings) plus the completion limit
    (``max_completion_tokens`` / ``max_tokens`` / ``max_output_tokens``, else the model's
    maximum output) times ``max(n, best_of)``.

    Raises:
        InvalidRequestError: no model, an unreadable prompt or completion limit.
        UnknownModelError: the model or deployment is unknown.
    """
    from tokman import models
    from tokman.requests import normalize_request

    if not isinstance(request, Mapping):
        raise InvalidRequestError(
            "request",
            request,
            "the create() keyword arguments as a dict, e.g. "
            "request={'model': 'gpt-4o', 'messages': [...], 'max_tokens': 500}",
        )
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequestError(
            "request.model", model, "the model or deployment name the request is sent to"
        )
    info = models.get(model)
    normalized = normalize_request(request, model_kind=info.kind)
    unreadable = normalized.prompt_errors + normalized.limit_errors
    if unreadable:
        raise unreadable[0]
    if normalized.api == "embeddings":
        from tokman.counting.embeddings import count_inputs

        return sum(count_inputs(normalized, model=info.name))
    from tokman.counting.chat import count_normalized

    prompt = count_normalized(normalized, model=info.name).total
    limit = normalized.completion_tokens
    if limit is None:
        limit = info.max_output_tokens or 0
    return prompt + limit * normalized.copies
