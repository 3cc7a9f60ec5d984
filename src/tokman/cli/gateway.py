"""``tokman gateway``: run the OpenAI-compatible gateway and manage its virtual keys."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from tokman.cli._errors import cli_errors

if TYPE_CHECKING:
    from tokman.gateway import KeyStore
    from tokman.ledger import Ledger

__all__ = ["gateway"]


def _store(config_path: str) -> tuple[KeyStore, Ledger]:
    from tokman.gateway import KeyStore, load_config
    from tokman.ledger import open_ledger

    config = load_config(config_path)
    ledger = open_ledger(config.ledger)
    return KeyStore.for_ledger(ledger), ledger


@click.group("gateway", invoke_without_command=True)
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default="gateway.toml",
    show_default=True, help="The gateway's TOML file.",
)  # fmt: skip
@click.option("--host", default=None, help="Listen address (default: the config's).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Listen port (default: the config's).")  # fmt: skip
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True,
    help="Worker processes sharing the port (quotas shared through redis://).",
)  # fmt: skip
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="warning",
    show_default=True,
)
@click.pass_context
def gateway(
    ctx: click.Context,
    config_path: str,
    host: str | None,
    port: int | None,
    workers: int,
    log_level: str,
) -> None:
    """Serve the gateway (needs tokman[gateway]); `keys` manages its virtual keys."""
    ctx.obj = {"config": config_path}
    if ctx.invoked_subcommand is not None:
        return
    with cli_errors():
        try:
            from tokman.gateway import serve
        except ImportError as exc:  # pragma: no cover - the extra is installed in tests
            raise click.ClickException(
                f"the gateway needs its extra: pip install 'tokman[gateway]' ({exc})"
            ) from exc
        serve(config_path, host=host, port=port, workers=workers, log_level=log_level)


@gateway.group("keys")
def keys() -> None:
    """Create, list and revoke the gateway's virtual keys."""


@keys.command("create")
@click.option("--tenant", required=True, help="Who the key belongs to (a ledger tag).")
@click.option("--models", default="", help="Comma-separated models it may call (default: all).")
@click.option(
    "--budget", default=None, help="Its own budget: 25usd/day, 100000tokens/month, 5usd."
)
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="More ledger tags.")
@click.pass_context
def create(
    ctx: click.Context, tenant: str, models: str, budget: str | None, tags: tuple[str, ...]
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    with cli_errors():
        from tokman.budgets import Budget, BudgetGuard
        from tokman.gateway import parse_budget

        parsed_tags = {}
        for tag in tags:
            name, sep, value = tag.partition("=")
            if not sep or not name:
                raise click.BadParameter(f"{tag!r}: use KEY=VALUE", param_hint="--tag")
            parsed_tags[name] = value
        store, ledger = _store(ctx.obj["config"])
        wanted = [m.strip() for m in models.split(",") if m.strip()]
        secret, key = store.create(tenant, models=wanted, budget=budget, tags=parsed_tags)
        if budget is not None:
            limit, unit, period = parse_budget(budget)
            BudgetGuard(ledger).add(
                Budget(key.budget_id, limit, unit=unit, period=period, tags={"key": key.id})
            )
        click.echo(secret)
        click.echo(
            f"key {key.id} for {key.tenant}: shown once, store it now (only its hash is kept)",
            err=True,
        )


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per key.")
@click.pass_context
def list_keys(ctx: click.Context, as_json: bool) -> None:
    """List the keys (ids, tenants, models, budgets; never the secrets)."""
    with cli_errors():
        store, _ = _store(ctx.obj["config"])
        for key in store.all():
            if as_json:
                click.echo(json.dumps({
                    "id": key.id, "tenant": key.tenant, "models": list(key.models),
                    "budget": key.budget, "tags": key.tags, "created": key.created.isoformat(),
                    "revoked": key.revoked,
                }))  # fmt: skip
            else:
                state = "revoked" if key.revoked else "active"
                models = ",".join(key.models) or "*"
                click.echo(f"{key.id}  {state:7}  {key.tenant}  models={models}  "
                           f"budget={key.budget or '-'}")  # fmt: skip


@keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke a key by id (running gateways stop accepting it within seconds)."""
    with cli_errors():
        store, _ = _store(ctx.obj["config"])
        if not store.revoke(key_id):
            raise click.ClickException(f"no active key {key_id!r}: see 'tokman gateway keys list'")
        click.echo(f"revoked {key_id}")
