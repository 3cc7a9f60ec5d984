"""Files as the API will receive them: documents to count, Batch input files, fine-tuning data.

Each reader goes line by line (constant memory), reports every problem with its line number
instead of stopping at the first, and uses the one counter, validator and price table of the
layers below; ``tokman count``, ``tokman estimate`` and ``tokman estimate --fine-tune`` are
thin shells over these functions.
"""

from __future__ import annotations

from tokman.files.batch import BatchEstimate, BatchProblem, BatchRequest, estimate_batch
from tokman.files.documents import (
    DocumentCount,
    count_document,
    may_hold_requests,
    request_body,
)
from tokman.files.finetune import FineTuneProblem, FineTuneReport, check_fine_tune

__all__ = [
    "BatchEstimate",
    "BatchProblem",
    "BatchRequest",
    "DocumentCount",
    "FineTuneProblem",
    "FineTuneReport",
    "check_fine_tune",
    "count_document",
    "estimate_batch",
    "may_hold_requests",
    "request_body",
]
