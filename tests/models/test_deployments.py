"""Azure deployments: names mapped to models, from code, files and the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokman import models
from tokman.errors import ConfigurationError, UnknownModelError
from tokman.models import DeploymentMap

DEPLOYMENTS = {
    "deployments": {
        "chat-prod": {
            "model": "gpt-4o-2024-11-20",
            "deployment_type": "DataZoneStandard",
            "region": "swedencentral",
            "tpm": 450000,
            "rpm": 2700,
        },
        "reasoner": {"model": "o4-mini", "deployment_type": "GlobalStandard"},
        "legacy": "gpt-35-turbo",
    }
}


def test_deployment_resolves_to_a_model_name_string() -> None:
    """The seed's bug (limits returned where a name was expected) cannot come back."""
    models.load_deployments(DEPLOYMENTS)
    info = models.get("chat-prod")
    assert isinstance(info.name, str)
    assert info.name == "gpt-4o-2024-11-20"
    assert (info.deployment, info.provider, info.deployment_type) == (
        "chat-prod",
        "azure",
        "DataZoneStandard",
    )
    deployment = models.deployments()["chat-prod"]
    assert isinstance(deployment.model, str)
    assert (deployment.region, deployment.tpm, deployment.rpm) == ("swedencentral", 450000, 2700)
    assert models.get("legacy").name == "gpt-3.5-turbo"


def test_encoding_for_resolves_deployments() -> None:
    """Counting code asking for a deployment's encoding gets the model's."""
    models.register_deployment("emb", model="text-embedding-3-large")
    assert models.encoding_for("emb") == "cl100k_base"


def test_deployment_prices_use_its_deployment_type() -> None:
    """A Data Zone deployment is priced at Data Zone rates without saying so again."""
    models.load_deployments(DEPLOYMENTS)
    assert str(models.get("chat-prod").price_at("2025-06-01").input) == "2.75"
    assert str(models.get("reasoner").price_at("2025-06-01").input) == "1.1"


def test_deployments_from_env_inline_and_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$TOKMAN_DEPLOYMENTS may hold inline JSON or a file path."""
    monkeypatch.setenv("TOKMAN_DEPLOYMENTS", json.dumps(DEPLOYMENTS))
    models.reset()
    assert models.get("reasoner").name == "o4-mini"
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps({"deployments": [{"name": "from-file", "model": "gpt-4.1"}]}))
    monkeypatch.setenv("TOKMAN_DEPLOYMENTS", str(path))
    models.reset()
    assert models.get("from-file").name == "gpt-4.1"


def test_deployments_from_toml(tmp_path: Path) -> None:
    """A TOML deployments file works too."""
    path = tmp_path / "deployments.toml"
    path.write_text(
        '[deployments.tomlchat]\nmodel = "gpt-5-mini"\ndeployment_type = "GlobalBatch"\n'
    )
    models.load_deployments(path)
    info = models.get("tomlchat")
    assert info.name == "gpt-5-mini"
    assert info.price_at("2025-09-01").batch  # GlobalBatch implies batch prices


def test_unknown_deployment_and_unknown_target() -> None:
    """An unknown deployment, or a deployment naming an unknown model, is an UnknownModelError."""
    models.register_deployment("chat-prod", model="gpt-4o")
    with pytest.raises(UnknownModelError, match=r"chat-prd.*Did you mean 'chat-prod'"):
        models.get("chat-prd")
    with pytest.raises(UnknownModelError, match="gpt-4o-mnii"):
        models.register_deployment("x", model="gpt-4o-mnii")
    models.load_deployments({"ghost": {"model": "gpt-9"}})
    with pytest.raises(UnknownModelError, match="deployment 'ghost' names this model"):
        models.get("ghost")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"d": {"model": ""}}, "field 'model'"),
        ({"d": {"model": "gpt-4o", "tpm": -1}}, "field 'tpm'"),
        ({"d": {"model": "gpt-4o", "tpm": 1.5}}, "field 'tpm'"),
        ({"d": {"model": "gpt-4o", "deployment_type": "ProvisionedManaged"}}, "PTU"),
        ({"d": {"model": "gpt-4o", "deployment_type": "Premium"}}, "GlobalBatch"),
        ({"d": {"model": "gpt-4o", "modle": "x"}}, "unknown field"),
        (42, "deployments"),
    ],
)
def test_bad_deployment_entries(raw: object, fragment: str) -> None:
    """Bad deployment data is a ConfigurationError naming the deployment and field."""
    with pytest.raises(ConfigurationError, match=fragment):
        DeploymentMap.from_dict(raw, origin="deployments.json")


def test_bad_inline_env_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """Broken inline JSON in $TOKMAN_DEPLOYMENTS names the variable."""
    monkeypatch.setenv("TOKMAN_DEPLOYMENTS", "{oops")
    with pytest.raises(ConfigurationError, match=r"\$TOKMAN_DEPLOYMENTS: not valid JSON"):
        DeploymentMap.from_env()
