"""Errors of the file core; each adapter maps them through their base classes."""

from __future__ import annotations

from thvc.errors import BadRequest, Conflict, Forbidden, NotFound


class NodeNotFound(NotFound):
    """No such file or folder."""


class ParentMissing(Conflict):
    """The parent folder does not exist."""


class IsCollection(Conflict):
    """The target is a folder; this operation needs a file."""


class NotCollection(Conflict):
    """The target is a file; this operation needs a folder."""


class ReadOnly(Forbidden):
    """You may read here but not change anything."""


class ProtectedNode(Forbidden):
    """The root of a space cannot be deleted, moved or renamed."""


class IntoItself(Forbidden):
    """A folder cannot be copied or moved into itself."""


class ChecksumMismatch(BadRequest):
    """The content does not match the checksum sent with it."""
