"""``tokman models [list|show NAME]``: the registry, as ``tokman.models.list`` / ``get`` see it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from tokman.cli._errors import cli_errors
from tokman.cli._output import echo_json, print_table

__all__ = ["models_command"]

_FILTER_FLAGS = {
    "family": "--family",
    "provider": "--provider",
    "kind": "--kind",
    "encoding": "--encoding",
}


def _per_million(value: Decimal | None) -> str:
    return "-" if value is None else f"${value:,}"


def _as_json(info: Any) -> dict[str, Any]:
    return {
        "name": info.name,
        "family": info.family,
        "kind": info.kind,
        "encoding": info.encoding,
        "context_window": info.context_window,
        "max_output_tokens": info.max_output_tokens,
        "reasoning": info.reasoning,
        "providers": list(info.providers),
        "aliases": list(info.aliases),
        "snapshots": list(info.snapshots),
        "prices_per_1m": {
            "input": info.input_price,
            "cached_input": info.cached_input_price,
            "output": info.output_price,
            "batch_input": info.batch_input_price,
            "batch_output": info.batch_output_price,
        },
    }


@click.group("models", invoke_without_command=True)
@click.pass_context
def models_command(ctx: click.Context) -> None:
    """The model registry: context, max output, prices (USD per 1M tokens), encoding.

    \b
    Examples:
      tokman models list --family gpt-4.1
      tokman models list --provider azure --reasoning --json
      tokman models show gpt-4o-2024-08-06
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_command)


@models_command.command("list")
@click.option("--family", help="e.g. gpt-4o, gpt-4.1, o3.")
@click.option("--provider", help="openai or azure.")
@click.option("--kind", help="chat, embeddings, ...")
@click.option("--reasoning/--no-reasoning", default=None, help="Only reasoning models, or none.")
@click.option("-e", "--encoding", help="e.g. o200k_base.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(
    family: str | None = None,
    provider: str | None = None,
    kind: str | None = None,
    reasoning: bool | None = None,
    encoding: str | None = None,
    as_json: bool = False,
) -> None:
    """Known models, filtered."""
    from tokman import models

    with cli_errors(_FILTER_FLAGS):
        found = models.list(
            family=family, provider=provider, kind=kind, reasoning=reasoning, encoding=encoding
        )
    if as_json:
        echo_json([_as_json(m) for m in found])
        return
    print_table(
        ["model", "context", "max output", "input", "cached", "output", "encoding"],
        [
            [
                m.name,
                f"{m.context_window:,}",
                "-" if m.max_output_tokens is None else f"{m.max_output_tokens:,}",
                _per_million(m.input_price),
                _per_million(m.cached_input_price),
                _per_million(m.output_price),
                m.encoding,
            ]
            for m in found
        ],
        title=f"{len(found)} models (prices: USD per 1M tokens, today, OpenAI API)",
    )


@models_command.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def show_command(name: str, as_json: bool) -> None:
    """Everything known about NAME (a model, snapshot, alias, ft: name or deployment)."""
    from tokman import models

    with cli_errors(usage=True):
        info = models.get(name)
    data = _as_json(info)
    if as_json:
        echo_json(data)
        return
    prices = data.pop("prices_per_1m")
    rows = [
        [
            key,
            ", ".join(v)
            if isinstance(v, list)
            else f"{v:,}"
            if isinstance(v, int) and not isinstance(v, bool)
            else str(v),
        ]
        for key, v in data.items()
    ]
    rows += [[f"{key} (USD per 1M)", _per_million(v)] for key, v in prices.items()]
    print_table(["field", "value"], rows, title=info.name)
