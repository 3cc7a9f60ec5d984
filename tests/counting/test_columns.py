"""count_column: Arrow and pandas text columns into int64 counts equal to count() per row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import tokman
from tokman.counting import batch
from tokman.errors import InvalidRequestError

DOCS = ["hello world", "<|endoftext|>", "", "中文テキスト。", "def f(x):\n    return x\n", "🙂" * 9]
EXPECTED = [tokman.count(d, model="gpt-4o") for d in DOCS]


@pytest.mark.parametrize(
    "column",
    [
        pa.array(DOCS),
        pa.array(DOCS, type=pa.large_string()),
        pa.array(DOCS, type=pa.string_view()),
        pa.array(DOCS).dictionary_encode(),
        pa.chunked_array([DOCS[:2], [], DOCS[2:]]),
    ],
    ids=["string", "large_string", "string_view", "dictionary", "chunked"],
)
def test_arrow_string_columns_give_an_int64_array(column: object) -> None:
    """Every Arrow string layout gives an int64 array of count() per row."""
    counts = tokman.count_column(column, model="gpt-4o")
    assert isinstance(counts, pa.Int64Array)
    assert counts.to_pylist() == EXPECTED


@pytest.mark.parametrize(
    "series",
    [
        pd.Series(DOCS, index=list("abcdef"), name="text"),
        pd.Series(DOCS, index=list("abcdef"), name="text", dtype=object),
        pd.Series(DOCS, index=list("abcdef"), name="text", dtype=pd.ArrowDtype(pa.string())),
        pd.Series(DOCS, index=list("abcdef"), name="text", dtype=pd.StringDtype("python")),
    ],
    ids=["default str", "object", "ArrowDtype", "python StringDtype"],
)
def test_pandas_series_keep_index_and_name(series: pd.Series) -> None:
    """A Series gives an int64 Series with its index and name, like Series.str.len()."""
    counts = tokman.count_column(series, model="gpt-4o")
    assert counts.dtype == np.int64
    assert counts.index.equals(series.index) and counts.name == "text"
    assert counts.tolist() == EXPECTED


def test_a_large_arrow_column_counts_on_workers_like_count_batch() -> None:
    """Past the in-process look-ahead, Arrow slices go to workers; counts stay exact."""
    docs = [f"row {i} " + "some words and 数字 " * (i % 50) for i in range(60_000)]
    column = pa.chunked_array([docs[:25_000], docs[25_000:]])
    assert column.nbytes > batch.INLINE_CHARS
    counts = tokman.count_column(column, encoding="cl100k_base", workers=2)
    assert counts.to_pylist() == tokman.count_batch(docs, encoding="cl100k_base", workers=1)


@pytest.mark.parametrize(
    "column",
    [pa.array(["a", None, "b"]), pd.Series(["a", None, "b"], dtype=object),
     pd.Series(["a", None, "b"]), pd.Series(["a", 3, "b"], dtype=object)],
    ids=["arrow null", "object None", "str NaN", "object int"],
)  # fmt: skip
def test_a_null_or_non_text_row_is_named(column: object) -> None:
    """A null (or a number) in a text column is refused by its row, never counted as 0."""
    with pytest.raises(InvalidRequestError) as info:
        tokman.count_column(column, model="gpt-4o")
    assert info.value.field == "column[1]"


@pytest.mark.parametrize(
    "column",
    [pa.array([1, 2]), pa.array([b"x"]), pd.Series([1.5]), ["a", "b"], "text", None],
    ids=["arrow int", "arrow binary", "float Series", "list", "str", "None"],
)
def test_what_is_not_a_text_column_is_refused(column: object) -> None:
    """Non-text columns and plain lists are refused by name (count_batch takes lists)."""
    with pytest.raises(InvalidRequestError) as info:
        tokman.count_column(column, model="gpt-4o")
    assert info.value.field == "column"


def test_empty_columns_give_empty_counts() -> None:
    """No rows, no counts, of the right type."""
    assert tokman.count_column(pa.array([], pa.string()), model="gpt-4o").to_pylist() == []
    assert tokman.count_column(pd.Series([], dtype=object), model="gpt-4o").dtype == np.int64
