"""Blobs as encrypted files on a local filesystem (the embedded default).

Layout under ``root``::

    <tenant_id>/<blob_id[:2]>/<blob_id>     committed blobs (header + segments)
    .tmp/<blob_id>.<random>.part            blobs being written

``.tmp`` sits under the same root so that committing is one atomic rename on
one filesystem. Writes follow the usual durable pattern: write the temporary
file, fsync it, ``os.replace`` it into place, fsync the directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from thvc.blobs._fsutil import fsync_dir, make_dirs, start_writeback, write_all
from thvc.blobs.crypto import (
    HEADER_SIZE,
    TAG_SIZE,
    SegmentDecryptor,
    SegmentEncryptor,
    check_segment_size,
    ciphertext_size,
    segment_count,
)
from thvc.blobs.errors import BlobCorrupt, BlobMissing
from thvc.blobs.interfaces import BlobInfo, DataKey

_BLOB_ID = re.compile(r"[0-9a-f]{32}")
_TEMP_DIR = ".tmp"
_TEMP_SUFFIX = ".part"
# Blobs up to this size are read in the call that checks them (LocalBlobStore.read).
EAGER_MAX = 64 << 10
# A blob being written is handed to the disk every this many bytes (_fsutil.start_writeback).
WRITEBACK_AFTER = 8 << 20


def _check_blob_id(blob_id: str) -> str:
    # Blob ids become path components: only uuid4().hex is accepted, so no
    # "..", separators or odd characters can reach the filesystem.
    if not isinstance(blob_id, str) or _BLOB_ID.fullmatch(blob_id) is None:
        raise ValueError(f"invalid blob id: {blob_id!r}")
    return blob_id


def _check_tenant_id(tenant_id: int) -> int:
    if type(tenant_id) is not int or tenant_id < 0:
        raise ValueError(f"invalid tenant id: {tenant_id!r}")
    return tenant_id


def _segments_of(size: int, seg: int, start: int, end: int) -> tuple[int, int]:
    """The first and last segment holding ``[start, end)`` of a blob of ``size`` bytes.

    An empty range still names one segment, so that reading an empty blob checks its key
    and its bytes like any other.
    """
    last = segment_count(size, seg) - 1
    first = min(start // seg, last)
    return first, (max(first, (end - 1) // seg) if end > start else first)


def _plain(
    file: BinaryIO,
    decryptor: SegmentDecryptor,
    blob_id: str,
    size: int,
    index: int,
    start: int,
    end: int,
) -> tuple[bytes, ...]:
    """The plaintext of segment ``index`` within ``[start, end)`` (nothing if none of it is)."""
    seg = decryptor.segment_size
    is_last = index == segment_count(size, seg) - 1
    length = (size - index * seg if is_last else seg) + TAG_SIZE
    file.seek(HEADER_SIZE + index * (seg + TAG_SIZE))
    cipher = file.read(length)
    if len(cipher) != length:
        raise BlobCorrupt(blob_id, f"segment {index} is short")
    plain = decryptor.decrypt(index, cipher, is_last)
    offset = index * seg
    lo = max(start - offset, 0)
    hi = min(end - offset, len(plain))
    if lo >= hi:
        return ()
    return (plain if (lo == 0 and hi == len(plain)) else plain[lo:hi],)


class LocalBlobWriter:
    """Writes one blob to a temporary file, then commits it into place."""

    def __init__(self, store: LocalBlobStore, key: DataKey, blob_id: str) -> None:
        self.blob_id = blob_id
        self.size = 0
        self._final = store._blob_path(key.tenant_id, blob_id)
        self._encryptor = SegmentEncryptor(key.key, blob_id, store.segment_size)
        self._segment_size = store.segment_size
        self._hash = hashlib.sha256()
        # One segment of pending plaintext, allocated once. The last full
        # segment is always held back: only commit knows it is the last one.
        self._buf = bytearray(store.segment_size)
        self._fill = 0
        self._index = 0
        # Bytes in the file, and up to where the disk has been asked to write them.
        self._written = self._started = len(self._encryptor.header)
        self._state = "open"  # open -> committed | aborted | failed
        self._temp = store._temp_dir / f"{blob_id}.{secrets.token_hex(8)}{_TEMP_SUFFIX}"
        self._fd: int | None = os.open(
            self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
        )
        try:
            write_all(self._fd, self._encryptor.header)
        except BaseException:
            self.abort()
            raise

    def _check_open(self) -> int:
        if self._state != "open" or self._fd is None:
            raise ValueError(f"blob writer is {self._state}")
        return self._fd

    def _emit(self, fd: int, plain: bytes | bytearray | memoryview, last: bool) -> None:
        sealed = self._encryptor.encrypt(self._index, plain, last)
        write_all(fd, sealed)
        self._index += 1
        self._written += len(sealed)
        if self._written - self._started >= WRITEBACK_AFTER:
            start_writeback(fd, self._started, self._written - self._started)
            self._started = self._written

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data``; full segments are sealed and written as they complete."""
        fd = self._check_open()
        if not data:
            return
        try:
            self._write(fd, memoryview(data).cast("B"))
        except BaseException:
            self._state = "failed"
            raise

    def _write(self, fd: int, view: memoryview) -> None:
        seg = self._segment_size
        self._hash.update(view)
        self.size += len(view)
        pos = 0
        if self._fill:
            take = min(seg - self._fill, len(view))
            self._buf[self._fill : self._fill + take] = view[:take]
            self._fill += take
            pos = take
            if pos == len(view):
                return  # possibly a full segment, held back until more arrives
            self._emit(fd, memoryview(self._buf), last=False)
            self._fill = 0
        # Whole segments straight from the caller's buffer, no copy; strictly
        # more than one segment must remain so the final one is held back.
        while len(view) - pos > seg:
            self._emit(fd, view[pos : pos + seg], last=False)
            pos += seg
        rest = len(view) - pos
        self._buf[:rest] = view[pos:]
        self._fill = rest

    def commit(self) -> BlobInfo:
        """Seal the last segment, fsync, rename into place, fsync the directory."""
        fd = self._check_open()
        try:
            self._emit(fd, memoryview(self._buf)[: self._fill], last=True)
            os.fsync(fd)
            self._fd = None  # before close: a failed close must not be retried
            os.close(fd)
            make_dirs(self._final.parent)
            os.replace(self._temp, self._final)
        except BaseException:
            self.abort()
            raise
        self._buf = bytearray()
        try:
            fsync_dir(self._final.parent)
        except BaseException:
            # Not known to be durable: take it back, so that a failed commit
            # never leaves a blob the caller believes was not stored.
            self._state = "failed"
            self._final.unlink(missing_ok=True)
            raise
        self._state = "committed"
        return BlobInfo(blob_id=self.blob_id, size=self.size, sha256=self._hash.hexdigest())

    def abort(self) -> None:
        """Close and remove the temporary file; idempotent, no-op after commit."""
        if self._state == "committed":
            return
        self._state = "aborted"
        self._buf = bytearray()
        try:
            if self._fd is not None:
                fd, self._fd = self._fd, None
                os.close(fd)
        finally:
            self._temp.unlink(missing_ok=True)

    def __del__(self) -> None:
        # A writer dropped without commit or abort can never commit: free its
        # descriptor and temporary file now rather than at the next clean_temp.
        if getattr(self, "_state", "aborted") in ("open", "failed"):
            with contextlib.suppress(Exception):
                self.abort()


class LocalBlobStore:
    """A :class:`~thvc.blobs.interfaces.BlobStore` in a directory of encrypted files."""

    # Like nginx, which reads files on its event loop: a small file is one or two reads
    # from the page cache (thvc.onloop).
    reads_on_loop = True

    def __init__(self, root: Path, *, segment_size: int = 1 << 20) -> None:
        check_segment_size(segment_size)
        self.root = Path(root)
        self._root = os.fspath(self.root)
        self.segment_size = segment_size
        self._temp_dir = self.root / _TEMP_DIR
        make_dirs(self._temp_dir)

    def _tenant_dir(self, tenant_id: int) -> Path:
        return self.root / str(_check_tenant_id(tenant_id))

    def _blob_path(self, tenant_id: int, blob_id: str) -> Path:
        return Path(self._blob_file(tenant_id, blob_id))

    def _blob_file(self, tenant_id: int, blob_id: str) -> str:
        """:meth:`_blob_path` as a string: joining Paths cost a small GET 3 %."""
        _check_blob_id(blob_id)
        return f"{self._root}/{_check_tenant_id(tenant_id)}/{blob_id[:2]}/{blob_id}"

    def writer(self, key: DataKey, blob_id: str) -> LocalBlobWriter:
        """Start writing a blob; see :meth:`BlobStore.writer`."""
        return LocalBlobWriter(self, key, blob_id)

    def read(
        self, key: DataKey, blob_id: str, size: int, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """Plaintext ``[start, end)``; see :meth:`BlobStore.read`."""
        path = self._blob_file(key.tenant_id, blob_id)
        if end is None:
            end = size
        if not 0 <= start <= end <= size:
            raise ValueError(f"bad range [{start}, {end}) for a blob of {size} bytes")
        # Check existence, header and length now, so that a caller can answer
        # 404 or 500 before it starts a response; the generator checks again.
        file, decryptor = self._open(path, key, blob_id, size)
        with file:
            first, stop = _segments_of(size, decryptor.segment_size, start, end)
            if first == stop and size <= EAGER_MAX:
                # A small file: read now, in the one open. (Not a larger one: this may
                # run on the event loop, and decrypting a segment of 1 MiB takes ~0.3 ms.)
                return iter(_plain(file, decryptor, blob_id, size, first, start, end))
        return self._read(path, key, blob_id, size, start, end)

    def _open(
        self, path: str, key: DataKey, blob_id: str, size: int
    ) -> tuple[BinaryIO, SegmentDecryptor]:
        try:
            file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the caller
        except FileNotFoundError:
            raise BlobMissing(blob_id) from None
        try:
            header = file.read(HEADER_SIZE)
            decryptor = SegmentDecryptor(key.key, blob_id, header)
            expected = HEADER_SIZE + ciphertext_size(size, decryptor.segment_size)
            actual = os.fstat(file.fileno()).st_size
            if actual != expected:
                raise BlobCorrupt(blob_id, f"stored length {actual}, expected {expected}")
        except BaseException:
            file.close()
            raise
        return file, decryptor

    def _read(
        self, path: str, key: DataKey, blob_id: str, size: int, start: int, end: int
    ) -> Iterator[bytes]:
        file, decryptor = self._open(path, key, blob_id, size)
        with file:
            first, stop = _segments_of(size, decryptor.segment_size, start, end)
            for index in range(first, stop + 1):
                yield from _plain(file, decryptor, blob_id, size, index, start, end)

    def delete(self, tenant_id: int, blob_id: str) -> None:
        """Remove a blob if present; not fsynced."""
        self._blob_path(tenant_id, blob_id).unlink(missing_ok=True)

    def exists(self, tenant_id: int, blob_id: str) -> bool:
        """Whether the blob's file is there."""
        return self._blob_path(tenant_id, blob_id).is_file()

    def iter_blobs(self) -> Iterator[tuple[int, str]]:
        """Every stored ``(tenant_id, blob_id)``, in a stable order; strays are skipped."""
        for tenant_name in _sorted_names(self.root):
            # Only canonical decimal names: "007" or "+7" would alias tenant 7.
            if not tenant_name.isdigit() or str(int(tenant_name)) != tenant_name:
                continue
            tenant_dir = self.root / tenant_name
            for prefix in _sorted_names(tenant_dir):
                for blob_id in _sorted_names(tenant_dir / prefix):
                    if _BLOB_ID.fullmatch(blob_id) and blob_id[:2] == prefix:
                        yield int(tenant_name), blob_id

    def clean_temp(self, older_than_seconds: float) -> int:
        """Remove ``.part`` files not modified for ``older_than_seconds``; return the count."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for name in _sorted_names(self._temp_dir):
            if not name.endswith(_TEMP_SUFFIX):
                continue
            path = self._temp_dir / name
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # committed or aborted meanwhile
        return removed

    def delete_tenant(self, tenant_id: int) -> None:
        """Remove the tenant's directory tree; not fsynced."""
        tenant_dir = self._tenant_dir(tenant_id)
        # A concurrent delete() can remove an entry rmtree is about to remove,
        # which aborts it; start again until the tree is gone.
        for _ in range(10):
            try:
                shutil.rmtree(tenant_dir)
                return
            except FileNotFoundError:
                if not tenant_dir.exists():
                    return
        shutil.rmtree(tenant_dir)


def _sorted_names(directory: Path) -> list[str]:
    # A directory may vanish under us (a tenant being deleted): list nothing.
    try:
        return sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
