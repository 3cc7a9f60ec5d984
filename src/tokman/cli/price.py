"""``tokman price``: the cost of token counts, or of a usage JSON on stdin, via ``tokman.cost``."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

from tokman.cli._errors import USAGE, CliError, cli_errors
from tokman.cli._output import echo_json, print_table

__all__ = ["price_command"]

_EXAMPLES = """
\b
Examples:
  tokman price --model gpt-4o --prompt-tokens 12000 --cached-tokens 4096 --completion-tokens 800
  echo '{"prompt_tokens": 100, "completion_tokens": 20}' | tokman price --model gpt-4o-mini
  tokman price --model gpt-4o --prompt-tokens 1000 --batch --json
"""


def _usage_from_stdin() -> tuple[Any, str | None]:
    raw = sys.stdin.buffer.read()
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise CliError(
            "stdin is not a usage JSON; pipe a response's usage (or the response), or pass "
            "--prompt-tokens/--completion-tokens",
            USAGE,
        ) from exc
    model = value.get("model") if isinstance(value, dict) else None
    return value, model if isinstance(model, str) else None


@click.command("price", epilog=_EXAMPLES)
@click.option("-m", "--model", help="Model or deployment (default: the response's model).")
@click.option(
    "--prompt-tokens", type=click.IntRange(min=0), help="Prompt tokens (cached included)."
)
@click.option("--cached-tokens", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--completion-tokens",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Completion tokens (reasoning included).",
)
@click.option("--reasoning-tokens", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--batch", is_flag=True, help="Batch API prices.")
@click.option("--deployment-type", help="Azure deployment type, e.g. DataZoneStandard.")
@click.option("--at", type=click.DateTime(["%Y-%m-%d"]), help="Prices of this date (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def price_command(
    model: str | None,
    prompt_tokens: int | None,
    cached_tokens: int,
    completion_tokens: int,
    reasoning_tokens: int,
    batch: bool,
    deployment_type: str | None,
    at: datetime | None,
    as_json: bool,
) -> None:
    """The cost of a request from its token counts, or from a usage JSON on stdin."""
    from tokman.pricing import cost

    usage: Any
    if prompt_tokens is None:
        usage, found = _usage_from_stdin()
        model = model or found
    else:
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        }
    if model is None:
        raise CliError("pass --model (e.g. --model gpt-4o)", USAGE)
    flags = {"deployment_type": "--deployment-type", "batch": "--batch", "model": "--model"}
    with cli_errors(flags):
        result = cost(usage, model=model, at=at, batch=batch, deployment_type=deployment_type)
    if as_json:
        echo_json(
            {
                "model": result.model,
                "prompt_tokens": result.prompt_tokens,
                "cached_tokens": result.cached_tokens,
                "completion_tokens": result.completion_tokens,
                "reasoning_tokens": result.reasoning_tokens,
                "cost_usd": {
                    "input": str(result.input),
                    "cached_input": str(result.cached_input),
                    "output": str(result.output),
                    "total": str(result.total),
                },
                "price_id": result.price_id,
                "effective": result.effective.isoformat(),
                "batch": result.batch,
                "notes": list(result.notes),
            }
        )
        return
    uncached = result.prompt_tokens - result.cached_tokens
    print_table(
        ["part", "tokens", "USD"],
        [
            ["input", f"{uncached:,}", f"${result.input:,f}"],
            ["cached input", f"{result.cached_tokens:,}", f"${result.cached_input:,f}"],
            ["output", f"{result.completion_tokens:,}", f"${result.output:,f}"],
            [
                "total",
                f"{result.prompt_tokens + result.completion_tokens:,}",
                f"${result.total:,f}",
            ],
        ],
        title=f"{result.model} at {result.price_id} (effective {result.effective})",
        total=True,
    )
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
