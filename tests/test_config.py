"""Settings: every environment variable is read in tokman.config, and documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tokman.config import VARIABLES, Settings
from tokman.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[1]


def test_only_config_reads_the_environment() -> None:
    """No module but tokman/config.py touches os.environ or os.getenv."""
    offenders = []
    for path in (ROOT / "src" / "tokman").rglob("*.py"):
        if path.name == "config.py" and path.parent.name == "tokman":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"os\.environ|os\.getenv|getenv\(", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_readme_lists_every_variable() -> None:
    """The README's settings table names every variable Settings reads."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in VARIABLES:
        assert f"`{name}`" in readme, name


def test_values_are_read_and_empty_means_unset(tmp_path: Path) -> None:
    """Paths are Paths, empty strings are None, the old tiktoken variable still counts."""
    s = Settings.from_env(
        {"TOKMAN_VOCAB_DIR": str(tmp_path), "TOKMAN_MODELS_FILE": "  ",
         "DATA_GYM_CACHE_DIR": str(tmp_path), "TOKMAN_TOKENIZER": "TikToken"}
    )  # fmt: skip
    assert s.vocab_dir == tmp_path and s.models_file is None
    assert s.tiktoken_cache_dir == tmp_path and s.tiktoken_cache_var == "DATA_GYM_CACHE_DIR"
    assert s.tokenizer == "tiktoken"
    assert Settings.from_env({}) == Settings()


def test_bad_tokenizer_names_the_variable() -> None:
    """A value tokman cannot use is an error naming the variable and what it accepts."""
    with pytest.raises(ConfigurationError, match=r"TOKMAN_TOKENIZER='rust'.*'tiktoken'"):
        Settings.from_env({"TOKMAN_TOKENIZER": "rust"})


def test_repr_hides_the_ledger_url() -> None:
    """The ledger URL may carry a password: it never appears in repr."""
    s = Settings.from_env({"TOKMAN_LEDGER_URL": "postgresql://u:hunter2@db/x"})
    assert s.ledger_url == "postgresql://u:hunter2@db/x"
    assert "hunter2" not in repr(s)
