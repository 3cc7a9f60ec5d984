"""Exact token counts of a Ray Data dataset (the ``tokman[ray]`` extra).

Use (after ``ray.init(...)``, or let Ray Data start a local instance)::

    ds = ray.data.read_parquet("s3://bucket/corpus/")
    tokman.ray.count_dataset(ds, "text", model="gpt-4o").write_parquet("out/")
    tokman.ray.summarize_dataset(ds, "text", model="gpt-4o").tokens
    tokman.ray.count_texts(["hello world", ...], model="gpt-4o")  # texts from this process

The counting runs through ``Dataset.map_batches`` with a callable class
(:class:`~tokman.ray._counter.TokenCounter`), so each actor loads the vocabulary once, on
``pyarrow`` batches, with ``tokman.count_column`` -- the same code and the same counts as
``tokman.count_batch`` on one machine. Nothing here starts or configures Ray: the caller's
``ray.init(...)`` (or Ray Data's automatic local start) decides where it runs, so a cluster
address works unchanged. Arguments are checked before any Ray work starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tokman.counting.batch import check_texts, text_batches
from tokman.counting.text import resolve_encoding_name
from tokman.errors import InvalidRequestError, MissingDependencyError
from tokman.ray._counter import TokenCounter

__all__ = ["TokenCounter", "TokenSummary", "count_dataset", "count_texts", "summarize_dataset"]


@dataclass(frozen=True)
class TokenSummary:
    """Totals over a dataset's text column.

    Attributes:
        documents: rows counted.
        tokens: the sum of their token counts.
        max_tokens: the largest count of one row (0 for an empty dataset).
    """

    documents: int
    tokens: int
    max_tokens: int

    @property
    def mean_tokens(self) -> float:
        """Tokens per document (0.0 for an empty dataset)."""
        return self.tokens / self.documents if self.documents else 0.0


def _ray_data() -> Any:
    try:
        import ray.data
    except ImportError as exc:
        raise MissingDependencyError(
            "ray", extra="ray", feature="Counting a Ray dataset (tokman.ray)"
        ) from exc
    return ray.data


def _name(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(field, value, "expected a column name (a non-empty str)")
    return value


def _concurrency(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(
            "concurrency", value, "expected None (one actor per CPU) or an int >= 1 actors"
        )
    return value


def _cluster_cpus() -> int:
    """The CPUs of the cluster Ray is connected to (at least 1): one actor each by default."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]


def _counted(
    ds: object,
    column: object,
    model: str | None,
    encoding: str | None,
    output_column: object,
    concurrency: object,
    keep: bool,
) -> Any:
    data = _ray_data()
    if not isinstance(ds, data.Dataset):
        raise InvalidRequestError("ds", ds, "expected a ray.data.Dataset (ray.data.read_*())")
    name = resolve_encoding_name(model, encoding)
    text, out = _name("column", column), _name("output_column", output_column)
    if keep and out == text:
        raise InvalidRequestError(
            "output_column", out, f"must differ from column={text!r} (the texts are kept)"
        )
    actors = _concurrency(concurrency) or _cluster_cpus()
    return ds.map_batches(
        TokenCounter,
        fn_constructor_kwargs={
            "column": text, "encoding": name, "output_column": out, "keep": keep,
        },
        batch_format="pyarrow",
        compute=data.ActorPoolStrategy(size=actors),
        num_cpus=1,
    )  # fmt: skip


def count_dataset(
    ds: Any,
    column: str = "text",
    *,
    model: str | None = None,
    encoding: str | None = None,
    output_column: str = "n_tokens",
    concurrency: int | None = None,
) -> Any:
    """``ds`` with an int64 ``output_column``: the exact token count of each row's ``column``.

    Lazy, like every Ray Data transform: nothing runs until the result is consumed
    (``write_parquet``, ``iter_batches``, ``sum``). ``concurrency`` actors count (default:
    one per CPU in the cluster), each loading the vocabulary once. A null or non-text row
    fails the job: Ray raises its ``UserCodeException`` caused by tokman's
    ``InvalidRequestError`` naming the column (fill or drop nulls first).

    Raises:
        InvalidRequestError: ``ds`` is not a ``ray.data.Dataset``; a column name is empty or
            not a str, or both are the same; bad ``concurrency``/``model``/``encoding``.
        UnknownModelError: the model is unknown.
        MissingDependencyError: Ray is not installed (``pip install "tokman[ray]"``).
    """
    return _counted(ds, column, model, encoding, output_column, concurrency, keep=True)


def summarize_dataset(
    ds: Any,
    column: str = "text",
    *,
    model: str | None = None,
    encoding: str | None = None,
    concurrency: int | None = None,
) -> TokenSummary:
    """Count ``ds``'s ``column`` and return the totals (runs the job; one pass).

    Only the counts leave the actors, not the texts, so the summary of a corpus costs the
    counting and little else.

    Raises:
        The errors of :func:`count_dataset`.
    """
    counts = _counted(ds, column, model, encoding, "n_tokens", concurrency, keep=False)
    from ray.data.aggregate import Count, Max, Sum

    found = counts.aggregate(
        Count(alias_name="documents"),
        Sum("n_tokens", alias_name="tokens"),
        Max("n_tokens", alias_name="max_tokens"),
    )
    return TokenSummary(
        documents=int(found.get("documents") or 0),
        tokens=int(found.get("tokens") or 0),
        max_tokens=int(found.get("max_tokens") or 0),
    )


def count_texts(
    texts: Iterable[str],
    *,
    model: str | None = None,
    encoding: str | None = None,
    concurrency: int | None = None,
) -> list[int]:
    """``tokman.count_batch(texts)`` counted on Ray: the exact count of each text, in order.

    The texts are taken from this process as they are (never re-read through
    ``ray.data.read_text``, which drops the newlines that are tokens), in blocks of the size
    ``count_batch`` hands to a worker, and counted by :func:`count_dataset`'s actors
    (``concurrency``, default one per cluster CPU, never more than there are blocks); only
    the counts come back. They are all held here first (one Arrow table), so for a corpus
    larger than this machine's memory read it as a dataset and use :func:`count_dataset`.

    Raises:
        InvalidRequestError: ``texts`` is not an iterable of texts, or ``texts[i]`` is not a
            ``str``; bad ``concurrency``/``model``/``encoding``.
        UnknownModelError: the model is unknown.
        MissingDependencyError: Ray is not installed (``pip install "tokman[ray]"``).
    """
    data = _ray_data()
    import pyarrow as pa

    name = resolve_encoding_name(model, encoding)
    _concurrency(concurrency)
    check_texts("texts", texts)
    blocks: list[Any] = []
    start = 0
    for batch in text_batches(texts, "texts"):
        blocks.append(
            pa.table(
                {
                    "i": pa.array(range(start, start + len(batch)), pa.int64()),
                    "text": pa.array(batch, pa.large_string()),
                }
            )
        )
        start += len(batch)
    if not blocks:
        return []
    actors = _concurrency(concurrency) or _cluster_cpus()
    counted = count_dataset(
        data.from_arrow(blocks), "text", encoding=name, concurrency=min(actors, len(blocks))
    ).select_columns(["i", "n_tokens"])
    found = [0] * start
    for part in counted.iter_batches(batch_format="pyarrow", batch_size=None):
        for i, n in zip(
            part.column("i").to_pylist(), part.column("n_tokens").to_pylist(), strict=True
        ):
            found[i] = n
    return found
