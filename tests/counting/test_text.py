"""Plain-text counting: exact literal counts, and identical to tiktoken on any Unicode."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

import tokman
from adversarial import adversarial_texts, unicode_text
from tokman.encodings import TOKENIZER_ENV, Encoding, get_encoding
from tokman.encodings._catalog import VOCABULARIES
from tokman.errors import InvalidRequestError, UnknownModelError

ENCODINGS = ["o200k_base", "cl100k_base"]


@pytest.mark.parametrize(
    ("text", "model", "expected"),
    [
        ("", "gpt-4o", 0),
        ("hello world", "gpt-4o", 2),
        ("hello world", "gpt-4", 2),
        ("tiktoken is great!", "gpt-3.5-turbo", 6),  # tiktoken README example
        ("antidisestablishmentarianism", "gpt-4", 6),  # OpenAI cookbook example
        ("お誕生日おめでとう", "gpt-4", 9),  # OpenAI cookbook example
        ("<|endoftext|>", "gpt-4", 7),
        ("<|endoftext|>", "gpt-4o", 7),
    ],
)
def test_literal_counts(text: str, model: str, expected: int) -> None:
    """Small literal inputs have their exact, known counts."""
    assert tokman.count(text, model=model) == expected


def test_special_token_text_is_plain_text() -> None:
    """Text that looks like a special token is counted as text, never refused, never 0."""
    text = "before <|endoftext|> <|fim_prefix|> <|endofprompt|> after"
    for name in ENCODINGS:
        enc = get_encoding(name)
        assert tokman.count(text, encoding=name) == len(enc.tiktoken.encode_ordinary(text)) > 10


def test_model_and_encoding_arguments_are_checked() -> None:
    """Exactly one of model= and encoding= is required, and text must be a str."""
    with pytest.raises(InvalidRequestError, match="pass model='gpt-4o'"):
        tokman.count("x")
    with pytest.raises(InvalidRequestError, match="not both"):
        tokman.count("x", model="gpt-4o", encoding="o200k_base")
    with pytest.raises(InvalidRequestError, match=r"text=b'x' is invalid: expected a str"):
        tokman.count(b"x", model="gpt-4o")  # type: ignore[arg-type]
    with pytest.raises(UnknownModelError):
        tokman.count("x", model="not-a-model")


@pytest.mark.parametrize("name", ENCODINGS)
@settings(max_examples=300, deadline=None)
@given(text=unicode_text)
def test_count_equals_tiktoken_on_arbitrary_unicode(name: str, text: str) -> None:
    """The fast backend agrees with tiktoken's encode_ordinary on any surrogate-free text."""
    enc = get_encoding(name)
    assert enc.count(text) == len(enc.tiktoken.encode_ordinary(text))


@pytest.mark.parametrize("name", ENCODINGS)
def test_fast_backend_matches_tiktoken_on_large_adversarial_inputs(name: str) -> None:
    """Differential test on long runs of whitespace, digits, letters, emoji and random bytes."""
    enc = get_encoding(name)
    for text in adversarial_texts(seed=len(name)):
        assert enc.count(text) == len(enc.tiktoken.encode_ordinary(text))


def test_tiktoken_only_mode_counts_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """TOKMAN_TOKENIZER=tiktoken counts with tiktoken alone and gives the same numbers."""
    monkeypatch.setenv(TOKENIZER_ENV, "tiktoken")
    fast = get_encoding("o200k_base")
    contents, path = tokman.encodings.load_vocabulary("o200k_base")
    reference = Encoding(VOCABULARIES["o200k_base"], contents, path)
    text = "Hello, world! 123456 こんにちは 🙂\n\n  indented"
    assert reference._count.__func__ is Encoding._count_tiktoken  # type: ignore[attr-defined]
    assert reference.count(text) == fast.count(text)


def test_lone_surrogate_text_is_refused_by_name() -> None:
    """The API cannot receive a lone surrogate (not UTF-8): a typed error naming ``text``."""
    for text in ("\ud800", "ok \udfff ok"):
        with pytest.raises(InvalidRequestError, match=r"^text=.* is invalid: the text has a "
                           r"lone surrogate U\+D[89A-F][0-9A-F]{2} at index \d+"):  # fmt: skip
            tokman.count(text, model="gpt-4o")
    with pytest.raises(InvalidRequestError, match=r"^chunks="):
        tokman.counting.count_stream(["fine ", "bad \ud800"], model="gpt-4o", workers=1)
    with pytest.raises(InvalidRequestError, match=r"^text="):
        tokman.chunk("bad \ud800", model="gpt-4o", max_tokens=5)


@pytest.mark.parametrize(
    ("kwargs", "field", "says"),
    [
        ({"model": 5}, "model", "as a string"),
        ({"encoding": ["o200k_base"]}, "encoding", "as a string"),
    ],
)
def test_model_and_encoding_must_be_strings(
    kwargs: dict[str, object], field: str, says: str
) -> None:
    """A non-string model/encoding is named, not an AttributeError from deep inside."""
    with pytest.raises(InvalidRequestError) as info:
        tokman.count("x", **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field and says in str(info.value)


def test_count_file_bad_paths_are_named(tmp_path: Path) -> None:
    """Missing file, directory, None, bogus errors=: InvalidRequestError naming the parameter."""
    directory = tmp_path
    cases: list[tuple[dict[str, object], str, str]] = [
        ({"path": directory / "missing.txt"}, "path", "no such file"),
        ({"path": directory}, "path", "is a directory"),
        ({"path": None}, "path", "the path of the file as a str or pathlib.Path"),
        ({"path": "a\x00b"}, "path", "a file name cannot contain NUL"),
        ({"path": directory / "a.txt", "errors": "bogus"}, "errors", "expected one of 'strict'"),
        ({"path": directory / "a.txt", "errors": "surrogateescape"}, "errors", "refused"),
        ({"path": directory / "a.txt", "workers": 0}, "workers", "an int >= 1"),
    ]
    (directory / "a.txt").write_text("hello world")
    for kwargs, field, says in cases:
        with pytest.raises(InvalidRequestError) as info:
            tokman.count_file(model="gpt-4o", **kwargs)  # type: ignore[arg-type]
        assert info.value.field == field and says in str(info.value), kwargs
    assert tokman.count_file(directory / "a.txt", model="gpt-4o", errors="replace") == 2


@pytest.mark.parametrize("chunks", [None, "text", b"bytes", [b"x"], ["ok", None]])
def test_count_stream_refuses_what_it_cannot_read(chunks: object) -> None:
    """Not an iterable of str: a typed error, never a TypeError or a count of 0."""
    with pytest.raises(InvalidRequestError, match=r"^chunks"):
        tokman.counting.count_stream(chunks, model="gpt-4o")  # type: ignore[arg-type]
