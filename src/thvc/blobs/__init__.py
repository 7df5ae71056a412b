"""Encrypted blob storage: the ``BlobStore`` contract, its stores and the crypto below them.

Blobs are sealed with a segmented streaming AEAD (``crypto``) under per-blob
keys derived from each tenant's data key; ``docs/encryption.md`` has the
format. ``local`` keeps them on disk; an S3 store will implement the same
``interfaces.BlobStore``.
"""

from __future__ import annotations

from thvc.blobs.crypto import (
    HEADER_SIZE,
    TAG_SIZE,
    SegmentDecryptor,
    SegmentEncryptor,
    ciphertext_size,
    load_or_create_master_key,
    new_data_key,
    unwrap_key,
    wrap_key,
)
from thvc.blobs.errors import BlobCorrupt, BlobError, BlobMissing, KeyUnwrapError
from thvc.blobs.interfaces import BlobInfo, BlobStore, BlobWriter, DataKey
from thvc.blobs.local import LocalBlobStore, LocalBlobWriter

__all__ = [
    "HEADER_SIZE",
    "TAG_SIZE",
    "BlobCorrupt",
    "BlobError",
    "BlobInfo",
    "BlobMissing",
    "BlobStore",
    "BlobWriter",
    "DataKey",
    "KeyUnwrapError",
    "LocalBlobStore",
    "LocalBlobWriter",
    "SegmentDecryptor",
    "SegmentEncryptor",
    "ciphertext_size",
    "load_or_create_master_key",
    "new_data_key",
    "unwrap_key",
    "wrap_key",
]
