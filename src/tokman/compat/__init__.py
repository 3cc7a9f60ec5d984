"""The seed's ``core.token_management`` API on tokman: switch by changing one import.

``from core.token_management import TokenManager`` becomes ``from tokman import TokenManager``
(also `TokenUsage`, the module-level `estimate_tokens` / `chunk_text`, `LoggerSetup` and
`AzureOpenAIConfig`). The names, arguments and result shapes are the seed's; the answers are
tokman's (exact counts, real limits, exact prices), and where the seed was wrong they differ:
README "Coming from token_management.py" lists each change and why.

>>> from tokman.compat import TokenManager
>>> manager = TokenManager("gpt-4o")
>>> manager.estimate_tokens("hello world")
2
>>> manager.get_model_limits()["max_tokens"]
128000
"""

from __future__ import annotations

from tokman.compat._logging import LoggerSetup
from tokman.compat._manager import TokenManager, TokenUsage, chunk_text, estimate_tokens
from tokman.integrations.openai._azure import AzureOpenAIConfig

__all__ = [
    "AzureOpenAIConfig",
    "LoggerSetup",
    "TokenManager",
    "TokenUsage",
    "chunk_text",
    "estimate_tokens",
]
