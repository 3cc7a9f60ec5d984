"""count_batch / iter_count_batch: exactly [count(t) for t in texts], in order, on any iterable."""

from __future__ import annotations

import importlib.util
import itertools
import multiprocessing
import random
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokman
from tokman.counting import _pool, batch
from tokman.errors import InvalidRequestError, UnknownModelError

ENCODINGS = ["o200k_base", "cl100k_base", "o200k_harmony"]


def _corpus_module() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "_corpus.py"
    spec = importlib.util.spec_from_file_location("_bench_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def corpus_documents(min_chars: int) -> list[str]:
    """The benchmark corpora (prose, code, CJK) cut into documents, plus hard cases."""
    docs: list[str] = []
    rng = random.Random(16)
    for text in _corpus_module().corpora(min_chars).values():
        cuts = sorted(rng.sample(range(len(text)), 400))
        docs += [text[a:b] for a, b in itertools.pairwise([0, *cuts, len(text)])]
    docs += ["", " ", "\n\n\t\n", "<|endoftext|>", "🧑‍🤝‍🧑" * 50, "e\u0301" * 30, "\u3000。"]
    rng.shuffle(docs)
    return docs


@pytest.mark.parametrize("name", ENCODINGS)
def test_equals_count_on_the_benchmark_corpora_on_two_workers(name: str) -> None:
    """On ~1.5M characters (more than is counted in-process), every count equals count()."""
    docs = corpus_documents(600_000)
    assert sum(map(len, docs)) > batch.INLINE_CHARS
    expected = [tokman.count(d, encoding=name) for d in docs]
    assert tokman.count_batch(docs, encoding=name, workers=2) == expected
    assert list(tokman.iter_count_batch(iter(docs), encoding=name, workers=2)) == expected


texts = st.lists(
    st.text(max_size=60)
    | st.sampled_from(["", "<|endoftext|>", "<|im_start|>", " \n", "中文", "🙂\u200d🙂", "'s"]),
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(texts=texts, per_batch=st.integers(1, 5), workers=st.sampled_from([1, 2]))
def test_equals_count_on_any_input_and_batching(
    texts: list[str], per_batch: int, workers: int
) -> None:
    """Any texts, cut into any batches, on the pool or in-process: the counts of count()."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(batch, "BATCH_TEXTS", per_batch)
        mp.setattr(batch, "INLINE_CHARS", 0 if workers == 2 else batch.INLINE_CHARS)
        got = tokman.count_batch(texts, model="gpt-4o", workers=workers)
    assert got == [tokman.count(t, model="gpt-4o") for t in texts]


def test_small_inputs_never_start_a_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """An input that ends within the look-ahead is counted in this process."""

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process pool was started for a small input")

    monkeypatch.setattr(_pool, "ProcessPoolExecutor", no_pool)
    monkeypatch.setattr(_pool, "_acquire", no_pool)  # nor a warm one reused
    assert tokman.count_batch(["hello world"] * 1000, model="gpt-4o", workers=2) == [2] * 1000
    assert tokman.count_batch([], model="gpt-4o") == []


def test_a_generator_streams_with_bounded_look_ahead() -> None:
    """The first count arrives after a bounded part of an endless generator was read."""
    read = 0

    def endless() -> Iterator[str]:
        nonlocal read
        for i in itertools.count():
            read += 1
            yield f"document {i} " * 20

    counts = tokman.iter_count_batch(endless(), model="gpt-4o", workers=2)
    first = list(itertools.islice(counts, 10))
    assert first == [tokman.count(f"document {i} " * 20, model="gpt-4o") for i in range(10)]
    bound = batch.INLINE_CHARS // 200 + (2 * 2 + 2) * batch.BATCH_TEXTS
    assert read < bound
    counts.close()  # type: ignore[attr-defined]
    tokman.shutdown_workers()  # the pool stays warm for the next call until told (or idle)
    assert multiprocessing.active_children() == []


def test_counts_keep_input_order_across_batches() -> None:
    """Texts of very different sizes come back in input order, not completion order."""
    docs = ["x " * (50_000 if i % 7 == 0 else 3) for i in range(400)]
    assert tokman.count_batch(docs, encoding="cl100k_base", workers=2) == [
        tokman.count(d, encoding="cl100k_base") for d in docs
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_text_that_is_not_a_str_is_named_by_index(workers: int) -> None:
    """texts[i] names the offending element, wherever it is in the stream."""
    docs: list[object] = ["ok " * 1000] * 2000
    docs[1503] = b"bytes"
    with pytest.raises(InvalidRequestError) as info:
        tokman.count_batch(docs, model="gpt-4o", workers=workers)  # type: ignore[arg-type]
    assert info.value.field == "texts[1503]"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_lone_surrogate_is_named_by_index(workers: int) -> None:
    """A text the API could not receive is refused by its index, also from a worker."""
    docs = ["fine text " * 100] * 3000
    docs[2222] = "bad \ud800 text"
    with pytest.raises(InvalidRequestError) as info:
        tokman.count_batch(docs, model="gpt-4o", workers=workers)
    assert info.value.field == "texts[2222]"
    assert "UTF-8" in str(info.value)


@pytest.mark.parametrize("texts", ["a string", b"bytes", {"a": 1}, 42, None])
def test_texts_must_be_an_iterable_of_texts(texts: object) -> None:
    """A str, bytes, a mapping or a non-iterable is refused by name, not iterated."""
    with pytest.raises(InvalidRequestError) as info:
        tokman.count_batch(texts, model="gpt-4o")  # type: ignore[arg-type]
    assert info.value.field == "texts"


@pytest.mark.parametrize("workers", [0, -3, True, 1.5, "2"])
def test_workers_must_be_a_positive_int(workers: object) -> None:
    """workers=0, -3, True, ... are refused before anything is read."""
    with pytest.raises(InvalidRequestError) as info:
        tokman.iter_count_batch(["a"], model="gpt-4o", workers=workers)  # type: ignore[arg-type]
    assert info.value.field == "workers"


def test_model_and_encoding_are_checked_before_reading() -> None:
    """An unknown model fails at the call, even for a lazy generator."""
    with pytest.raises(UnknownModelError):
        tokman.iter_count_batch(iter(["a"]), model="no-such-model")
    with pytest.raises(InvalidRequestError):
        tokman.count_batch(["a"], model="gpt-4o", encoding="o200k_base")


def readme_blocks(section: str) -> list[str]:
    """The ```python blocks of a README section, in order."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    body = readme.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in body.split("```python\n")[1:]]


def test_the_readme_example_runs_as_written() -> None:
    """The README's corpus-scale example (lists, generators, Arrow, pandas) runs and is right."""
    scope: dict[str, object] = {}
    exec(compile(readme_blocks("Corpus-scale counting")[0], "README.md", "exec"), scope)
    assert scope["total"] == sum(
        tokman.count(f"document {i}: some text", model="gpt-4o") for i in range(1_000_000)
    )
