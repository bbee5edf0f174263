"""Errors the core raises on purpose; anything else is a bug and fails open."""

from __future__ import annotations


class InvalidRequest(ValueError):
    """The caller sent something no provider would accept; the HTTP boundary answers 400."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
