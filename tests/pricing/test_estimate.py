"""estimate_cost: a cost range before sending, from count_prompt and the output limit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tokman import count_prompt, models
from tokman.errors import InvalidRequestError
from tokman.pricing import estimate_cost

HELLO = [{"role": "user", "content": "hello"}]


def test_range_from_max_completion_tokens() -> None:
    """min = prompt at input price; max adds max_completion_tokens at output price."""
    est = estimate_cost(model="gpt-4o", messages=HELLO, max_completion_tokens=100, at="2025-06-01")
    assert est.prompt_tokens == count_prompt(model="gpt-4o", messages=HELLO) == 8
    assert (est.max_output_tokens, est.output_limit_from) == (100, "max_completion_tokens")
    assert est.minimum == Decimal("0.00002")  # 8 x $2.50 / 1M
    assert est.maximum == Decimal("0.00102")  # + 100 x $10 / 1M


def test_model_maximum_when_the_request_sets_no_limit() -> None:
    """Without max_tokens the output bound is the model's max output (16,384 for gpt-4o)."""
    est = estimate_cost(model="gpt-4o", messages=HELLO, at="2025-06-01")
    assert (est.max_output_tokens, est.output_limit_from) == (16384, "model maximum output")
    assert est.maximum == Decimal("0.16386")
    legacy = estimate_cost(model="gpt-3.5-turbo", messages=HELLO, max_tokens=10, at="2025-01-01")
    assert legacy.output_limit_from == "max_tokens"


def test_deployment_name_estimates_with_its_model_and_type() -> None:
    """A deployment name is framed as its model and priced at its deployment type."""
    models.register_deployment("chat-prod", model="gpt-4o-2024-11-20", deployment_type="datazone")
    est = estimate_cost(model="chat-prod", messages=HELLO, max_completion_tokens=1, at="2025-06-01")
    assert est.model == "gpt-4o-2024-11-20"
    assert est.minimum == Decimal("0.000022")  # 8 x $2.75 / 1M


def test_embeddings_request() -> None:
    """An embeddings request is priced from its input texts (no output)."""
    est = estimate_cost(
        model="text-embedding-3-small", input=["hello world", "hi"], at="2025-01-01"
    )
    assert est.prompt_tokens == 3
    assert est.minimum == est.maximum == Decimal("0.00000006")


@pytest.mark.parametrize("bad", [0, -5, 1.5, True])
def test_bad_output_limit(bad: object) -> None:
    """A non-positive or non-int output limit names the field."""
    with pytest.raises(InvalidRequestError, match="max_completion_tokens"):
        estimate_cost(model="gpt-4o", messages=HELLO, max_completion_tokens=bad)


def test_responses_form_is_estimated() -> None:
    """Issue 9 #3: input=/instructions=/max_output_tokens= (was 'messages=None')."""
    est = estimate_cost(model="gpt-4o", instructions="Be brief.", input="hello",
                        max_output_tokens=100, at="2025-06-01")  # fmt: skip
    assert est.prompt_tokens == count_prompt(model="gpt-4o", instructions="Be brief.",
                                             input="hello")  # fmt: skip
    assert (est.max_output_tokens, est.output_limit_from) == (100, "max_output_tokens")


@pytest.mark.parametrize(
    ("request_kwargs", "field"),
    [
        ({"messages": HELLO, "max_tokens": 10, "max_completion_tokens": 20}, "max_tokens"),
        ({"messages": HELLO, "max_output_tokens": 10}, "max_output_tokens"),
        ({"input": "hi", "max_tokens": 10}, "max_tokens"),
    ],
)
def test_an_ambiguous_output_limit_raises(request_kwargs: dict[str, object], field: str) -> None:
    """Two limits, or one named for the other API: the bound would be a guess, so it raises."""
    with pytest.raises(InvalidRequestError) as info:
        estimate_cost(model="gpt-4o", **request_kwargs)
    assert info.value.field == field


def test_embeddings_token_ids_and_bad_inputs() -> None:
    """Pre-tokenized input costs its length; unreadable input raises naming the item."""
    ids = estimate_cost(model="text-embedding-3-small", input=[[1, 2, 3], [4]], at="2025-01-01")
    assert ids.prompt_tokens == 4
    for bad, field in (([], "input"), (["ok", ""], "input[1]"), (["ok", "\ud800"], "input[1]")):
        with pytest.raises(InvalidRequestError) as info:
            estimate_cost(model="text-embedding-3-small", input=bad)
        assert info.value.field == field


def test_unknown_arguments_are_ignored_like_count_prompt() -> None:
    """A typo does not change the estimate (check_request reports it)."""
    plain = estimate_cost(model="gpt-4o", messages=HELLO, at="2025-06-01")
    typo = estimate_cost(model="gpt-4o", messages=HELLO, temprature=0.1, at="2025-06-01")
    assert plain == typo


def test_n_completions_are_each_billed_in_the_maximum() -> None:
    """n=3 can produce three completions of max_completion_tokens each; the prompt once."""
    messages = [{"role": "user", "content": "hello"}]
    one = estimate_cost(model="gpt-4o", at="2025-06-01", messages=messages,
                               max_completion_tokens=100)  # fmt: skip
    three = estimate_cost(model="gpt-4o", at="2025-06-01", messages=messages,
                                 max_completion_tokens=100, n=3)  # fmt: skip
    assert three.completions == 3 and three.minimum == one.minimum
    assert three.maximum - three.minimum == 3 * (one.maximum - one.minimum)
