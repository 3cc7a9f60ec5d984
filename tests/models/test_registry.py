"""Name resolution, unknown names, registration in code and user files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tokman import models
from tokman.errors import ConfigurationError, InvalidRequestError, UnknownModelError


@pytest.mark.parametrize(
    ("asked", "name"),
    [
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-35-turbo", "gpt-3.5-turbo"),
        ("gpt-35-turbo-0125", "gpt-3.5-turbo"),
        ("gpt-4-turbo-preview", "gpt-4-turbo"),
        ("  gpt-5  ", "gpt-5"),
        ("azure/gpt-4.1", "gpt-4.1"),
        ("azure/us/gpt-4.1-2025-04-14", "gpt-4.1"),
        ("openai/o3", "o3"),
    ],
)
def test_get_resolves_names_aliases_snapshots_and_routes(asked: str, name: str) -> None:
    """Exact names, aliases, dated snapshots, Azure spelling and routes reach one entry."""
    assert models.get(asked).name == name


def test_routes_carry_provider_and_deployment_type() -> None:
    """azure/eu/... means Azure Data Zone; azure/global/... Global; a bare azure/ no type."""
    assert models.get("azure/eu/gpt-5").deployment_type == "datazone"
    assert models.get("azure/global/gpt-5.1").deployment_type == "global"
    bare = models.get("azure/gpt-5")
    assert (bare.provider, bare.deployment_type) == ("azure", None)
    assert models.get("gpt-5").provider is None


def test_fine_tune_keeps_its_name_and_drops_prices() -> None:
    """ft: names get the base model's tokenizer and limits but not its prices."""
    info = models.get("ft:gpt-4o-mini-2024-07-18:acme:support:abc123")
    assert info.name == "ft:gpt-4o-mini-2024-07-18:acme:support:abc123"
    assert info.base_model == "gpt-4o-mini"
    assert (info.encoding, info.context_window) == ("o200k_base", 128000)
    assert info.prices == () and info.input_price is None
    assert models.get("gpt-4o-mini-2024-07-18.ft-0123abcd").base_model == "gpt-4o-mini"


def test_unknown_model_names_the_name_close_matches_and_the_fix() -> None:
    """An unknown name is an UnknownModelError with suggestions and how to register."""
    with pytest.raises(UnknownModelError) as caught:
        models.get("gpt-4o-mnii")
    message = str(caught.value)
    assert "'gpt-4o-mnii'" in message
    assert "Did you mean 'gpt-4o-mini'" in message
    assert "tokman.models.register('gpt-4o-mnii'" in message
    assert "register_deployment" in message
    assert caught.value.close_matches[0] == "gpt-4o-mini"


@pytest.mark.parametrize("name", ["gpt-4o-FAKE", "gpt-17", "azure/eu/nope", "ft:nothing:org::1"])
def test_no_prefix_guessing_for_limits(name: str) -> None:
    """A name that only looks like a known model never gets another model's numbers."""
    with pytest.raises(UnknownModelError, match="Unknown model"):
        models.get(name)


def test_encoding_for_falls_back_to_prefix_rules_but_not_to_guesses() -> None:
    """encoding_for knows unregistered snapshots by prefix; a nonsense name still fails."""
    assert models.encoding_for("gpt-4o-2099-01-01") == "o200k_base"
    assert models.encoding_for("gpt-35-turbo") == "cl100k_base"
    with pytest.raises(UnknownModelError, match="qwen-9"):
        models.encoding_for("qwen-9")


def test_list_filters() -> None:
    """list() filters by family, provider, kind and reasoning."""
    embeds = models.list(kind="embedding")
    assert [m.name for m in embeds] == [
        "text-embedding-3-large",
        "text-embedding-3-small",
        "text-embedding-ada-002",
    ]
    assert all(m.family == "gpt-5" for m in models.list(family="gpt-5"))
    assert len(models.list(provider="azure")) == len(models.list())
    with pytest.raises(InvalidRequestError, match=r"family='nope'.*gpt-4o"):
        models.list(family="nope")  # a typo is an error, never an empty list
    with pytest.raises(InvalidRequestError, match=r"kind='embeddings'.*embedding"):
        models.list(kind="embeddings")


def test_register_in_code_overrides_and_extends() -> None:
    """register() adds a model that get/list/encoding_for see, validated like the file."""
    info = models.register(
        "acme-llm",
        encoding="o200k_base",
        context_window=64000,
        max_output_tokens=8000,
        aliases=["acme"],
        prices=[{"effective": "2025-01-01", "provider": "openai", "input": "1", "output": "2"}],
    )
    assert models.get("acme") == info
    assert models.encoding_for("acme") == "o200k_base"
    assert info.input_price == Decimal("1")
    assert "acme-llm" in [m.name for m in models.list()]
    # an override of a shipped name wins, and reset() restores the shipped one
    models.register("gpt-4o", encoding="o200k_base", context_window=1000, max_output_tokens=10)
    assert models.get("gpt-4o").context_window == 1000
    models.reset()
    assert models.get("gpt-4o").context_window == 128000


def test_register_model_checks_limits() -> None:
    """register_model validates a ModelInfo built by hand."""
    good = models.ModelInfo(
        name="tiny", encoding="cl100k_base", context_window=10, max_output_tokens=5
    )
    assert models.register_model(good) is good
    assert models.get("tiny").max_input_tokens == 10
    bad = models.ModelInfo(
        name="bad", encoding="cl100k_base", context_window=10, max_output_tokens=50
    )
    with pytest.raises(ConfigurationError, match=r"'bad'.*max_output_tokens.*50"):
        models.register_model(bad)


@pytest.mark.parametrize(
    ("kwargs", "field", "fix"),
    [
        ({"context_window": 0}, "context_window", "positive integer"),
        ({"context_window": 1.5}, "context_window", "positive integer"),
        ({"encoding": "o300k"}, "encoding", "o200k_base"),
        ({"max_output_tokens": 999999}, "max_output_tokens", "larger than context_window"),
        ({"kind": "vision"}, "kind", "chat"),
    ],
)
def test_register_rejects_bad_fields(kwargs: dict[str, Any], field: str, fix: str) -> None:
    """Each bad field is a ConfigurationError naming model, field and what is expected."""
    args: dict[str, Any] = {"encoding": "o200k_base", "context_window": 1000, **kwargs}
    with pytest.raises(ConfigurationError) as caught:
        models.register("x-model", **args)
    message = str(caught.value)
    assert "'x-model'" in message and repr(field) in message and fix in message


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "my-models.json"
    path.write_text(json.dumps(data))
    return path


def _entry(**over: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "corp-gpt",
        "encoding": "o200k_base",
        "context_window": 128000,
        "max_output_tokens": 4096,
        "prices": [{"effective": "2025-01-01", "provider": "openai", "input": "3", "output": "9"}],
    }
    entry.update(over)
    return entry


def test_load_user_file(tmp_path: Path) -> None:
    """load() registers a file's models; they resolve with the file's numbers."""
    path = _write(tmp_path, {"models": [_entry(aliases=["corp"])]})
    [info] = models.load(path)
    assert models.get("corp") == info
    assert info.output_price == Decimal("9")


def test_models_file_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$TOKMAN_MODELS_FILE is read on first use."""
    path = _write(tmp_path, {"models": [_entry()]})
    monkeypatch.setenv("TOKMAN_MODELS_FILE", str(path))
    models.reset()
    assert models.get("corp-gpt").context_window == 128000


@pytest.mark.parametrize(
    ("entry", "field", "fix"),
    [
        (_entry(context_window=-5), "context_window", "positive integer"),
        (_entry(context_window="128k"), "context_window", "positive integer"),
        ({"name": "corp-gpt", "encoding": "o200k_base"}, "context_window", "required"),
        (_entry(max_output_tokens=200000), "max_output_tokens", "larger than context_window"),
        (_entry(contxt_window=5), "contxt_window", "unknown field"),
        (
            _entry(
                prices=[
                    {"effective": "2025-01-01", "provider": "openai", "input": 2.5, "output": "1"}
                ]
            ),
            "prices[0].input",
            "write prices as strings",
        ),
        (
            _entry(
                prices=[
                    {"effective": "2025-01-01", "provider": "openai", "input": "-1", "output": "1"}
                ]
            ),
            "prices[0].input",
            "non-negative",
        ),
        (
            _entry(
                prices=[{"effective": "soon", "provider": "openai", "input": "1", "output": "1"}]
            ),
            "prices[0].effective",
            "ISO date",
        ),
        (
            _entry(
                prices=[
                    {"effective": "2025-01-01", "provider": "azure", "input": "1", "output": "1"}
                ]
            ),
            "prices[0].deployment_type",
            "global",
        ),
        (
            _entry(prices=[{"effective": "2025-01-01", "provider": "openai", "input": "1"}]),
            "prices[0].output",
            "required",
        ),
    ],
)
def test_user_file_validation_names_file_model_and_field(
    tmp_path: Path, entry: dict[str, Any], field: str, fix: str
) -> None:
    """A bad user file is a ConfigurationError naming the file, the model and the field."""
    path = _write(tmp_path, {"models": [entry]})
    with pytest.raises(ConfigurationError) as caught:
        models.load(path)
    message = str(caught.value)
    assert str(path) in message
    assert "'corp-gpt'" in message
    assert repr(field) in message
    assert fix in message


def test_user_file_shape_and_duplicates(tmp_path: Path) -> None:
    """Not-JSON, a missing file, a wrong shape and a doubly-claimed alias are all named."""
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ConfigurationError, match=r"bad.json: not valid JSON"):
        models.load(bad)
    with pytest.raises(ConfigurationError, match=r"missing.json: cannot read"):
        models.load(tmp_path / "missing.json")
    with pytest.raises(ConfigurationError, match="'models'"):
        models.load(_write(tmp_path, [1, 2]))
    twice = {"models": [_entry(aliases=["x"]), _entry(name="other", aliases=["x"])]}
    with pytest.raises(ConfigurationError, match="already used by model 'corp-gpt'"):
        models.load(_write(tmp_path, twice))


def test_bad_env_file_fails_on_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken $TOKMAN_MODELS_FILE is reported, not silently ignored."""
    path = _write(tmp_path, {"models": [_entry(context_window=0)]})
    monkeypatch.setenv("TOKMAN_MODELS_FILE", str(path))
    models.reset()
    with pytest.raises(ConfigurationError, match=r"my-models.json"):
        models.get("gpt-4o")
