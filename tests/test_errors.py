"""Errors for the wire: every class has a stable code and HTTP status, mapped where defined."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tokman import errors


def _classes() -> list[type[errors.TokmanError]]:
    found = [getattr(errors, name) for name in errors.__all__]
    return [c for c in found if isinstance(c, type) and issubclass(c, errors.TokmanError)]


def test_every_error_class_has_its_own_code() -> None:
    """Codes are unique per class, so a program can tell every failure apart."""
    classes = _classes()
    assert len(classes) == len(errors.__all__)
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes), codes
    for cls in classes:
        assert cls.code.replace("_", "").isalpha() and cls.code.islower()
        assert 400 <= cls.http_status <= 599


@pytest.mark.parametrize(
    ("error", "status", "code", "param"),
    [
        (errors.InvalidRequestError("max_tokens", -1, "a positive int"), 400, "invalid_request",
         "max_tokens"),
        (errors.UnknownModelError("gpt-17"), 404, "unknown_model", "model"),
        (errors.ContextWindowExceededError("too long", tokens=9, limit=8), 400,
         "context_length_exceeded", None),
        (errors.RateLimitExceededError("slow down", retry_after=1.5), 429, "rate_limit_exceeded",
         None),
        (errors.BudgetExceededError("acme", limit=Decimal(1), spent=Decimal(1),
                                    reserved=Decimal(0), requested=Decimal("0.1"), unit="USD"),
         429, "budget_exceeded", None),
        (errors.MissingDependencyError("redis", extra="redis", feature="Redis"), 500,
         "missing_dependency", None),
    ],
)  # fmt: skip
def test_openai_error_body(
    error: errors.TokmanError, status: int, code: str, param: str | None
) -> None:
    """The OpenAI-style body carries message, type, param and code, and is JSON."""
    body = error.to_openai_error()
    assert error.http_status == status
    assert body["error"]["code"] == code
    assert body["error"]["param"] == param
    assert body["error"]["message"] == str(error)
    assert json.loads(json.dumps(body)) == body


def test_budget_error_names_its_budget() -> None:
    """budget_id is a typed field even when a Budget object is passed."""

    class _B:
        id = "acme-daily"

    err = errors.BudgetExceededError(_B(), limit=10, spent=9, reserved=0, requested=2,
                                     unit="tokens")  # fmt: skip
    assert err.budget_id == "acme-daily"
    assert "'acme-daily'" in str(err)


def test_every_error_pickles_with_its_fields() -> None:
    """Errors cross process boundaries (count_file workers, Ray) with message and fields."""
    import pickle

    samples = [
        errors.InvalidRequestError("text", "a\ud800", "valid UTF-8"),
        errors.UnknownModelError("gpt-17", close_matches=["gpt-4"]),
        errors.ContextWindowExceededError("too long", tokens=9, limit=8),
        errors.RateLimitExceededError("slow down", retry_after=1.5),
        errors.BudgetExceededError("b", limit=1, spent=1, reserved=0, requested=1, unit="tokens"),
        errors.VocabularyIntegrityError("o200k_base", "/x", "aa", "bb"),
        errors.MissingDependencyError("redis", extra="redis", feature="Redis"),
    ]
    for error in samples:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error)
        assert vars(back) == vars(error)
