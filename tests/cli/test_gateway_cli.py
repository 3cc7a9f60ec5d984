"""`tokman gateway`: keys from the command line, and the server started the way users start it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
from click.testing import CliRunner

from gateway_support import free_port
from tokman.cli import cli
from tokman.gateway import KeyStore, load_config
from tokman.ledger import open_ledger
from tokman.testing import FakeOpenAI

CONFIG = """
[gateway]
ledger = "sqlite:///{db}"
port = {port}

[[upstreams]]
name = "fake"
kind = "openai"
base_url = "{upstream}"
api_key_env = "TOKMAN_TEST_UPSTREAM_KEY"

[[upstreams.deployments]]
model = "gpt-4o"
tpm = 100000
rpm = 600
"""


def _config(tmp_path: Path, upstream: str = "http://127.0.0.1:9/v1", port: int = 8080) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(CONFIG.format(db=tmp_path / "gw.db", port=port, upstream=upstream))
    return path


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    """create prints the key once (stdout) and a note (stderr); list never shows secrets;
    revoke by id; the budget exists in the ledger's database."""
    config = _config(tmp_path)
    runner = CliRunner()
    made = runner.invoke(cli, ["gateway", "--config", str(config), "keys", "create",
                               "--tenant", "acme", "--models", "gpt-4o", "--budget", "25usd/day",
                               "--tag", "team=search"])  # fmt: skip
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("tk-") and "shown once" in made.stderr
    listed = runner.invoke(cli, ["gateway", "--config", str(config), "keys", "list", "--json"])
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["tenant"] == "acme" and row["models"] == ["gpt-4o"] and secret not in listed.output
    assert row["tags"] == {"team": "search"} and row["budget"] == "25usd/day"
    ledger = open_ledger(load_config(config).ledger)
    from tokman.budgets import BudgetGuard

    assert BudgetGuard(ledger).status(f"key:{row['id']}").budget.limit == 25
    store = KeyStore.for_ledger(ledger)
    assert store.lookup(secret) is not None
    gone = runner.invoke(cli, ["gateway", "--config", str(config), "keys", "revoke", row["id"]])
    assert gone.exit_code == 0 and store.lookup(secret + "x") is None
    again = runner.invoke(cli, ["gateway", "--config", str(config), "keys", "revoke", row["id"]])
    assert again.exit_code == 1 and "no active key" in again.output


def test_bad_config_and_budget_are_one_line_errors(tmp_path: Path) -> None:
    """A config mistake names the file and the key; a bad budget names the format."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[gateway]\nport = 70000\n[[upstreams]]\nname="x"\nkind="openai"\n')
    runner = CliRunner()
    result = runner.invoke(cli, ["gateway", "--config", str(bad), "keys", "list"])
    assert result.exit_code == 1 and "gateway.port = 70000" in result.output
    assert "Traceback" not in result.output
    config = _config(tmp_path)
    result = runner.invoke(cli, ["gateway", "--config", str(config), "keys", "create",
                                 "--tenant", "a", "--budget", "lots"])  # fmt: skip
    assert result.exit_code == 1 and "25usd/day" in result.output


def test_tokman_gateway_serves(tmp_path: Path) -> None:
    """`tokman gateway --config ...` serves the OpenAI API; a key made with the CLI works."""
    fake = FakeOpenAI("Served through the gateway.")
    with fake.serve() as upstream:
        port = free_port()
        config = _config(tmp_path, upstream=upstream.base_url, port=port)
        made = CliRunner().invoke(cli, ["gateway", "--config", str(config), "keys", "create",
                                        "--tenant", "acme"])  # fmt: skip
        secret = made.stdout.strip()
        env = {**os.environ, "TOKMAN_TEST_UPSTREAM_KEY": "sk-up"}
        log = tmp_path / "gateway.log"
        with log.open("wb") as out, subprocess.Popen(
            [sys.executable, "-m", "tokman.cli", "gateway", "--config", str(config)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        ) as proc:  # fmt: skip
            try:
                deadline = time.monotonic() + 20
                while True:
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    assert proc.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "the gateway did not start"
                    time.sleep(0.1)
                client = openai.OpenAI(api_key=secret, base_url=f"http://127.0.0.1:{port}/v1")
                answer = client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "Hi"}]
                )
                assert answer.choices[0].message.content == "Served through the gateway."
                client.close()
            finally:
                proc.terminate()
                proc.wait(10)
    [row] = open_ledger(load_config(config).ledger).query()
    assert row.id == answer.id and row.tags["tenant"] == "acme"
