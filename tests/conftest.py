"""Shared fixtures: every test starts from a clean tokman configuration.

Database fixtures (``postgres_url``, ``ledger``, ``make_ledger``, ...) live in
``tests/servers.py``, loaded here as a plugin for every suite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tokman.encodings
from tokman import models
from tokman.counting import shutdown_workers

pytest_plugins = ["servers"]


@pytest.fixture(autouse=True)
def _clean_vocab_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never see a developer's TOKMAN_VOCAB_DIR or tokenizer override."""
    monkeypatch.delenv("TOKMAN_VOCAB_DIR", raising=False)
    monkeypatch.delenv("TOKMAN_TOKENIZER", raising=False)
    yield
    tokman.encodings.configure(vocab_dir=None)


@pytest.fixture(autouse=True)
def _clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No developer's $TOKMAN_MODELS_FILE / $TOKMAN_DEPLOYMENTS, no leftover registrations."""
    monkeypatch.delenv("TOKMAN_MODELS_FILE", raising=False)
    monkeypatch.delenv("TOKMAN_DEPLOYMENTS", raising=False)
    models.reset()
    yield
    models.reset()


@pytest.fixture(autouse=True)
def _no_warm_workers() -> Iterator[None]:
    """count_batch keeps its worker processes warm between calls: end them after each test, so
    no test's workers (forked with its monkeypatched modules) serve the next test."""
    yield
    shutdown_workers()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many public entry points the fuzz suite covered, when it ran."""
    import sys

    for module in list(sys.modules.values()):
        summary = getattr(module, "fuzz_summary", None)
        if callable(summary) and getattr(module, "__name__", "").endswith("test_fuzz_public_api"):
            terminalreporter.write_line(summary())
            return
