"""The companies service's refusals, each with a stable `code`."""

from __future__ import annotations

from typing import Any


class CompanyError(Exception):
    """A refused operation, with a stable `code`."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class LoginError(CompanyError):
    """Login on the linking page refused (`invalid` never says which field was wrong)."""


class LinkError(CompanyError):
    """An accountLink event that links nothing."""
