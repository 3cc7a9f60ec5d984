"""``LoggerSetup``: the seed's ``core.logger.LoggerSetup.get_logger`` as plain `logging`.

The seed's application configured its own handlers inside ``LoggerSetup``; a library must not
(the application decides where logs go). ``get_logger`` returns a standard logger under
``tokman.`` and installs nothing, so nothing is printed unless the application configures
logging. tokman's own compat log lines carry counts and model names only: never a key, never
a prompt's text.
"""

from __future__ import annotations

import logging

from tokman.errors import InvalidRequestError

__all__ = ["LoggerSetup"]


class LoggerSetup:
    """Where the seed's modules got their loggers from.

    >>> LoggerSetup.get_logger("core.token_management").name
    'tokman.core.token_management'
    >>> LoggerSetup.get_logger("tokman.compat").name
    'tokman.compat'
    """

    @staticmethod
    def get_logger(name: str) -> logging.Logger:
        """``logging.getLogger("tokman.<name>")`` (a name already under ``tokman`` is kept).

        Raises:
            InvalidRequestError: ``name`` is not a non-empty str.
        """
        if not isinstance(name, str) or not name.strip() or name.startswith("."):
            raise InvalidRequestError(
                "name", name, "the logger name as a non-empty str, e.g. __name__"
            )
        if name == "tokman" or name.startswith("tokman."):
            return logging.getLogger(name)
        return logging.getLogger(f"tokman.{name}")
