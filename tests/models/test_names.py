"""One model-name parser: every API resolves a name the same way (issue 9, items 1, 4 and 5)."""

from __future__ import annotations

import pytest

import tokman
from tokman import models
from tokman._names import CHAT_FAMILIES, FAMILIES, parse_model_name
from tokman.counting._families import FAMILIES as FAMILY_ROWS
from tokman.counting._families import rules_for_name
from tokman.encodings import encoding_name_for_model
from tokman.errors import ConfigurationError, InvalidRequestError, UnknownModelError

HELLO = [{"role": "user", "content": "hello"}]


@pytest.mark.parametrize(
    ("given", "name", "base", "provider", "dtype", "fine_tuned"),
    [
        ("gpt-4o", "gpt-4o", "gpt-4o", None, None, False),
        ("  GPT-4o-2024-08-06 ", "GPT-4o-2024-08-06", "gpt-4o-2024-08-06", None, None, False),
        ("azure/eu/gpt-5", "gpt-5", "gpt-5", "azure", "datazone", False),
        ("azure/us/gpt-5", "gpt-5", "gpt-5", "azure", "datazone", False),
        ("azure/global-standard/gpt-4o", "gpt-4o", "gpt-4o", "azure", "global", False),
        ("azure/regional/gpt-4o", "gpt-4o", "gpt-4o", "azure", "regional", False),
        ("azure/chat-prod", "chat-prod", "chat-prod", "azure", None, False),
        ("openai/gpt-4.1", "gpt-4.1", "gpt-4.1", "openai", None, False),
        (
            "ft:gpt-4o-mini-2024-07-18:acme::abc",
            "ft:gpt-4o-mini-2024-07-18:acme::abc",
            "gpt-4o-mini-2024-07-18",
            None,
            None,
            True,
        ),
        (
            "azure/gpt-35-turbo-0125.ft-0a1b",
            "gpt-35-turbo-0125.ft-0a1b",
            "gpt-35-turbo-0125",
            "azure",
            None,
            True,
        ),
    ],
)
def test_parse_model_name(
    given: str, name: str, base: str, provider: str | None, dtype: str | None, fine_tuned: bool
) -> None:
    """Routes, region types and fine-tune decoration are taken apart in one place."""
    parsed = parse_model_name(given)
    assert (parsed.name, parsed.base, parsed.provider, parsed.deployment_type) == (
        name,
        base,
        provider,
        dtype,
    )
    assert parsed.fine_tuned is fine_tuned


@pytest.mark.parametrize("bad", [None, "", "   ", 5, b"gpt-4o"])
def test_parse_model_name_refuses_non_names(bad: object) -> None:
    """A non-string or blank name is a typed error naming the field."""
    with pytest.raises(InvalidRequestError, match=r"^model="):
        parse_model_name(bad)


@pytest.mark.parametrize(
    "name",
    ["azure/eu/gpt-4o-mini", "azure/regional/gpt-4.1-nano", "openai/o3", "azure/datazone/gpt-5",
     "ft:gpt-4.1-mini-2025-04-14:acme::x", "gpt-4o-mini-2024-07-18.ft-abc"],
)  # fmt: skip
def test_every_layer_reads_a_name_alike(name: str) -> None:
    """The encoding table, the registry and the framing rules agree on every spelling."""
    info = models.get(name)
    assert encoding_name_for_model(name) == info.encoding == models.encoding_for(name)
    assert rules_for_name(name) == rules_for_name(info.base_model or info.name)


def test_region_route_prices_as_its_deployment_type() -> None:
    """azure/eu/... is Data Zone in the registry (the table other layers read routes from)."""
    assert models.get("azure/eu/gpt-4o").deployment_type == "datazone"
    assert models.get("azure/global/gpt-4o").deployment_type == "global"


def test_names_are_case_insensitive() -> None:
    """Model names resolve whatever their case (deployment names stay exact)."""
    assert models.get("GPT-4o").name == "gpt-4o"
    assert tokman.count("hello world", model="GPT-4O") == 2


def test_encoding_for_model_knows_deployments_and_registrations() -> None:
    """Issue 9 #1: tokman.encoding_for_model resolves what tokman.count resolves."""
    models.register_deployment("chat-prod", model="gpt-4")
    models.register("acme-chat", encoding="o200k_base", context_window=32_000)
    assert tokman.encoding_for_model("chat-prod").name == "cl100k_base"
    assert tokman.encoding_for_model("acme-chat").name == "o200k_base"
    assert tokman.encoding_for_model("azure/chat-prod").name == "cl100k_base"
    assert tokman.count("hello world", model="chat-prod") == 2
    with pytest.raises(UnknownModelError, match=r"chat-prd.*Did you mean 'chat-prod'"):
        tokman.encoding_for_model("chat-prd")


def test_reregistering_a_model_changes_count_prompt() -> None:
    """Issue 9 #4: the chat counter's cache follows registry changes."""
    before = tokman.count_prompt(model="gpt-4o", messages=[{"role": "user", "content": "héllo"}])
    models.register("gpt-4o", encoding="cl100k_base", context_window=128_000, family="gpt-4o")
    after = tokman.count_prompt(model="gpt-4o", messages=[{"role": "user", "content": "héllo"}])
    text = "héllo"
    assert after - before == tokman.count(text, encoding="cl100k_base") - tokman.count(
        text, encoding="o200k_base"
    )
    assert after != before
    models.reset()
    assert tokman.count_prompt(model="gpt-4o", messages=[{"role": "user", "content": "héllo"}]) == (
        before
    )


def test_deployment_repointed_changes_count_prompt() -> None:
    """A deployment moved to another model is framed and counted as the new one at once."""
    accent = [{"role": "user", "content": "é"}]
    models.register_deployment("chat-prod", model="gpt-4")
    on_gpt4 = tokman.count_prompt(model="chat-prod", messages=accent)
    models.register_deployment("chat-prod", model="gpt-4o")
    on_4o = tokman.count_prompt(model="chat-prod", messages=accent)
    assert on_gpt4 == tokman.count_prompt(model="gpt-4", messages=accent)
    assert on_4o == tokman.count_prompt(model="gpt-4o", messages=accent)


def test_registered_model_with_family_counts_validates_and_checks() -> None:
    """Issue 9 #5: a model registered with a family works in every chat API."""
    models.register("acme-chat", encoding="o200k_base", context_window=1_000,
                    max_output_tokens=500, family="gpt-4o")  # fmt: skip
    assert tokman.count_prompt(model="acme-chat", messages=HELLO) == tokman.count_prompt(
        model="gpt-4o", messages=HELLO
    )
    assert tokman.validate_request(model="acme-chat", messages=HELLO).prompt_tokens == 8
    check = tokman.check_request(model="acme-chat", messages=HELLO, max_completion_tokens=600)
    assert not check.ok and check.problems[0].kind == "max_output"


def test_registered_family_decides_framing_over_the_name() -> None:
    """family= given at registration wins over what the name looks like."""
    models.register("gpt-4o-house", encoding="o200k_base", context_window=128_000,
                    family="o3")  # fmt: skip
    assert tokman.count_prompt(model="gpt-4o-house", messages=HELLO) == tokman.count_prompt(
        model="o3", messages=HELLO
    )


def test_registered_model_without_family_says_how_to_fix() -> None:
    """Without a family, the error names the fix, and the fix works when followed."""
    models.register("acme-chat", encoding="o200k_base", context_window=32_000)
    with pytest.raises(UnknownModelError, match=r"family='gpt-4o'") as caught:
        tokman.count_prompt(model="acme-chat", messages=HELLO)
    assert "tokman.models.register('acme-chat', encoding='o200k_base'" in str(caught.value)
    models.register("acme-chat", encoding="o200k_base", context_window=32_000, family="gpt-4o")
    assert tokman.count_prompt(model="acme-chat", messages=HELLO) == 8


def test_unknown_family_is_refused() -> None:
    """Issue 9 #5: family='bogus' is an error naming the field and the known families."""
    with pytest.raises(ConfigurationError, match=r"'family'.*'bogus'.*gpt-4o"):
        models.register("acme-chat", encoding="o200k_base", context_window=1_000, family="bogus")
    with pytest.raises(ConfigurationError, match="did you mean 'gpt-4o'"):
        models.register("acme-chat", encoding="o200k_base", context_window=1_000, family="gpt4o")


def test_family_lists_agree() -> None:
    """The bottom layer's family names are exactly the framing table's, and cover the data."""
    assert {rules.family for _, rules in FAMILY_ROWS} == set(CHAT_FAMILIES)
    assert {info.family for info in models.list()} <= set(FAMILIES)
