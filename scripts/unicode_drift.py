"""Print the code point ranges for ``tokman/encodings/_drift.py``.

The tokenizers' pre-tokenizer patterns test each character's membership in ``\\p{L}``,
``\\p{Lu}``, ``\\p{Ll}``, ``\\p{Lt}``, ``\\p{Lm}``, ``\\p{Lo}``, ``\\p{M}`` and ``\\p{N}``. The
Rust engines carry their own Unicode tables (tiktoken's and bpe-openai's 16.0, gigatoken's 17.0
when measured), so a character whose membership changed between versions can split differently.
This lists every character whose membership differs between this Python's ``unicodedata``
(Unicode 14.0 on Python 3.11) and the ``regex`` module's tables (17.0 in regex 2026.x): a
superset of the differences between any two engines in that span. ``White_Space`` has not
changed since Unicode 6, so it is not compared. Run with Python 3.11: ``python
scripts/unicode_drift.py``.
"""

from __future__ import annotations

import unicodedata

import regex

CLASSES = ("L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "N")


def _old(category: str) -> tuple[bool, ...]:
    return tuple(
        category.startswith(name) if len(name) == 1 else category == name for name in CLASSES
    )


def drift_ranges() -> list[tuple[int, int]]:
    patterns = [regex.compile(rf"\p{{{name}}}") for name in CLASSES]
    ranges: list[tuple[int, int]] = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        char = chr(cp)
        new = tuple(bool(p.match(char)) for p in patterns)
        if new != _old(unicodedata.category(char)):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return ranges


if __name__ == "__main__":
    print(f"# unicodedata {unicodedata.unidata_version}, regex {regex.__version__}")
    found = drift_ranges()
    print(f"# {sum(b - a + 1 for a, b in found)} code points in {len(found)} ranges")
    for start, end in found:
        print(f"    (0x{start:05X}, 0x{end:05X}),")
