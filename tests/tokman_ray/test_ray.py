"""tokman.ray on a local Ray instance: the same counts as count_batch, one vocab per actor."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pyarrow as pa
import pytest
import ray
import ray.data

import tokman
import tokman.ray
from tokman.errors import InvalidRequestError, UnknownModelError

# Ray's own modules warn about Ray's own deprecated settings; tokman's code is held to "error".
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")

WORDS = ["the", " quick", "中文", "テキスト", "🙂", "\n\n", "123", " 's", "<|endoftext|>", "\t"]


def generated_documents(n: int, seed: int = 16) -> list[str]:
    """Documents of 0-200 pieces: prose, CJK, emoji, digits, special-token text."""
    rng = random.Random(seed)
    return ["".join(rng.choices(WORDS, k=rng.randrange(200))) for _ in range(n)]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A 2-CPU Ray instance for this module; usage stats off for it and its processes."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()


@pytest.mark.slow
def test_ray_counts_equal_the_local_counts_on_20000_documents(local_ray: None) -> None:
    """count_dataset gives count_batch's counts row for row; the summary adds them up."""
    docs = generated_documents(20_000)
    local = tokman.count_batch(docs, model="gpt-4o")
    ds = ray.data.from_items([{"id": i, "text": d} for i, d in enumerate(docs)],
                             override_num_blocks=8)  # fmt: skip
    counted = tokman.ray.count_dataset(ds, model="gpt-4o").to_pandas()
    assert list(counted.columns) == ["id", "text", "n_tokens"]
    assert counted.sort_values("id")["n_tokens"].tolist() == local
    summary = tokman.ray.summarize_dataset(ds, model="gpt-4o")
    assert summary == tokman.ray.TokenSummary(len(docs), sum(local), max(local))
    assert summary.mean_tokens == sum(local) / len(docs)


@pytest.mark.slow
def test_count_texts_equals_count_batch_in_order(local_ray: None) -> None:
    """count_texts sends the texts as they are (newlines, CRLF, special-token text) and gives
    count_batch's counts in input order; no text is no job."""
    docs = [*generated_documents(5_000, seed=7), "a\r\n\r\nb", "", "<|endoftext|>\n"]
    assert tokman.ray.count_texts(iter(docs), model="gpt-4o", concurrency=2) == (
        tokman.count_batch(docs, model="gpt-4o")
    )
    assert tokman.ray.count_texts([], encoding="o200k_base") == []
    with pytest.raises(InvalidRequestError, match=r"texts\[1\]"):
        tokman.ray.count_texts(["a", 3], encoding="o200k_base")  # type: ignore[list-item]
    with pytest.raises(InvalidRequestError, match="texts"):
        tokman.ray.count_texts("one text", encoding="o200k_base")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:The minimum number of concurrent actors:UserWarning")
def test_a_null_row_fails_the_job_with_tokmans_error(local_ray: None) -> None:
    """A null text is never counted as 0: the job fails, caused by an error naming the column."""
    table = pa.table({"body": ["a", None, "b", "c"]})
    ds = ray.data.from_arrow(table)
    with pytest.raises(ray.exceptions.RayTaskError) as info:
        tokman.ray.count_dataset(ds, "body", encoding="o200k_base", concurrency=1).materialize()
    # Ray re-raises its own exception with the worker's traceback as text (the cause object
    # stays in the actor), so tokman's error is checked by its message.
    assert "InvalidRequestError: body[1]=None is invalid" in str(info.value)


def test_arguments_are_checked_before_any_ray_work() -> None:
    """Bad arguments fail at the call, naming the parameter, before Ray runs anything."""
    ds = ray.data.range(3)
    cases: list[tuple[dict[str, object], str]] = [
        ({"ds": [1, 2]}, "ds"),
        ({"column": ""}, "column"),
        ({"column": 3}, "column"),
        ({"output_column": "text"}, "output_column"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": True}, "concurrency"),
    ]
    for override, field in cases:
        kwargs: dict[str, object] = {"ds": ds, "model": "gpt-4o", **override}
        with pytest.raises(InvalidRequestError) as info:
            tokman.ray.count_dataset(**kwargs)  # type: ignore[arg-type]
        assert info.value.field == field
    with pytest.raises(UnknownModelError):
        tokman.ray.summarize_dataset(ds, model="no-such-model")


@pytest.mark.slow
def test_the_readme_ray_example_runs_as_written(local_ray: None) -> None:
    """The README's Ray block runs on the test's Ray (its ray.init is then a no-op)."""
    from counting.test_batch import readme_blocks

    code = readme_blocks("Corpus-scale counting")[1]
    code = code.replace("ray.init(num_cpus=2, include_dashboard=False)", "ray.is_initialized()")
    exec(compile(code, "README.md", "exec"), {})
