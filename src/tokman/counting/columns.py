"""Count a text column: a ``pyarrow`` string array or a ``pandas.Series``, into int64 counts.

Data pipelines hold corpora as columns (Parquet, Ray Data, pandas), not lists. An Arrow column
(and an Arrow-backed pandas ``str`` column, pandas' default) is cut into compact slices that
workers decode themselves, and the counts are written straight into an int64 buffer; no
Python list of the column's strings or counts is built in this process. pyarrow and pandas
are imported only when such a column is passed (``tokman[arrow]``, ``tokman[pandas]``).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator
from typing import Any

from tokman.counting._pool import resolve_workers
from tokman.counting.batch import BATCH_CHARS, BATCH_TEXTS, iter_counts, text_batches
from tokman.counting.text import resolve_encoding_name
from tokman.errors import InvalidRequestError

__all__ = ["count_column"]

_EXPECTED = (
    "expected a pyarrow string array (string, large_string, string_view; chunked or not) or a "
    "pandas Series of str; for a list use tokman.count_batch()"
)
_NULL_FIX = "a null where a text is expected; fill or drop nulls first (e.g. fill_null(''))"


def count_column(
    column: Any,
    *,
    model: str | None = None,
    encoding: str | None = None,
    workers: int | None = None,
) -> Any:
    """The exact token count of each row of a text column, as the same kind of column.

    A ``pyarrow`` ``Array``/``ChunkedArray`` of strings gives a ``pyarrow.Int64Array``; a
    ``pandas.Series`` gives an int64 ``Series`` with the same index and name (as
    ``Series.str.len()`` does). Each count equals ``tokman.count(row)``; ``workers`` is as for
    :func:`tokman.count_batch` (inside Ray, Dask or Spark tasks pass ``workers=1``: the engine
    already runs one task per core).

    >>> import pyarrow as pa
    >>> count_column(pa.array(["hello world", "<|endoftext|>"]), model="gpt-4o").to_pylist()
    [2, 7]

    Raises:
        InvalidRequestError: ``column`` is not a string column; ``column[i]`` is null, not a
            ``str`` or holds a lone surrogate; bad ``workers``/``model``/``encoding``.
        UnknownModelError: the model is unknown.
    """
    name = resolve_encoding_name(model, encoding)
    n_workers = resolve_workers(workers)
    if _is_arrow(column):
        return _count_arrow(column, name, n_workers)
    if _is_pandas(column):
        return _count_series(column, name, n_workers)
    raise InvalidRequestError("column", column, _EXPECTED)


def _is_arrow(column: object) -> bool:
    pa = sys.modules.get("pyarrow")  # not imported yet: cannot be an Arrow array
    return pa is not None and isinstance(column, (pa.Array, pa.ChunkedArray))


def _is_pandas(column: object) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(column, pd.Series)


def _int64(counts: array[int]) -> Any:
    import pyarrow as pa

    return pa.Array.from_buffers(pa.int64(), len(counts), [None, pa.py_buffer(counts)])


def _count_arrow(column: Any, name: str, workers: int) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    kind = column.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or _is_view(kind)):
        raise InvalidRequestError("column", f"<pyarrow column of {kind}>", _EXPECTED)
    if column.null_count:
        raise InvalidRequestError(f"column[{pc.index(column.is_null(), True).as_py()}]", None,
                                  _NULL_FIX)  # fmt: skip
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    counts: array[int] = array("q")
    counts.extend(iter_counts(name, _arrow_batches(chunks), workers, "column"))
    return _int64(counts)


def _is_view(kind: Any) -> bool:
    import pyarrow as pa

    check = getattr(pa.types, "is_string_view", None)  # pyarrow >= 16
    return bool(check is not None and check(kind))


def _arrow_batches(chunks: list[Any]) -> Iterator[Any]:
    """Slices of about ``BATCH_CHARS`` bytes, each compacted so it pickles only its rows."""
    import pyarrow as pa

    for chunk in chunks:
        rows = len(chunk)
        if not rows:
            continue
        step = max(1, min(BATCH_TEXTS, BATCH_CHARS * rows // max(chunk.nbytes, 1)))
        for start in range(0, rows, step):
            yield pa.concat_arrays([chunk.slice(start, step)])


def _count_series(series: Any, name: str, workers: int) -> Any:
    import numpy as np
    import pandas as pd

    dtype = series.dtype
    counts: array[int] = array("q")
    if _arrow_backed(dtype):
        import pyarrow as pa

        values = _count_arrow(pa.array(series), name, workers).to_numpy()
    elif dtype == np.dtype(object) or isinstance(dtype, pd.StringDtype):
        counts.extend(
            iter_counts(name, text_batches(series.to_numpy(dtype=object), "column"), workers,
                        "column")
        )  # fmt: skip
        values = np.frombuffer(counts, dtype=np.int64)
    else:
        raise InvalidRequestError("column", f"<pandas Series of {dtype}>", _EXPECTED)
    return pd.Series(values, index=series.index, name=series.name, dtype=np.int64)


def _arrow_backed(dtype: Any) -> bool:
    import pandas as pd

    if isinstance(dtype, pd.StringDtype):
        return bool(dtype.storage == "pyarrow")
    arrow_dtype = getattr(pd, "ArrowDtype", None)
    return bool(arrow_dtype is not None and isinstance(dtype, arrow_dtype))
