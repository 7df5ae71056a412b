"""Segmented streaming AEAD for blobs, and the keys above it.

The format follows Tink's AES-GCM-HKDF streaming AEAD: a header carrying a
random salt, a per-blob key derived with HKDF, and the plaintext cut into
segments that are each sealed with AES-256-GCM. Every segment authenticates its
index, whether it is the last one, and the blob id, so truncation, reordering,
splicing segments between blobs and swapping whole blobs all fail to decrypt.
``docs/encryption.md`` describes the format and the key hierarchy.

Key hierarchy: a master key file wraps each tenant's data key (the wrapped key
lives in the database); each blob gets its own key derived from the tenant's
data key.
"""

from __future__ import annotations

import errno
import functools
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from thvc.blobs._fsutil import fsync_dir, make_dirs, read_exact, write_all
from thvc.blobs.errors import BlobCorrupt, BlobError, KeyUnwrapError

MAGIC = b"THVCBLB1"
SALT_SIZE = 32
# magic + segment size (u32 big-endian) + salt
HEADER_SIZE = len(MAGIC) + 4 + SALT_SIZE
TAG_SIZE = 16
KEY_SIZE = 32
NONCE_SIZE = 12
MIN_SEGMENT_SIZE = 1
# The segment size comes from the (possibly hostile) header and a reader holds
# one segment in memory, so it is bounded well below the u32 limit.
MAX_SEGMENT_SIZE = 64 << 20

_HKDF_INFO = b"thvc blob v1"
_WRAP_AAD = b"thvc-tenant-key:"
_MAX_INDEX = (1 << 64) - 1


def segment_count(plain_size: int, segment_size: int) -> int:
    """Number of segments of a blob; an empty blob still has one (empty, final) segment."""
    if plain_size < 0:
        raise ValueError("plain_size must not be negative")
    check_segment_size(segment_size)
    return max(1, -(-plain_size // segment_size))


def ciphertext_size(plain_size: int, segment_size: int) -> int:
    """Bytes after the header for ``plain_size`` bytes of plaintext: one tag per segment."""
    return plain_size + segment_count(plain_size, segment_size) * TAG_SIZE


def check_segment_size(segment_size: int) -> None:
    """ValueError unless ``segment_size`` is within the supported range."""
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise ValueError(
            f"segment_size must be between {MIN_SEGMENT_SIZE} and {MAX_SEGMENT_SIZE}, "
            f"got {segment_size}"
        )


def _check_key(key: bytes, what: str) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError(f"{what} must be {KEY_SIZE} bytes, got {len(key)}")


def _blob_key(data_key: bytes, blob_id: str, segment_size: int, salt: bytes) -> AESGCM:
    # The segment size is bound into the key (fixed-width, before the
    # variable-length blob id so the info string is unambiguous): it sits in the
    # header, and otherwise a flipped size byte could go unnoticed on a blob
    # that fits one segment. Magic and salt need no binding: the magic is
    # compared exactly and the salt already selects the key.
    info = _HKDF_INFO + segment_size.to_bytes(4, "big") + blob_id.encode()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=info)
    return AESGCM(hkdf.derive(data_key))


@functools.lru_cache(maxsize=4096)
def _opening_key(data_key: bytes, blob_id: str, segment_size: int, salt: bytes) -> AESGCM:
    """:func:`_blob_key` of a stored blob, remembered: the same files are read again and
    again, and for a small one HKDF cost as much as reading and decrypting it. (Writing
    needs no cache: every blob gets a fresh salt, hence a fresh key.)"""
    return _blob_key(data_key, blob_id, segment_size, salt)


def _nonce(index: int, last: bool) -> bytes:
    # Unique per (key, segment) because every blob has its own key.
    if not 0 <= index <= _MAX_INDEX:
        raise ValueError(f"segment index out of range: {index}")
    return index.to_bytes(8, "big") + (b"\x01" if last else b"\x00") + b"\x00\x00\x00"


def _aad(blob_id: bytes, index: int, last: bool) -> bytes:
    return blob_id + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


class SegmentEncryptor:
    """Encrypts one blob, segment by segment, in order; a fresh salt each time."""

    def __init__(self, key: bytes, blob_id: str, segment_size: int) -> None:
        _check_key(key, "data key")
        check_segment_size(segment_size)
        salt = os.urandom(SALT_SIZE)
        self.header: bytes = MAGIC + segment_size.to_bytes(4, "big") + salt
        self.segment_size = segment_size
        self._aead = _blob_key(key, blob_id, segment_size, salt)
        self._blob_id = blob_id.encode()
        self._next = 0
        self._finished = False

    def encrypt(self, index: int, plain: bytes | bytearray | memoryview, last: bool) -> bytes:
        """Seal segment ``index``: exactly ``segment_size`` bytes unless ``last``.

        Indexes must come 0, 1, 2, ... and nothing may follow the last segment:
        the nonce depends only on the index, so sealing an index twice would
        reuse a GCM nonce under the same key. Misuse raises ValueError.
        """
        if self._finished:
            raise ValueError("the last segment has already been encrypted")
        if index != self._next:
            raise ValueError(f"expected segment {self._next}, got {index}")
        size = len(plain)
        if last:
            # Only the empty blob has an empty final segment; elsewhere an empty
            # last segment would make two encodings of the same plaintext.
            if size > self.segment_size or (size == 0 and index != 0):
                raise ValueError(f"bad size {size} for the last segment {index}")
        elif size != self.segment_size:
            raise ValueError(f"segment {index} must hold {self.segment_size} bytes, got {size}")
        sealed = self._aead.encrypt(_nonce(index, last), plain, _aad(self._blob_id, index, last))
        self._next += 1
        self._finished = last
        return sealed


class SegmentDecryptor:
    """Decrypts the segments of one blob, in any order, given its header."""

    def __init__(self, key: bytes, blob_id: str, header: bytes) -> None:
        _check_key(key, "data key")
        self._blob_id_str = blob_id
        if len(header) != HEADER_SIZE or not header.startswith(MAGIC):
            raise BlobCorrupt(blob_id, "bad header")
        segment_size = int.from_bytes(header[len(MAGIC) : len(MAGIC) + 4], "big")
        if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
            raise BlobCorrupt(blob_id, f"bad segment size {segment_size} in header")
        self.segment_size = segment_size
        salt = header[len(MAGIC) + 4 :]
        self._aead = _opening_key(key, blob_id, segment_size, salt)
        self._blob_id = blob_id.encode()

    def decrypt(self, index: int, cipher: bytes, last: bool) -> bytes:
        """Open segment ``index``; BlobCorrupt if it does not authenticate or has a bad size.

        ``last`` must say whether the caller expects this to be the final
        segment; a truncated or extended blob then fails here.
        """
        plain_size = len(cipher) - TAG_SIZE
        if last:
            ok = 0 < plain_size <= self.segment_size or (plain_size == 0 and index == 0)
        else:
            ok = plain_size == self.segment_size
        if not ok:
            raise BlobCorrupt(self._blob_id_str, f"segment {index} has a bad length")
        try:
            return self._aead.decrypt(_nonce(index, last), cipher, _aad(self._blob_id, index, last))
        except InvalidTag:
            raise BlobCorrupt(self._blob_id_str, f"segment {index} failed authentication") from None


def new_data_key() -> bytes:
    """A fresh random tenant data key (32 bytes)."""
    return os.urandom(KEY_SIZE)


def _wrap_aad(tenant_id: int) -> bytes:
    # Binding the tenant id stops a wrapped key being copied onto another tenant.
    return _WRAP_AAD + str(tenant_id).encode()


def wrap_key(master_key: bytes, tenant_id: int, data_key: bytes) -> bytes:
    """Seal a tenant's data key under the master key: nonce (12) + ciphertext + tag.

    Random nonces are safe here: a master key wraps one key per tenant, far
    below the 2**32 messages where 96-bit random nonces start to risk colliding.
    """
    _check_key(master_key, "master key")
    _check_key(data_key, "data key")
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(master_key).encrypt(nonce, data_key, _wrap_aad(tenant_id))


def unwrap_key(master_key: bytes, tenant_id: int, wrapped: bytes) -> bytes:
    """Open a key sealed by :func:`wrap_key`; KeyUnwrapError if it does not authenticate."""
    _check_key(master_key, "master key")
    if len(wrapped) != NONCE_SIZE + KEY_SIZE + TAG_SIZE:
        raise KeyUnwrapError(tenant_id)
    try:
        return AESGCM(master_key).decrypt(
            wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], _wrap_aad(tenant_id)
        )
    except InvalidTag:
        raise KeyUnwrapError(tenant_id) from None


def load_or_create_master_key(path: Path) -> bytes:
    """Read the 32-byte master key at ``path``, creating it (mode 0600) if absent.

    An existing file must be a regular file of exactly 32 bytes that neither
    group nor others can access; anything else raises BlobError naming the
    problem. A new key is written to a temporary file, fsynced, and linked into
    place without overwriting, then the directory is fsynced: when several
    workers start at once exactly one key wins and all of them use it.
    """
    try:
        return _read_master_key(path)
    except FileNotFoundError:
        pass
    make_dirs(path.parent, 0o700)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        try:
            write_all(fd, os.urandom(KEY_SIZE))
            os.fsync(fd)
        finally:
            os.close(fd)
        _link_no_clobber(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return _read_master_key(path)


def _link_no_clobber(temp: Path, path: Path) -> None:
    # os.replace would silently overwrite a key another worker created a moment
    # ago, and that worker may already have wrapped tenant keys with it.
    try:
        os.link(temp, path)
    except FileExistsError:
        return  # another process won; its key is the one
    except OSError as exc:
        # Some filesystems have no hard links; fall back to a rename, which
        # leaves only a tiny window for the race above.
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
            raise
        if not path.exists():
            os.replace(temp, path)


def _read_master_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BlobError(f"master key file {path} is not a regular file")
        if st.st_mode & 0o077:
            raise BlobError(
                f"master key file {path} is accessible by group or others "
                f"(mode {stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {path}"
            )
        key = read_exact(fd, KEY_SIZE + 1)
    finally:
        os.close(fd)
    if len(key) != KEY_SIZE:
        raise BlobError(
            f"master key file {path} must hold exactly {KEY_SIZE} bytes"
            + (f", found {len(key)}" if len(key) <= KEY_SIZE else ", found more")
        )
    return key
