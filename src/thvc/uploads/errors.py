"""Errors of the upload core; adapters map them through their base classes."""

from __future__ import annotations

from thvc.errors import BadRequest, Conflict, NotFound


class UploadNotFound(NotFound):
    """No such upload (or none of yours)."""


class PartNotFound(NotFound):
    """No such part in this upload."""


class InvalidPartName(BadRequest):
    """A part name must be a number (a chunk number or a byte offset)."""


class PartsExceedLength(BadRequest):
    """The parts add up to more than the declared total length."""

    def __init__(self, declared: int, received: int) -> None:
        super().__init__(
            f"the parts add up to {received} bytes, more than the declared {declared} bytes"
        )
        self.declared = declared
        self.received = received


class IncompleteUpload(BadRequest):
    """A part is missing, or parts overlap: the upload cannot be assembled."""

    def __init__(self, message: str, *, position: int) -> None:
        super().__init__(message)
        self.position = position


class LengthMismatch(BadRequest):
    """The parts do not add up to the declared total length."""

    def __init__(self, declared: int, received: int) -> None:
        super().__init__(
            f"the parts add up to {received} bytes, but the total length is {declared} bytes"
        )
        self.declared = declared
        self.received = received


class OffsetMismatch(Conflict):
    """An appending upload (tus) must continue at the offset the server has."""

    def __init__(self, expected: int, given: int) -> None:
        super().__init__(f"the upload is at offset {expected}, not {given}")
        self.expected = expected
        self.given = given
