"""Errors the core raises on purpose; anything else is a bug and fails open."""

from __future__ import annotations


class InvalidRequest(ValueError):
    """The caller sent something no provider would accept; maps to a 4xx, never a 500."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
