"""The blob store contract, shared by the local-disk and S3 stores.

A blob is an immutable, encrypted byte string named by a random id and owned by
one tenant. The database records its plaintext size and SHA-256; the store
never sees file names or any other metadata.

Errors: a missing blob raises :class:`~thvc.blobs.errors.BlobMissing`; bytes
that fail authentication, or do not match the recorded size, raise
:class:`~thvc.blobs.errors.BlobCorrupt`; a malformed blob id, tenant id or
range raises ``ValueError``; failures of the storage itself (disk full,
permissions, network) propagate as ``OSError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class DataKey:
    """A tenant's unwrapped data key (kept out of ``repr`` so it never lands in a log)."""

    tenant_id: int
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class BlobInfo:
    """What a committed blob is: id, plaintext size and plaintext SHA-256 (hex)."""

    blob_id: str
    size: int
    sha256: str


class BlobWriter(Protocol):
    """Streams one new blob into the store; nothing is visible before :meth:`commit`."""

    blob_id: str
    size: int
    """Plaintext bytes written so far."""

    def write(self, data: bytes) -> None:
        """Append ``data`` (any length, including empty) to the blob.

        The plaintext is hashed and encrypted as it arrives; memory stays
        bounded by one segment whatever the blob size. If this raises, the
        writer is unusable: call :meth:`abort`.
        """
        ...

    def commit(self) -> BlobInfo:
        """Seal the final segment and make the blob durable and visible.

        When this returns, the blob survives a crash and reads back exactly.
        If it raises, the blob is not stored (the temporary data is removed).
        Committing twice, or after :meth:`abort`, raises ``ValueError``.
        """
        ...

    def abort(self) -> None:
        """Drop the blob being written and its temporary data.

        Idempotent, safe after a failed write or commit, and a no-op after a
        successful commit.
        """
        ...


class BlobStore(Protocol):
    """Where encrypted blobs live; keys come from the caller on every call."""

    # Reads are local file reads, quick enough for the event loop (thvc.onloop); a store
    # across the network says False, or calls onloop.check before each round trip.
    reads_on_loop: bool

    def writer(self, key: DataKey, blob_id: str) -> BlobWriter:
        """Start writing blob ``blob_id`` for ``key.tenant_id``.

        ``blob_id`` is fresh (``uuid4().hex``); writing an id that already
        exists replaces it on commit, so callers must never reuse one.
        """
        ...

    def read(
        self, key: DataKey, blob_id: str, size: int, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """Plaintext bytes ``[start, end)`` of a blob, in chunks of at most one segment.

        ``size`` is the plaintext size recorded when the blob was committed;
        ``end`` defaults to it and ``0 <= start <= end <= size`` must hold
        (else ValueError). Only the segments covering the range are read and
        decrypted. Raises BlobMissing if there is no such blob and BlobCorrupt
        if its stored length does not match ``size`` or a segment fails
        authentication (wrong key, tampering, truncation, another blob's
        bytes); a chunk is yielded only after it has been authenticated, so
        wrong bytes are never returned. Missing and mismatched blobs may be
        reported when ``read`` is called, before iteration starts.
        """
        ...

    def delete(self, tenant_id: int, blob_id: str) -> None:
        """Remove a blob; a missing one is fine. Not made durable: a crash may
        bring it back, and fsck removes blobs nothing refers to."""
        ...

    def exists(self, tenant_id: int, blob_id: str) -> bool:
        """Whether a committed blob with this id is stored for this tenant."""
        ...

    def iter_blobs(self) -> Iterator[tuple[int, str]]:
        """Every stored ``(tenant_id, blob_id)``, for fsck; blobs being written are not listed."""
        ...

    def clean_temp(self, older_than_seconds: float) -> int:
        """Remove temporary data of writes untouched for longer than this; return how many.

        Pick a limit longer than any upload may stay idle: a writer whose
        temporary data was removed fails on commit.
        """
        ...

    def delete_tenant(self, tenant_id: int) -> None:
        """Remove every blob of a tenant; a tenant with no blobs is fine.

        Not made durable; repeating the call after a crash finishes the job.
        """
        ...
