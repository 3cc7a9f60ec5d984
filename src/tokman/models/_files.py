"""Reading the user's data files (models, deployments): one place for I/O and parse errors.

Every failure is a ``ConfigurationError`` that starts with the file's path, so a user with
several files set through the environment knows which one to fix.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tokman._args import file_path
from tokman.errors import ConfigurationError

__all__ = ["read_data_file"]


def read_data_file(
    path: str | os.PathLike[str], *, what: str, toml: bool = False, field: str = "path"
) -> Any:
    """Parse a JSON file (or TOML, when allowed and the suffix says so).

    Args:
        path: the file.
        what: how errors name it ("models file", "deployments file").
        toml: accept ``.toml`` files (Python 3.11+).
        field: the argument or variable that named the file (``path``, ``$TOKMAN_MODELS_FILE``).

    Raises:
        ConfigurationError: unreadable or unparsable; the message names the file.
    """
    file = file_path(path, field=field, what=what)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"{file}: cannot read the {what} ({exc.strerror or exc}); fix {field} or create "
            "the file"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{file}: the {what} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it "
            "as UTF-8"
        ) from exc
    is_toml = toml and file.suffix.lower() == ".toml"
    try:
        if is_toml:
            import tomllib

            return tomllib.loads(text)
        return json.loads(text)
    except ImportError as exc:  # pragma: no cover - Python 3.10
        raise ConfigurationError(
            f"{file}: TOML needs Python 3.11+; write the {what} as JSON"
        ) from exc
    except ValueError as exc:
        raise ConfigurationError(
            f"{file}: not valid {'TOML' if is_toml else 'JSON'}: {exc}"
        ) from exc
