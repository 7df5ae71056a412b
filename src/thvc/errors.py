"""The families of core errors. Each adapter maps them to its protocol once, on these bases.

Capabilities define their own subclasses next to their services; an error
carries the data an adapter needs (``QuotaExceeded.needed``,
``TooManyFailedLogins.resets_in``).
"""

from __future__ import annotations


class ThvcError(Exception):
    """Base of every error the core reports to a caller."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__doc__ or self.__class__.__name__)

    @property
    def message(self) -> str:
        return str(self.args[0])


class BadRequest(ThvcError):
    """The request is malformed."""


class InvalidName(BadRequest):
    """The name or path is not allowed."""


class NotAuthenticated(ThvcError):
    """Login name or password is wrong."""


class TooManyFailedLogins(ThvcError):
    """Too many failed logins; try again later."""

    def __init__(self, resets_in: int) -> None:
        super().__init__(f"too many failed logins; try again in {resets_in} s")
        self.resets_in = resets_in


class NotFound(ThvcError):
    """No such resource (or none the caller may see)."""


class Forbidden(ThvcError):
    """The caller may see this but not do that."""


class Conflict(ThvcError):
    """The request conflicts with the current state (e.g. a missing parent)."""


class AlreadyExists(Conflict):
    """Something of that name exists already."""


class PreconditionFailed(ThvcError):
    """A condition of the request (If-Match, Overwrite: F, ...) does not hold."""


class QuotaExceeded(ThvcError):
    """Not enough space left in a quota."""

    def __init__(self, needed: int, available: int, scope: str) -> None:
        super().__init__(f"{scope} quota exceeded: {needed} bytes needed, {available} available")
        self.needed = needed
        self.available = available
        self.scope = scope
