"""The tokens of an embeddings request: one count per input, as the API bills them.

A string input is counted with the model's encoding (embeddings requests have no framing);
a pre-tokenized input (a list of token ids) costs its length. Validation checks each count
against the model's input limit and pricing sums them, so both read them from here.
"""

from __future__ import annotations

from tokman.counting.text import count
from tokman.errors import InvalidRequestError
from tokman.requests import NormalizedRequest

__all__ = ["count_inputs"]


def count_inputs(request: NormalizedRequest, *, model: str) -> tuple[int, ...]:
    """The tokens of each input of a normalised embeddings request, in order.

    Raises:
        InvalidRequestError: an input is text that is not valid UTF-8; the field is the
            input's request path (``input[2]``).
    """
    counts: list[int] = []
    for where, item in zip(request.sources, request.inputs, strict=True):
        if not isinstance(item, str):
            counts.append(len(item))
            continue
        try:
            counts.append(count(item, model=model))
        except InvalidRequestError as exc:  # raised for the text itself: name the input
            raise InvalidRequestError(where, exc.value, exc.expected) from exc
    return tuple(counts)
