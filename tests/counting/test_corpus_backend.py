"""The gigatoken corpus backend: exactly tiktoken's counts, or the text is routed elsewhere.

gigatoken is a different engine from the reference, so these tests are differential: every
code point outside ``_drift.DRIFT_RANGES`` in several contexts, Hypothesis text, long
adversarial runs and the benchmark corpora must count as tiktoken's ``encode_ordinary``, and
every drift character must be routed to bpe-openai and still count exactly.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokman
import tokman.encodings
from adversarial import adversarial_texts, unicode_text
from tokman.counting import _pool, batch
from tokman.encodings import Encoding, get_encoding, load_vocabulary
from tokman.encodings import _gigatoken as giga
from tokman.encodings._catalog import VOCABULARIES
from tokman.encodings._drift import DRIFT_RANGES
from tokman.errors import InvalidRequestError

ENCODINGS = ["o200k_base", "cl100k_base", "o200k_harmony"]


def fresh(name: str) -> Encoding:
    """An encoding of its own (not the process-wide cached one), corpus backend built."""
    contents, path = load_vocabulary(name)
    enc = Encoding(VOCABULARIES[name], contents, path)
    assert enc.prepare_corpus()
    return enc


@pytest.fixture(scope="module")
def built() -> dict[str, Encoding]:
    return {name: fresh(name) for name in ENCODINGS}


@pytest.fixture
def own_encodings(monkeypatch: pytest.MonkeyPatch) -> None:
    """``get_encoding`` builds new encodings for this test only (their corpus state too)."""
    monkeypatch.setattr(tokman.encodings, "_encodings", {})


def reference(enc: Encoding, texts: list[str]) -> list[int]:
    return [len(t) for t in enc.tiktoken.encode_ordinary_batch(texts)]


def _drift(cp: int) -> bool:
    return any(start <= cp <= end for start, end in DRIFT_RANGES)


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_gigatoken_agrees_with_tiktoken_on_every_code_point_outside_the_drift_ranges(
    name: str, built: dict[str, Encoding]
) -> None:
    """The guarantee the router relies on, checked on gigatoken itself (no routing): each
    code point before a contraction (where a letter and a non-letter split differently), and
    one in eight between letters and digits and after spaces. Contexts are joined 512 to a
    text (newline-separated; a wrong piece changes its text's total), then compared."""
    enc = built[name]
    counter = enc._corpus
    assert counter is not None
    chars = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and not _drift(cp)]
    for template, step in (("{c}'s", 1), ("Ab{c}c1{c}23", 8), (" {c}{c}\t{c}x", 8)):
        sample = chars[::step]
        texts = ["\n".join(template.format(c=c) for c in sample[i : i + 512])
                 for i in range(0, len(sample), 512)]  # fmt: skip
        found = counter._encode(counter._tokenizer, texts)
        expected = reference(enc, texts)
        wrong = [i for i, (a, b) in enumerate(zip(found, expected, strict=True)) if a != b]
        first = ord(sample[wrong[0] * 512]) if wrong else 0
        assert not wrong, (
            f"{template!r}: {len(wrong)} blocks differ, the first from U+{first:04X}: find the "
            "characters and extend DRIFT_RANGES (scripts/unicode_drift.py)"
        )


@pytest.mark.parametrize("name", ENCODINGS)
def test_drift_characters_are_routed_and_count_exactly(
    name: str, built: dict[str, Encoding]
) -> None:
    enc = built[name]
    assert enc._corpus is not None
    chars = [chr(cp) for start, end in DRIFT_RANGES for cp in {start, (start + end) // 2, end}]
    texts = [f"word {c}'s and A{c}b" for c in chars] + ["plain ascii text"]
    _, slow = giga.route(texts)
    assert slow == list(range(len(chars)))
    assert enc.count_batch(texts) == reference(enc, texts)


@pytest.mark.parametrize("name", ENCODINGS)
@settings(max_examples=150, deadline=None)
@given(texts=st.lists(unicode_text, max_size=30))
def test_equals_tiktoken_on_arbitrary_unicode_batches(
    name: str, built: dict[str, Encoding], texts: list[str]
) -> None:
    enc = built[name]
    assert enc.count_batch(texts) == reference(enc, texts)


@pytest.mark.parametrize("name", ENCODINGS)
def test_equals_tiktoken_on_long_adversarial_runs(name: str, built: dict[str, Encoding]) -> None:
    enc = built[name]
    texts = adversarial_texts(seed=len(name))
    assert enc.count_batch(texts) == reference(enc, texts)


def test_routing_sends_spaceless_scripts_and_surrogates_to_the_single_counter(
    built: dict[str, Encoding],
) -> None:
    enc = built["o200k_base"]
    counter = enc._corpus
    assert counter is not None
    texts = ["ascii only", "café au lait — très bien", "中文的文本很长没有空格。", "ok 中 ok ok ok"]
    fast, slow = giga.route(texts)
    assert (fast, slow) == ([0, 1, 3], [2])
    assert giga.routed_share(texts) == pytest.approx(len(texts[2]) / sum(map(len, texts)))
    assert giga.routed_share([]) == 0.0
    with pytest.raises(InvalidRequestError, match=r"^texts\[1\]=.*lone surrogate U\+D800"):
        enc.count_batch(["fine", "bad \ud800 text", "中文"])
    with pytest.raises(InvalidRequestError, match=r"^texts\[0\]=b'x'.*expected a str"):
        enc.count_batch([b"x"])  # type: ignore[list-item]
    for wrong in ("one text", iter(["a generator"])):
        with pytest.raises(InvalidRequestError, match=r"^texts=.*use tokman.count_batch\(\)"):
            enc.count_batch(wrong)  # type: ignore[arg-type]


def test_the_cache_is_rebuilt_past_its_budget_and_counts_stay_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """gigatoken 0.10 never bounds its cache: past CACHE_BUDGET of growth the counter starts
    over with a fresh tokenizer (and the counts do not change)."""
    enc = fresh("o200k_base")
    counter = enc._corpus
    assert counter is not None
    monkeypatch.setattr(giga, "CACHE_BUDGET", -1)  # any reading is over budget
    rng = random.Random(3)
    texts = [" ".join(f"w{rng.getrandbits(40):x}" for _ in range(50)) for _ in range(200)]
    first = counter._tokenizer
    assert enc.count_batch(texts) == reference(enc, texts)
    assert counter.rebuilds >= 1 and counter._tokenizer is not first
    assert enc.count_batch(texts) == reference(enc, texts)


def test_only_growth_inside_its_encode_calls_counts_toward_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The process may grow for other reasons (here 256 MB) without a rebuild; growth inside
    the encode calls adds up until it passes CACHE_BUDGET."""
    enc = fresh("o200k_base")
    counter = enc._corpus
    assert counter is not None
    texts = ["some words to count, again and again"] * 100
    ballast = bytearray(256 << 20)  # touched: resident, outside any encode call
    ballast[:: 1 << 12] = b"x" * len(ballast[:: 1 << 12])
    assert enc.count_batch(texts) == reference(enc, texts)
    del ballast
    assert counter.rebuilds == 0
    readings = iter(range(0, 10 << 30, 50 << 20))  # every reading 50 MB above the one before
    monkeypatch.setattr(giga, "_resident_bytes", lambda: next(readings))
    for calls in range(1, 5):
        assert enc.count_batch(texts) == reference(enc, texts)
        assert counter.rebuilds == (1 if calls >= 3 else 0), calls  # 3 x 50 MB > 128 MB


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")
def test_a_forked_worker_does_not_count_inherited_pages_as_growth() -> None:
    """Copy-on-write of the inherited tokenizer is not cache growth: a forked child starts with
    that much credit, so the workers of a pool do not rebuild for nothing."""
    enc = fresh("o200k_base")
    counter = enc._corpus
    assert counter is not None
    counter._footprint, counter._grown = 1_000, 5  # as measured at the build, and since
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the credit is right and counting still works
        ok = counter._grown == -1_005 and enc.count_batch(["a b"]) == [2]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert counter._grown == 5  # the parent's own accounting is untouched


def test_without_resident_memory_it_rebuilds_by_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enc = fresh("cl100k_base")
    counter = enc._corpus
    assert counter is not None
    monkeypatch.setattr(giga, "_resident_bytes", lambda: None)
    monkeypatch.setattr(giga, "BLIND_REBUILD_CHARS", 50)
    texts = ["x" * 30, "hello world " * 5]
    assert enc.count_batch(texts[:1]) == reference(enc, texts[:1])
    assert counter.rebuilds == 0
    assert enc.count_batch(texts[1:]) == reference(enc, texts[1:])
    assert counter.rebuilds == 1


def test_the_vocabulary_it_loads_is_the_verified_bytes_in_a_private_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, int, bytes]] = []
    real = giga.corpus_backend()
    assert real is not None

    class Spy:
        @staticmethod
        def from_tiktoken(path: str, pretokenizer: str, specials: dict[str, int]) -> Any:
            import os
            import stat

            with open(path, "rb") as f:
                seen.append((pretokenizer, stat.S_IMODE(os.stat(path).st_mode), f.read()))
            assert specials == {}  # special-token text counts as plain text
            return real.from_tiktoken(path, pretokenizer, specials)

    monkeypatch.setattr(giga, "corpus_backend", lambda: Spy)
    counter = giga.CorpusCounter("cl100k_base", lambda: load_vocabulary("cl100k_base")[0], len)
    assert counter(["<|endoftext|>"]) == [7]
    assert seen == [("gpt4", 0o600, load_vocabulary("cl100k_base")[0])]


def test_it_is_not_used_when_turned_off_or_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    contents, path = load_vocabulary("o200k_base")
    monkeypatch.setenv("TOKMAN_TOKENIZER", "bpe-openai")
    off = Encoding(VOCABULARIES["o200k_base"], contents, path)
    assert not off.prepare_corpus() and not off.corpus_ready
    assert off.corpus_routed_share(["abc"]) == 1.0
    assert off.count_batch(["hello world", "中文"], corpus=True) == [2, 1]
    monkeypatch.delenv("TOKMAN_TOKENIZER")
    monkeypatch.setattr(giga, "corpus_backend", lambda: None)
    missing = Encoding(VOCABULARIES["o200k_base"], contents, path)
    assert not missing.prepare_corpus()
    assert missing.count_batch(["hello world"]) == [2]


def test_an_encoding_builds_it_by_itself_past_corpus_chars(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contents, path = load_vocabulary("o200k_base")
    enc = Encoding(VOCABULARIES["o200k_base"], contents, path)
    monkeypatch.setattr(tokman.encodings, "CORPUS_CHARS", 100)
    assert enc.count_batch(["a" * 60], corpus=None) == [8] and not enc.corpus_ready
    assert enc.count_batch(["a" * 60]) == [8] and not enc.corpus_ready  # 60 seen before it
    assert enc.count_batch(["hello"]) == [1] and enc.corpus_ready
    assert enc.count_batch(["hello"], corpus=False) == [1]


def _spy_pools(monkeypatch: pytest.MonkeyPatch, corpus_chars: int) -> list[bool]:
    """Small batches, look-ahead and CORPUS_CHARS; the ``threads`` flag of each pool used."""
    monkeypatch.setattr(batch, "INLINE_CHARS", 10_000)
    monkeypatch.setattr(batch, "CORPUS_CHARS", corpus_chars)
    monkeypatch.setattr(batch, "BATCH_CHARS", 5_000)
    used: list[bool] = []
    real = _pool.ordered_map

    def spy(*args: Any, threads: bool = False, **kwargs: Any) -> Iterator[Any]:
        used.append(threads)
        return real(*args, threads=threads, **kwargs)

    monkeypatch.setattr(batch, "ordered_map", spy)
    return used


@pytest.mark.usefixtures("own_encodings")
def test_count_batch_switches_to_threads_past_corpus_chars(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Processes with bpe-openai up to CORPUS_CHARS, then the corpus backend, built in this
    process, on threads; a CJK corpus stays on processes. Every count equals count()."""
    used = _spy_pools(monkeypatch, corpus_chars=50_000)
    rng = random.Random(5)
    prose = [" ".join(rng.choice(["the", "cat", "sat", "on", "mats", "'s", "42"])
                      for _ in range(rng.randrange(1, 60))) for _ in range(3_000)]  # fmt: skip
    expected = [tokman.count(t, encoding="o200k_base") for t in prose]
    assert tokman.count_batch(prose, encoding="o200k_base", workers=2) == expected
    assert used == [False, True]
    assert get_encoding("o200k_base").corpus_ready
    used.clear()
    assert tokman.count_batch(prose, encoding="o200k_base", workers=2) == expected
    assert used == [True]  # built already: threads from the start
    used.clear()
    cjk = ["".join(rng.choice("的一是在不了有和人这中大为上个国我以要他") for _ in range(300))
           for _ in range(400)]  # fmt: skip
    expected = [tokman.count(t, encoding="o200k_base") for t in cjk]
    assert tokman.count_batch(cjk, encoding="o200k_base", workers=2) == expected
    assert used == [False]


@pytest.mark.usefixtures("own_encodings")
def test_a_cjk_corpus_never_builds_it_and_a_mixed_one_stays_on_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nearly all text left to bpe-openai: the backend is not worth building. A tenth or more
    left to it: built, but the corpus stays on processes (bpe-openai holds the GIL)."""
    used = _spy_pools(monkeypatch, corpus_chars=30_000)
    rng = random.Random(6)
    cjk = ["".join(rng.choice("的一是在不了有和人这中大为上个国我以要他") for _ in range(300))
           for _ in range(300)]  # fmt: skip
    expected = [tokman.count(t, encoding="cl100k_base") for t in cjk]
    assert tokman.count_batch(cjk, encoding="cl100k_base", workers=2) == expected
    assert used == [False] and not get_encoding("cl100k_base").corpus_ready  # one pool
    used.clear()
    mixed = [t if i % 3 else "plain words, " * 20 for i, t in enumerate(cjk)]
    expected = [tokman.count(t, encoding="cl100k_base") for t in mixed]
    assert tokman.count_batch(mixed, encoding="cl100k_base", workers=2) == expected
    # The CJK call counted toward CORPUS_CHARS: built at once, one stream on processes.
    assert used == [False] and get_encoding("cl100k_base").corpus_ready


@pytest.mark.usefixtures("own_encodings")
@pytest.mark.parametrize("order", ["prose first", "cjk first"])
def test_a_corpus_whose_language_changes_switches_route_where_it_changes(
    monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    """A corpus sorted by language: the prose part runs on threads with the corpus backend,
    the CJK part on processes, whichever comes first. Every count equals count()."""
    used = _spy_pools(monkeypatch, corpus_chars=30_000)
    rng = random.Random(7)
    prose = [" ".join(rng.choice(["the", "cat", "sat", "on", "mats", "'s", "42"])
                      for _ in range(rng.randrange(20, 60))) for _ in range(1_500)]  # fmt: skip
    cjk = ["".join(rng.choice("的一是在不了有和人这中大为上个国我以要他") for _ in range(300))
           for _ in range(400)]  # fmt: skip
    texts = prose + cjk if order == "prose first" else cjk + prose
    expected = [tokman.count(t, encoding="o200k_base") for t in texts]
    assert tokman.count_batch(texts, encoding="o200k_base", workers=2) == expected
    # One stream per route: the look-ahead where the language changes may route in between.
    if order == "prose first":  # the single-text counters up to CORPUS_CHARS, then threads
        assert used[:2] == [False, True] and used[-1] is False and len(used) <= 4
    else:  # processes and no backend while it is CJK; built, and threads, once it is prose
        assert used[0] is False and used[-1] is True and len(used) <= 3
    assert get_encoding("o200k_base").corpus_ready


@pytest.mark.usefixtures("own_encodings")
def test_many_calls_below_corpus_chars_add_up_to_a_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipeline counting batch after batch gets the corpus backend once it has counted
    CORPUS_CHARS in all, as one long call would."""
    used = _spy_pools(monkeypatch, corpus_chars=100_000)
    rng = random.Random(8)
    words = ["the", "cat", "sat", "on", "mats", "'s", "42"]
    calls = [[" ".join(rng.choice(words) for _ in range(30)) for _ in range(300)]
             for _ in range(5)]  # fmt: skip
    enc = get_encoding("o200k_base")
    for texts in calls:
        assert tokman.count_batch(texts, encoding="o200k_base", workers=2) == [
            enc.count(t) for t in texts
        ]
    assert enc.batched_chars >= 100_000 and enc.corpus_ready
    assert used[0] is False and used[-1] is True  # the first calls on processes, the last not


@pytest.mark.parametrize("chars", [-1, 1.5, "10", True, None])
def test_add_batched_refuses_what_is_not_a_count(chars: object) -> None:
    enc = fresh("o200k_base")
    with pytest.raises(InvalidRequestError, match="chars"):
        enc.add_batched(chars)  # type: ignore[arg-type]
    assert enc.batched_chars == 0
    enc.add_batched(5)
    assert enc.batched_chars == 5
