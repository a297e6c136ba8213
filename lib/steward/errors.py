"""Errors a user can act on. Each carries a one-line reason and optional details."""

from __future__ import annotations


class StewardError(Exception):
    """Base class: `str(err)` is the one-line reason; `details` the lines behind it."""

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


class DefinitionsError(StewardError):
    """The governed definitions file is invalid."""


class ImportRejected(StewardError):
    """An import was refused; nothing was written."""


class StoreError(StewardError):
    """The snapshot store could not be opened or written."""
