"""Errors a user can act on. Each carries a one-line reason and optional details.

Every surface renders them the same way through `describe`: the CLI prints the reason
after `error:` and the details indented below it; the app's error boundary shows the
reason in a warning and the details in an expander. Nothing reads attributes of its
own choosing, so a new error class cannot break a page.
"""

from __future__ import annotations


class StewardError(Exception):
    """Base class: `str(err)` is the one-line reason; `details` the lines behind it."""

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.details = list(details or [])

    @property
    def message(self) -> str:
        """The one-line reason (the same text as `str(err)`)."""
        return str(self.args[0]) if self.args else ""


class DefinitionsError(StewardError):
    """The governed definitions file is invalid."""


class ImportRejected(StewardError):
    """An import was refused; nothing was written."""


class StoreError(StewardError):
    """The snapshot store could not be opened or written."""


def describe(exc: BaseException) -> tuple[str, list[str]]:
    """(one-line reason, detail lines) for any exception, the way users are shown it.

    A StewardError gives its reason and details; anything else its own text (a
    KeyError's message without the quotes `str()` adds around it).
    """
    if isinstance(exc, StewardError):
        return exc.message, list(exc.details)
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        return str(exc.args[0]), []
    return str(exc), []
