"""Shared fixtures: every test starts from a clean tokman configuration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tokman.encodings


@pytest.fixture(autouse=True)
def _clean_vocab_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never see a developer's TOKMAN_VOCAB_DIR or tokenizer override."""
    monkeypatch.delenv("TOKMAN_VOCAB_DIR", raising=False)
    monkeypatch.delenv("TOKMAN_TOKENIZER", raising=False)
    yield
    tokman.encodings.configure(vocab_dir=None)
