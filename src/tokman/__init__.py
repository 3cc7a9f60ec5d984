"""tokman: exact token counting, limits, pricing, budgets and a usage ledger for OpenAI/Azure.

>>> import tokman
>>> tokman.count("hello world", model="gpt-4o")
2

Public names are loaded on first use so that ``import tokman`` stays fast and imports no
optional (or heavy) dependency; ``__all__`` is the whole public surface.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tokman import errors as errors

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Encoding": "tokman.encodings",
    "get_encoding": "tokman.encodings",
    "encoding_for_model": "tokman.models",
    "count": "tokman.counting",
    "count_file": "tokman.counting",
    "count_batch": "tokman.counting",
    "iter_count_batch": "tokman.counting",
    "count_column": "tokman.counting",
    "shutdown_workers": "tokman.counting",
    "count_prompt": "tokman.counting",
    "count_prompt_details": "tokman.counting",
    "PromptCount": "tokman.counting",
    "ModelInfo": "tokman.models",
    "Cost": "tokman.pricing",
    "cost": "tokman.pricing",
    "estimate_cost": "tokman.pricing",
    "CostEstimate": "tokman.pricing",
    "RequestCheck": "tokman.validation",
    "validate_request": "tokman.validation",
    "check_request": "tokman.validation",
    "Chunk": "tokman.fitting",
    "TextChunker": "tokman.fitting",
    "chunk": "tokman.fitting",
    "iter_chunks": "tokman.fitting",
    "trim_messages": "tokman.fitting",
    "TrimResult": "tokman.fitting",
    "UsageRecord": "tokman.ledger",
    "Ledger": "tokman.ledger",
    "AsyncLedger": "tokman.ledger",
    "open_ledger": "tokman.ledger",
    "open_async_ledger": "tokman.ledger",
    "Budget": "tokman.budgets",
    "BudgetGuard": "tokman.budgets",
    "Quota": "tokman.ratelimit",
    "RateLimiter": "tokman.ratelimit",
    "AsyncRateLimiter": "tokman.ratelimit",
    "RateReservation": "tokman.ratelimit",
    "AsyncRateReservation": "tokman.ratelimit",
    "Usage": "tokman.usage",
    "UsageReport": "tokman.usage",
    "read_usage": "tokman.usage",
    "read_response": "tokman.usage",
    "NormalizedRequest": "tokman.requests",
    "normalize_request": "tokman.requests",
    "instrument": "tokman.integrations.openai",
    "AzureOpenAIConfig": "tokman.integrations.openai",
    "TokenManager": "tokman.compat",
    "TokenUsage": "tokman.compat",
    "LoggerSetup": "tokman.compat",
    "estimate_tokens": "tokman.compat",
    "chunk_text": "tokman.compat",
}
_SUBMODULES = {
    "errors",
    "models",
    "encodings",
    "counting",
    "pricing",
    "validation",
    "fitting",
    "ledger",
    "budgets",
    "ratelimit",
    "reports",
    "config",
    "requests",
    "usage",
    "types",
    "testing",
    "integrations",
    "compat",
    "files",
    "ray",
}

__all__ = sorted([*_EXPORTS, "errors", "models", "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"tokman.{name}")
    raise AttributeError(f"module 'tokman' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from tokman import models as models
    from tokman.budgets import Budget as Budget
    from tokman.budgets import BudgetGuard as BudgetGuard
    from tokman.compat import LoggerSetup as LoggerSetup
    from tokman.compat import TokenManager as TokenManager
    from tokman.compat import TokenUsage as TokenUsage
    from tokman.compat import chunk_text as chunk_text
    from tokman.compat import estimate_tokens as estimate_tokens
    from tokman.counting import PromptCount as PromptCount
    from tokman.counting import count as count
    from tokman.counting import count_batch as count_batch
    from tokman.counting import count_column as count_column
    from tokman.counting import count_file as count_file
    from tokman.counting import count_prompt as count_prompt
    from tokman.counting import count_prompt_details as count_prompt_details
    from tokman.counting import iter_count_batch as iter_count_batch
    from tokman.counting import shutdown_workers as shutdown_workers
    from tokman.encodings import Encoding as Encoding
    from tokman.encodings import get_encoding as get_encoding
    from tokman.fitting import Chunk as Chunk
    from tokman.fitting import TextChunker as TextChunker
    from tokman.fitting import TrimResult as TrimResult
    from tokman.fitting import chunk as chunk
    from tokman.fitting import iter_chunks as iter_chunks
    from tokman.fitting import trim_messages as trim_messages
    from tokman.integrations.openai import AzureOpenAIConfig as AzureOpenAIConfig
    from tokman.integrations.openai import instrument as instrument
    from tokman.ledger import AsyncLedger as AsyncLedger
    from tokman.ledger import Ledger as Ledger
    from tokman.ledger import UsageRecord as UsageRecord
    from tokman.ledger import open_async_ledger as open_async_ledger
    from tokman.ledger import open_ledger as open_ledger
    from tokman.models import ModelInfo as ModelInfo
    from tokman.models import encoding_for_model as encoding_for_model
    from tokman.pricing import Cost as Cost
    from tokman.pricing import CostEstimate as CostEstimate
    from tokman.pricing import cost as cost
    from tokman.pricing import estimate_cost as estimate_cost
    from tokman.ratelimit import AsyncRateLimiter as AsyncRateLimiter
    from tokman.ratelimit import AsyncRateReservation as AsyncRateReservation
    from tokman.ratelimit import Quota as Quota
    from tokman.ratelimit import RateLimiter as RateLimiter
    from tokman.ratelimit import RateReservation as RateReservation
    from tokman.requests import NormalizedRequest as NormalizedRequest
    from tokman.requests import normalize_request as normalize_request
    from tokman.usage import Usage as Usage
    from tokman.usage import UsageReport as UsageReport
    from tokman.usage import read_response as read_response
    from tokman.usage import read_usage as read_usage
    from tokman.validation import RequestCheck as RequestCheck
    from tokman.validation import check_request as check_request
    from tokman.validation import validate_request as validate_request
