"""What a Batch API input file will cost, and which of its lines the upload would refuse.

Each line (``{"custom_id", "method", "url", "body"}``) is read once: the body is checked and
its prompt counted by ``check_request`` (so the over-context finding and the count are the same
pass), and priced at the model's batch and standard prices from prompt-only (``low``) to every
completion running to its limit (``high``). Problems are collected with their line numbers
instead of stopping at the first, because users fix a whole file at once.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from tokman.errors import TokmanError
from tokman.files._jsonl import Progress, iter_jsonl
from tokman.pricing import rates_for
from tokman.requests import normalize_request
from tokman.validation import check_request

__all__ = ["BatchEstimate", "BatchProblem", "BatchRequest", "estimate_batch"]

BatchProblemKind = Literal[
    "malformed", "over_context", "invalid", "duplicate_custom_id", "unpriced"
]

#: The endpoints a Batch file may name (OpenAI's ``/v1/...`` and Azure's unversioned paths).
BATCH_URLS = frozenset(
    {
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/embeddings",
        "/v1/completions",
        "/chat/completions",
        "/responses",
        "/embeddings",
    }
)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class BatchProblem:
    """A line the Batch API would refuse or that will fail: its number, kind and the fix."""

    line: int
    kind: BatchProblemKind
    message: str
    custom_id: str | None = None


@dataclass(frozen=True)
class BatchRequest:
    """One counted request: prompt tokens, the completion bound and its cost range."""

    line: int
    custom_id: str
    model: str
    prompt_tokens: int
    max_completion_tokens: int
    batch_low: Decimal | None
    batch_high: Decimal | None
    standard_low: Decimal | None
    standard_high: Decimal | None


@dataclass(frozen=True)
class BatchEstimate:
    """The whole file: every counted request, every problem, and the totals."""

    path: str
    lines: int
    requests: tuple[BatchRequest, ...]
    problems: tuple[BatchProblem, ...]

    @property
    def prompt_tokens(self) -> int:
        return sum(r.prompt_tokens for r in self.requests)

    @property
    def max_completion_tokens(self) -> int:
        return sum(r.max_completion_tokens for r in self.requests)

    def _sum(self, name: str) -> Decimal:
        return sum((getattr(r, name) or _ZERO for r in self.requests), _ZERO)

    @property
    def batch_low(self) -> Decimal:
        """USD at batch prices with no output (unpriced requests count 0, and are problems)."""
        return self._sum("batch_low")

    @property
    def batch_high(self) -> Decimal:
        """USD at batch prices with every completion at its limit."""
        return self._sum("batch_high")

    @property
    def standard_low(self) -> Decimal:
        return self._sum("standard_low")

    @property
    def standard_high(self) -> Decimal:
        return self._sum("standard_high")

    @property
    def flagged_lines(self) -> tuple[int, ...]:
        """The line numbers with at least one problem, in order."""
        return tuple(sorted({p.line for p in self.problems}))


def _envelope(value: object) -> tuple[str, Mapping[str, Any]] | str:
    """``(custom_id, body)`` of a Batch line, or what is wrong with its envelope."""
    if not isinstance(value, Mapping):
        return f"expected a JSON object, got {type(value).__name__}"
    custom_id = value.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return "custom_id is missing; every line needs a unique string custom_id"
    if value.get("method", "POST") != "POST":
        return f"method={value.get('method')!r}: the Batch API takes only POST"
    url = value.get("url")
    if url not in BATCH_URLS:
        return f"url={url!r} is not a Batch endpoint; use one of {', '.join(sorted(BATCH_URLS))}"
    body = value.get("body")
    if not isinstance(body, Mapping):
        return "body is missing or not an object: it holds the request's create() arguments"
    return custom_id, body


def _price(
    model: str, at: Any, deployment_type: str | None, batch: bool, prompt: int, completion: int
) -> tuple[Decimal, Decimal]:
    rates = rates_for(model, at=at, batch=batch, deployment_type=deployment_type)
    return rates.total(prompt, 0, 0), rates.total(prompt, 0, completion)


def _read(
    number: int,
    custom_id: str,
    body: Mapping[str, Any],
    model: str | None,
    at: Any,
    deployment_type: str | None,
    problems: list[BatchProblem],
) -> BatchRequest | None:
    request = dict(body)
    if model is not None:
        request["model"] = model
    name = request.get("model")
    if not isinstance(name, str) or not name:
        problems.append(
            BatchProblem(
                number,
                "malformed",
                "body.model is missing: name the model or deployment of this request",
                custom_id,
            )
        )
        return None
    check = check_request(**request)
    for problem in check.problems:
        kind: BatchProblemKind = (
            "over_context" if problem.kind in ("context_window", "max_output") else "invalid"
        )
        problems.append(BatchProblem(number, kind, problem.message, custom_id))
    if check.input_tokens is not None:
        prompt = sum(check.input_tokens)
    elif check.prompt is not None:
        prompt = check.prompt.total
    else:
        return None
    limit = check.completion_tokens
    if limit is None:
        limit = check.max_output_tokens or 0
    completion = 0 if check.api == "embeddings" else limit * normalize_request(request).copies
    prices: list[Decimal | None] = []
    for batch in (True, False):
        try:
            prices.extend(_price(name, at, deployment_type, batch, prompt, completion))
        except TokmanError as exc:  # e.g. no Batch price recorded: the other range still shows
            problems.append(BatchProblem(number, "unpriced", str(exc), custom_id))
            prices.extend((None, None))
    return BatchRequest(number, custom_id, name, prompt, completion, *prices)


def estimate_batch(
    path: str | os.PathLike[str],
    *,
    model: str | None = None,
    at: _dt.date | _dt.datetime | str | None = None,
    deployment_type: str | None = None,
    progress: Progress | None = None,
) -> BatchEstimate:
    """Count, check and price every request of a Batch API input file, line by line.

    Args:
        path: the ``.jsonl`` input file.
        model: price every request as this model or Azure deployment instead of its
            ``body.model`` (an Azure Batch file names deployments).
        at: the date of the prices (default today, UTC).
        deployment_type: the Azure deployment type (``GlobalBatch``, ``DataZoneBatch``, ...).
        progress: called with the bytes read, for a progress bar.

    Raises:
        InvalidRequestError: the file cannot be read (field ``path``).
    """
    requests: list[BatchRequest] = []
    problems: list[BatchProblem] = []
    seen: dict[str, int] = {}
    lines = 0
    for line in iter_jsonl(path, progress):
        lines += 1
        if line.error is not None:
            problems.append(BatchProblem(line.number, "malformed", line.error))
            continue
        envelope = _envelope(line.value)
        if isinstance(envelope, str):
            problems.append(BatchProblem(line.number, "malformed", envelope))
            continue
        custom_id, body = envelope
        first = seen.setdefault(custom_id, line.number)
        if first != line.number:
            problems.append(
                BatchProblem(
                    line.number,
                    "duplicate_custom_id",
                    f"custom_id {custom_id!r} is already used on line {first}; "
                    "the Batch API refuses a file with duplicate custom_ids",
                    custom_id,
                )
            )
        found = _read(line.number, custom_id, body, model, at, deployment_type, problems)
        if found is not None:
            requests.append(found)
    return BatchEstimate(str(path), lines, tuple(requests), tuple(problems))
