"""Checks for the arguments every layer takes alike (file paths, text), before any I/O happens.

A path that the operating system cannot even represent (``None``, bytes, an empty string, a NUL
character, a lone surrogate) would otherwise surface as ``TypeError``, ``ValueError`` or
``UnicodeEncodeError`` from deep inside ``open``; here it is one ``InvalidRequestError`` naming
the argument. Text with a lone surrogate cannot be sent to the API (JSON is UTF-8), so every
layer that meets one raises the same `not_utf8` error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tokman.errors import InvalidRequestError

__all__ = ["file_path", "find_lone_surrogate", "not_utf8"]


def file_path(
    value: object, *, field: str = "path", what: str = "file", expand: bool = False
) -> Path:
    """``value`` as a ``Path``, or an error naming ``field`` when it cannot be one; with
    ``expand``, a leading ``~`` / ``~user`` is expanded (an unknown user is the same error).

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
    path = Path(raw)
    if expand:
        try:
            return path.expanduser()
        except RuntimeError:  # "~someone" for a user this system does not have
            raise InvalidRequestError(
                field, value, f"{expected}; ~user names no user on this system"
            ) from None
    return path


def not_utf8(field_path: str, text: str) -> InvalidRequestError:
    """The error for text with a lone surrogate: the API (JSON as UTF-8) cannot receive it."""
    at = next(i for i, ch in enumerate(text) if 0xD800 <= ord(ch) <= 0xDFFF)
    return InvalidRequestError(
        field_path,
        text,
        f"the text has a lone surrogate U+{ord(text[at]):04X} at index {at}, so it is not valid "
        "UTF-8 and cannot be sent to the API; decode the source bytes correctly, or replace it "
        "with text.encode('utf-8', 'replace').decode('utf-8')",
    )


def find_lone_surrogate(value: object, path: str) -> tuple[str, str] | None:
    """The path and text of the first string under ``value`` that is not valid UTF-8.

    Only called once encoding has failed, so the cost of the walk is paid only then. Dict
    keys are checked too (tool parameter names are rendered into the prompt).
    """
    if isinstance(value, str):
        return None if _utf8(value) else (path, value)
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and not _utf8(key):
                return (path, key)
            found = find_lone_surrogate(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = find_lone_surrogate(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def _utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
