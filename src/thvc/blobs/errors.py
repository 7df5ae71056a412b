"""Errors of the blob store; each carries what the caller needs to report it."""

from __future__ import annotations


class BlobError(Exception):
    """Base class of every error raised by :mod:`thvc.blobs`."""


class BlobCorrupt(BlobError):
    """A blob failed authentication or does not have the recorded size.

    Raised for truncation, reordered or flipped bytes, a blob swapped with
    another one, or the wrong key. No plaintext from a failing segment is ever
    returned.
    """

    def __init__(self, blob_id: str, reason: str) -> None:
        super().__init__(f"blob {blob_id} is corrupt: {reason}")
        self.blob_id = blob_id
        self.reason = reason


class BlobMissing(BlobError):
    """No blob is stored under this id."""

    def __init__(self, blob_id: str) -> None:
        super().__init__(f"blob {blob_id} is missing")
        self.blob_id = blob_id


class KeyUnwrapError(BlobError):
    """A wrapped tenant data key did not authenticate under the master key.

    Either the master key is not the one the key was wrapped with, the wrapped
    key belongs to another tenant, or it was altered.
    """

    def __init__(self, tenant_id: int) -> None:
        super().__init__(f"cannot unwrap the data key of tenant {tenant_id}")
        self.tenant_id = tenant_id
