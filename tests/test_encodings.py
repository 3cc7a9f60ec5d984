"""Offline vocabulary resolution: the source chain, sha256 verification and the errors."""

from __future__ import annotations

import gzip
import os
import socket
import tempfile
from pathlib import Path

import pytest

import tokman
from tokman import encodings
from tokman.encodings import _sources
from tokman.encodings._catalog import VOCABULARIES
from tokman.errors import UnknownModelError, VocabularyIntegrityError, VocabularyNotFoundError

O200K = VOCABULARIES["o200k_base"].file


@pytest.fixture()
def official_o200k() -> bytes:
    """The official o200k_base bytes, from the packaged copy (itself verified)."""
    contents, _ = encodings.load_vocabulary("o200k_base")
    return contents


@pytest.fixture()
def empty_world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No packaged copies, empty caches: what an air-gapped machine without files sees."""
    monkeypatch.setattr(_sources, "PACKAGED_COPIES", ())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    encodings.configure(vocab_dir=tmp_path / "unused")
    encodings.configure(vocab_dir=None)
    return tmp_path


def test_shipped_encodings_load_verified_from_an_installed_package() -> None:
    """o200k_base, cl100k_base and o200k_harmony work out of the box, from bpe-openai's copies."""
    for name in ("o200k_base", "cl100k_base", "o200k_harmony"):
        enc = tokman.get_encoding(name)
        assert enc.name == name
        assert "bpe_openai" in str(enc.source)


def test_no_network_is_used(
    official_o200k: bytes, monkeypatch: pytest.MonkeyPatch, empty_world: Path
) -> None:
    """Loading from a directory works with sockets disabled."""

    def no_socket(*args: object, **kwargs: object) -> None:
        raise AssertionError("tokman tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_socket)
    (empty_world / "vocab").mkdir()
    (empty_world / "vocab" / "o200k_base.tiktoken").write_bytes(official_o200k)
    encodings.configure(vocab_dir=empty_world / "vocab")
    assert tokman.count("hello world", encoding="o200k_base") == 2


def test_explicit_dir_comes_first_then_env_then_tiktoken_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, official_o200k: bytes
) -> None:
    """configure(vocab_dir) > $TOKMAN_VOCAB_DIR > $TIKTOKEN_CACHE_DIR > packaged copy."""
    explicit, env_dir, cache = tmp_path / "explicit", tmp_path / "env", tmp_path / "cache"
    for d in (explicit, env_dir, cache):
        d.mkdir()
    (cache / O200K.cache_name).write_bytes(official_o200k)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    assert encodings.load_vocabulary("o200k_base")[1] == cache / O200K.cache_name

    (env_dir / "o200k_base.tiktoken.gz").write_bytes(gzip.compress(official_o200k))
    monkeypatch.setenv("TOKMAN_VOCAB_DIR", str(env_dir))
    assert encodings.load_vocabulary("o200k_base")[1] == env_dir / "o200k_base.tiktoken.gz"

    (explicit / O200K.cache_name).write_bytes(official_o200k)
    encodings.configure(vocab_dir=explicit)
    assert encodings.load_vocabulary("o200k_base")[1] == explicit / O200K.cache_name


def test_environment_is_never_modified(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolving vocabularies reads the environment and leaves it exactly as it was."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/nonexistent/tokman-test")
    before = dict(os.environ)
    encodings.load_vocabulary("cl100k_base")
    assert dict(os.environ) == before


def test_corrupted_cache_file_is_rejected_by_its_hash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, official_o200k: bytes
) -> None:
    """A cached file with one changed byte is skipped with a warning; the packaged copy is used."""
    bad = bytearray(official_o200k)
    bad[100] ^= 1
    (tmp_path / O200K.cache_name).write_bytes(bytes(bad))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    with pytest.warns(RuntimeWarning, match="sha256 .* is not the official o200k_base hash"):
        contents, path = encodings.load_vocabulary("o200k_base")
    assert contents == official_o200k
    assert "bpe_openai" in str(path)
    assert (tmp_path / O200K.cache_name).read_bytes() == bytes(bad), "user files are not deleted"


def test_corrupted_file_in_explicit_dir_is_an_integrity_error(
    tmp_path: Path, official_o200k: bytes
) -> None:
    """A bad file where the user pointed is an error naming both hashes, not a silent skip."""
    (tmp_path / "o200k_base.tiktoken").write_bytes(official_o200k[:-10])
    encodings.configure(vocab_dir=tmp_path)
    with pytest.raises(VocabularyIntegrityError) as info:
        encodings.load_vocabulary("o200k_base")
    assert info.value.expected == O200K.sha256
    assert info.value.actual != O200K.sha256
    assert str(tmp_path / "o200k_base.tiktoken") in str(info.value)


def test_not_found_error_names_encoding_every_place_and_one_fix(empty_world: Path) -> None:
    """With nothing anywhere, the error lists each place searched and the command that fixes it."""
    with pytest.raises(VocabularyNotFoundError) as info:
        tokman.get_encoding("cl100k_base")
    message = str(info.value)
    assert message.startswith("No vocabulary file for encoding 'cl100k_base' was found")
    assert str(empty_world / "tmp" / "data-gym-cache") in message
    assert "$TOKMAN_VOCAB_DIR: not set" in message
    assert "$TIKTOKEN_CACHE_DIR: not set" in message
    assert "Fix: pip install --force-reinstall bpe-openai" in message
    assert info.value.encoding == "cl100k_base"


def test_tiktoken_reference_is_built_from_the_verified_file() -> None:
    """encode/decode go through a real tiktoken.Encoding with the official ranks."""
    enc = tokman.get_encoding("o200k_base")
    ids = enc.encode("hello world <|endoftext|>")
    assert ids[:2] == [24912, 2375]
    assert 199999 not in ids
    assert enc.decode(ids) == "hello world <|endoftext|>"
    assert enc.tiktoken.n_vocab == 200019


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-5", "o200k_base"),
        ("gpt-5-mini", "o200k_base"),
        ("gpt-5-nano-2025-08-07", "o200k_base"),
        ("gpt-5.1", "o200k_base"),
        ("gpt-5-chat-latest", "o200k_base"),
        ("gpt-4.1", "o200k_base"),
        ("gpt-4.1-mini-2025-04-14", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4o-2024-08-06", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("o1", "o200k_base"),
        ("o1-2024-12-17", "o200k_base"),
        ("o1-mini", "o200k_base"),
        ("o3", "o200k_base"),
        ("o3-mini-2025-01-31", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("o4-mini-2025-04-16", "o200k_base"),
        ("gpt-oss-120b", "o200k_harmony"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-4-turbo-2024-04-09", "cl100k_base"),
        ("gpt-4-32k", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("gpt-35-turbo", "cl100k_base"),
        ("gpt-35-turbo-16k", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("text-embedding-3-large", "cl100k_base"),
        ("text-embedding-ada-002", "cl100k_base"),
        ("ft:gpt-4o-mini-2024-07-18:acme::9abc", "o200k_base"),
        ("ft:gpt-3.5-turbo-0125:acme:support:8xyz", "cl100k_base"),
        ("gpt-4o-mini-2024-07-18.ft-0123456789abcdef", "o200k_base"),
        ("azure/eu/gpt-5-2025-08-07", "o200k_base"),
        ("azure/gpt-35-turbo", "cl100k_base"),
    ],
)
def test_model_names_resolve_to_their_encoding(model: str, expected: str) -> None:
    """Every current OpenAI/Azure spelling, snapshot and fine-tune name maps to its encoding."""
    assert encodings.encoding_name_for_model(model) == expected


def test_unknown_model_is_a_lookup_error_with_suggestions() -> None:
    """An unknown name never falls back to another model's tokenizer."""
    with pytest.raises(UnknownModelError) as info:
        encodings.encoding_name_for_model("gpt4o")
    assert isinstance(info.value, LookupError)
    message = str(info.value)
    assert message.startswith("Unknown model 'gpt4o'. Did you mean 'gpt-4o'")
    assert "encoding='o200k_base'" in message
    assert "tokman.models.register" in message
