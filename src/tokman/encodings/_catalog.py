"""The official tokenizer vocabularies, as data.

Each entry records what tiktoken itself would download and verify: the official URL (whose sha1
is the file name in tiktoken's cache), the sha256 of the file's bytes, the pre-tokenization pattern and the special tokens. ``o200k_harmony`` (gpt-oss) shares
``o200k_base``'s vocabulary file and adds special tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["VOCABULARIES", "EncodingSpec", "VocabularyFile"]

_BASE_URL = "https://openaipublic.blob.core.windows.net/encodings/"

_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_R50K_PATTERN = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)


@dataclass(frozen=True)
class VocabularyFile:
    """One official ``.tiktoken`` file: where tiktoken gets it and how to recognise it."""

    stem: str
    sha256: str

    @property
    def url(self) -> str:
        return f"{_BASE_URL}{self.stem}.tiktoken"

    @property
    def cache_name(self) -> str:
        """The file name tiktoken uses in its cache directory: sha1 of the URL."""
        return hashlib.sha1(self.url.encode()).hexdigest()

    @property
    def file_names(self) -> tuple[str, ...]:
        """Names accepted in an explicit vocabulary directory, in the order tried."""
        return (f"{self.stem}.tiktoken", f"{self.stem}.tiktoken.gz", self.cache_name)


@dataclass(frozen=True)
class EncodingSpec:
    """Everything needed to build an encoding once its vocabulary file is verified."""

    name: str
    file: VocabularyFile
    pattern: str
    special_tokens: Mapping[str, int] = field(default_factory=dict)
    explicit_n_vocab: int | None = None


_O200K_FILE = VocabularyFile(
    "o200k_base", "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
)
_CL100K_FILE = VocabularyFile(
    "cl100k_base", "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
)
_P50K_FILE = VocabularyFile(
    "p50k_base", "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069"
)
_R50K_FILE = VocabularyFile(
    "r50k_base", "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"
)

_ENDOFTEXT = "<|endoftext|>"
_ENDOFPROMPT = "<|endofprompt|>"


def _harmony_special_tokens() -> dict[str, int]:
    named = {
        "<|startoftext|>": 199998,
        _ENDOFTEXT: 199999,
        "<|return|>": 200002,
        "<|constrain|>": 200003,
        "<|channel|>": 200005,
        "<|start|>": 200006,
        "<|end|>": 200007,
        "<|message|>": 200008,
        "<|call|>": 200012,
        _ENDOFPROMPT: 200018,
    }
    taken = set(named.values())
    reserved = {f"<|reserved_{i}|>": i for i in range(200000, 201088) if i not in taken}
    return {**reserved, **named}


VOCABULARIES: Mapping[str, EncodingSpec] = MappingProxyType(
    {
        "o200k_base": EncodingSpec(
            "o200k_base", _O200K_FILE, _O200K_PATTERN, {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018}
        ),
        "o200k_harmony": EncodingSpec(
            "o200k_harmony", _O200K_FILE, _O200K_PATTERN, _harmony_special_tokens()
        ),
        "cl100k_base": EncodingSpec(
            "cl100k_base",
            _CL100K_FILE,
            _CL100K_PATTERN,
            {
                _ENDOFTEXT: 100257,
                "<|fim_prefix|>": 100258,
                "<|fim_middle|>": 100259,
                "<|fim_suffix|>": 100260,
                _ENDOFPROMPT: 100276,
            },
        ),
        "p50k_base": EncodingSpec(
            "p50k_base", _P50K_FILE, _R50K_PATTERN, {_ENDOFTEXT: 50256}, explicit_n_vocab=50281
        ),
        "r50k_base": EncodingSpec(
            "r50k_base", _R50K_FILE, _R50K_PATTERN, {_ENDOFTEXT: 50256}, explicit_n_vocab=50257
        ),
    }
)
