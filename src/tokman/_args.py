"""Checks for the arguments every layer takes alike (file paths), before any I/O happens.

A path that the operating system cannot even represent (``None``, bytes, an empty string, a NUL
character, a lone surrogate) would otherwise surface as ``TypeError``, ``ValueError`` or
``UnicodeEncodeError`` from deep inside ``open``; here it is one ``InvalidRequestError`` naming
the argument.
"""

from __future__ import annotations

import os
from pathlib import Path

from tokman.errors import InvalidRequestError

__all__ = ["file_path"]


def file_path(value: object, *, field: str = "path", what: str = "file") -> Path:
    """``value`` as a ``Path``, or an error naming ``field`` when it cannot be one.

    >>> file_path("usage.db").name
    'usage.db'

    Raises:
        InvalidRequestError: not a str or ``os.PathLike``, empty, or not representable as a
            file name on this system.
    """
    raw = os.fspath(value) if isinstance(value, os.PathLike) else value
    expected = f"the path of the {what} as a str or pathlib.Path"
    if isinstance(raw, bytes):
        raise InvalidRequestError(field, value, f"{expected}; decode bytes paths first")
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidRequestError(field, value, expected)
    if "\x00" in raw:
        raise InvalidRequestError(field, value, f"{expected}; a file name cannot contain NUL")
    try:
        os.fsencode(raw)
    except UnicodeEncodeError:
        raise InvalidRequestError(
            field, value, f"{expected}; it holds characters no file name can (lone surrogates)"
        ) from None
    return Path(raw)
