"""Read a vocabulary file and accept it only if its sha256 is the official one.

The hash is checked on every load, of the decompressed bytes when the file is gzip'd, exactly
as tiktoken checks its cache. Never weaken this check: a wrong vocabulary silently gives wrong
counts, which is the one failure users cannot detect.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

__all__ = ["read_verified"]


def read_verified(path: Path, expected_sha256: str) -> tuple[bytes | None, str]:
    """Return ``(contents, actual_sha256)``; contents is ``None`` when the hash differs."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    actual = hashlib.sha256(raw).hexdigest()
    return (raw if actual == expected_sha256 else None), actual
