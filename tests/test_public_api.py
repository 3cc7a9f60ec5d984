"""The public surface: pinned names, and an import that stays light."""

from __future__ import annotations

import subprocess
import sys

import tokman

EXPECTED_PUBLIC = {
    "AsyncLedger", "Budget", "BudgetGuard", "Chunk", "Cost", "CostEstimate", "Encoding",
    "Ledger", "ModelInfo", "PromptCount", "RequestCheck", "TextChunker", "TrimResult",
    "UsageRecord", "open_async_ledger",
    "__version__", "check_request", "chunk", "cost", "count", "count_file", "count_prompt",
    "count_prompt_details", "encoding_for_model", "errors", "estimate_cost", "get_encoding",
    "iter_chunks", "models", "open_ledger", "trim_messages", "validate_request",
    "NormalizedRequest", "Usage", "UsageReport", "normalize_request", "read_response",
    "read_usage", "Quota", "RateLimiter", "AsyncRateLimiter", "RateReservation",
    "AsyncRateReservation", "instrument", "AzureOpenAIConfig",
    "TokenManager", "TokenUsage", "LoggerSetup", "estimate_tokens", "chunk_text",
    "count_batch", "iter_count_batch", "count_column", "shutdown_workers",
}  # fmt: skip


def test_all_is_pinned() -> None:
    """__all__ is exactly the documented public names, sorted; adding one is a decision."""
    assert tokman.__all__ == sorted(tokman.__all__)
    assert set(tokman.__all__) == EXPECTED_PUBLIC
    assert set(tokman._EXPORTS) <= EXPECTED_PUBLIC


EXPECTED_TESTING = {
    "FakeClock", "FakeOpenAI", "FakeReply", "FakeRequest", "FakeServer", "batch_line",
    "fake_response",
}  # fmt: skip


def test_testing_all_is_pinned() -> None:
    """tokman.testing's public helpers are pinned too: users' test suites import them."""
    import tokman.testing

    assert tokman.testing.__all__ == sorted(tokman.testing.__all__)
    assert set(tokman.testing.__all__) == EXPECTED_TESTING
    for name in tokman.testing.__all__:
        assert getattr(tokman.testing, name) is not None, name


def test_every_public_name_resolves() -> None:
    """Each name in __all__ is importable (lazily) from the top-level package."""
    for name in tokman.__all__:
        assert getattr(tokman, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    """A typo gives the usual AttributeError naming the attribute."""
    try:
        tokman.cuont  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "cuont" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


OPTIONAL_OR_HEAVY = [
    "tiktoken", "bpe_openai", "regex", "sqlalchemy", "psycopg", "redis", "openai",
    "prometheus_client", "opentelemetry", "click", "rich", "matplotlib", "PIL", "platformdirs",
    "ray", "pyarrow", "pandas", "numpy", "tokie",
]  # fmt: skip


def test_import_tokman_loads_no_optional_dependency() -> None:
    """`import tokman` in a fresh interpreter loads none of the optional or heavy libraries."""
    probe = f"import sys, tokman; print([m for m in {OPTIONAL_OR_HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_counting_loads_no_storage_or_cli_dependency() -> None:
    """Counting text needs only the core: no SQL, Redis, OpenAI SDK, click or rich."""
    probe = (
        "import sys, tokman; tokman.count('hi', model='gpt-4o'); "
        f"print([m for m in {OPTIONAL_OR_HEAVY[3:]!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
