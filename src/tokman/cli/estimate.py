"""``tokman estimate FILE.jsonl``: a Batch input file's tokens, cost range and refused lines;
with ``--fine-tune``, a chat fine-tuning dataset's format checks, token distribution and
billed training tokens.

The work is ``tokman.files.estimate_batch`` / ``check_fine_tune``; this module prints their
result and turns ``--fail-over N`` into exit 1 for CI gates (more than N flagged lines).
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import click

from tokman.cli._errors import USAGE, CliError, cli_errors
from tokman.cli._output import echo_json, print_table
from tokman.cli._progress import progress_bar

__all__ = ["estimate_command"]

_EXAMPLES = """
\b
Examples:
  tokman estimate batch_input.jsonl                    # models from each body.model
  tokman estimate azure_batch.jsonl --model gpt-4o --deployment-type GlobalBatch
  tokman estimate train.jsonl --fine-tune --model gpt-4o-mini --epochs 3
  tokman estimate batch_input.jsonl --json --fail-over 0   # CI: fail on any flagged line
"""


def _usd(value: Any) -> str:
    return "n/a" if value is None else f"${value:,f}"


def _first_line(message: str) -> str:
    return message.splitlines()[0] if message else message


def _batch(
    path: str, model: str | None, at: datetime | None, dtype: str | None, as_json: bool
) -> int:
    from tokman.files import estimate_batch

    with (
        cli_errors({"deployment_type": "--deployment-type"}),
        progress_bar(os.path.getsize(path), "estimating") as advance,
    ):
        result = estimate_batch(path, model=model, at=at, deployment_type=dtype, progress=advance)
    if as_json:
        echo_json(
            {
                "path": result.path,
                "lines": result.lines,
                "requests": len(result.requests),
                "prompt_tokens": result.prompt_tokens,
                "max_completion_tokens": result.max_completion_tokens,
                "cost_usd": {
                    "batch": {"low": str(result.batch_low), "high": str(result.batch_high)},
                    "standard": {
                        "low": str(result.standard_low),
                        "high": str(result.standard_high),
                    },
                },
                "flagged_lines": list(result.flagged_lines),
                "problems": [vars(p) for p in result.problems],
                "per_request": [
                    {
                        **vars(r),
                        **{
                            k: None if v is None else str(v)
                            for k, v in vars(r).items()
                            if k.endswith(("_low", "_high"))
                        },
                    }
                    for r in result.requests
                ],
            }
        )
    else:
        print_table(
            ["", "value"],
            [
                ["lines", f"{result.lines:,}"],
                ["requests counted", f"{len(result.requests):,}"],
                ["prompt tokens", f"{result.prompt_tokens:,}"],
                ["max completion tokens", f"{result.max_completion_tokens:,}"],
                ["cost at batch prices", f"{_usd(result.batch_low)} - {_usd(result.batch_high)}"],
                [
                    "cost at standard prices",
                    f"{_usd(result.standard_low)} - {_usd(result.standard_high)}",
                ],
                ["flagged lines", f"{len(result.flagged_lines):,}"],
            ],
            title=f"Batch input {path}",
        )
        if result.problems:
            print_table(
                ["line", "problem", "custom_id", "details"],
                [
                    [str(p.line), p.kind, p.custom_id or "", _first_line(p.message)]
                    for p in result.problems
                ],
                left=4,
            )
    return len(result.flagged_lines)


def _fine_tune(path: str, model: str | None, epochs: int, as_json: bool) -> int:
    from tokman.files import check_fine_tune

    if model is None:
        raise CliError("--fine-tune needs --model (the base model, e.g. gpt-4o-mini)", USAGE)
    from tokman.models import get

    with cli_errors(usage=True):  # an unknown --model is a usage mistake: exit 2
        get(model)
    with (
        cli_errors({"epochs": "--epochs"}),
        progress_bar(os.path.getsize(path), "checking") as advance,
    ):
        report = check_fine_tune(path, model=model, epochs=epochs, progress=advance)
    dist = report.distribution()
    if as_json:
        echo_json(
            {
                "path": report.path,
                "model": report.model,
                "examples": report.examples,
                "context_window": report.context_window,
                "tokens_per_example": dist,
                "epochs": report.epochs,
                "billed_tokens_per_epoch": report.billed_tokens_per_epoch,
                "billed_tokens": report.billed_tokens,
                "cost_usd": None if report.cost is None else str(report.cost),
                "notes": list(report.notes),
                "flagged_lines": list(report.flagged_lines),
                "problems": [vars(p) for p in report.problems],
            }
        )
    else:
        rows = [
            ["examples", f"{report.examples:,}"],
            *([[f"tokens per example ({k})", f"{v:,}"] for k, v in dist.items()]),
            ["billed tokens per epoch", f"{report.billed_tokens_per_epoch:,}"],
            [f"billed tokens ({report.epochs} epochs)", f"{report.billed_tokens:,}"],
            ["training cost", "n/a" if report.cost is None else _usd(report.cost)],
            ["flagged lines", f"{len(report.flagged_lines):,}"],
        ]
        print_table(["", "value"], rows, title=f"Fine-tuning data {path} for {report.model}")
        for note in report.notes:
            click.echo(f"note: {note}", err=True)
        if report.problems:
            print_table(
                ["line", "problem", "details"],
                [[str(p.line), p.kind, _first_line(p.message)] for p in report.problems],
                left=3,
            )
    return len(report.flagged_lines)


@click.command("estimate", epilog=_EXAMPLES)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--fine-tune", is_flag=True, help="FILE is a chat fine-tuning dataset.")
@click.option(
    "-m",
    "--model",
    help="Price every request as this model/deployment (batch), or the base model to fine-tune.",
)
@click.option(
    "--epochs",
    type=click.IntRange(1, 50),
    default=3,
    show_default=True,
    help="Training passes (--fine-tune).",
)
@click.option("--at", type=click.DateTime(["%Y-%m-%d"]), help="Prices of this date (UTC).")
@click.option("--deployment-type", help="Azure deployment type, e.g. GlobalBatch.")
@click.option(
    "--fail-over",
    type=click.IntRange(min=0),
    metavar="N",
    help="Exit 1 when more than N lines are flagged (CI gate).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def estimate_command(
    file: str,
    fine_tune: bool,
    model: str | None,
    epochs: int,
    at: datetime | None,
    deployment_type: str | None,
    fail_over: int | None,
    as_json: bool,
) -> None:
    """Tokens, cost range and problems of a Batch API input file (or --fine-tune dataset)."""
    if fine_tune:
        flagged = _fine_tune(file, model, epochs, as_json)
    else:
        flagged = _batch(file, model, at, deployment_type, as_json)
    if fail_over is not None and flagged > fail_over:
        click.echo(f"Error: {flagged:,} flagged lines, over --fail-over {fail_over:,}", err=True)
        raise SystemExit(1)
