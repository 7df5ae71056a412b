"""Segment AEAD, key wrapping and the master key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from thvc.blobs import crypto
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
from thvc.blobs.errors import BlobCorrupt, BlobError, KeyUnwrapError
from thvc.blobs.interfaces import DataKey

SEG = 64
BLOB_ID = "0123456789abcdef0123456789abcdef"


def _seal(key: bytes, data: bytes, blob_id: str = BLOB_ID) -> tuple[bytes, list[bytes]]:
    enc = SegmentEncryptor(key, blob_id, SEG)
    pieces = [data[i : i + SEG] for i in range(0, len(data), SEG)] or [b""]
    sealed = [enc.encrypt(i, p, i == len(pieces) - 1) for i, p in enumerate(pieces)]
    return enc.header, sealed


def _open(key: bytes, header: bytes, sealed: list[bytes], blob_id: str = BLOB_ID) -> bytes:
    dec = SegmentDecryptor(key, blob_id, header)
    return b"".join(dec.decrypt(i, c, i == len(sealed) - 1) for i, c in enumerate(sealed))


def test_header_layout() -> None:
    enc = SegmentEncryptor(new_data_key(), BLOB_ID, 4096)
    assert HEADER_SIZE == 8 + 4 + 32 == len(enc.header)
    assert enc.header[:8] == b"THVCBLB1"
    assert enc.header[8:12] == (4096).to_bytes(4, "big")
    # A fresh salt per blob, hence a fresh key and never a repeated nonce.
    assert SegmentEncryptor(new_data_key(), BLOB_ID, 4096).header[12:] != enc.header[12:]


@pytest.mark.parametrize(
    ("plain", "expected"),
    [(0, TAG_SIZE), (1, 1 + TAG_SIZE), (SEG, SEG + TAG_SIZE), (SEG + 1, SEG + 1 + 2 * TAG_SIZE)],
)
def test_ciphertext_size(plain: int, expected: int) -> None:
    assert ciphertext_size(plain, SEG) == expected


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG + 5])
def test_round_trip(size: int) -> None:
    key, data = new_data_key(), os.urandom(size)
    header, sealed = _seal(key, data)
    assert sum(map(len, sealed)) == ciphertext_size(size, SEG)
    assert _open(key, header, sealed) == data


def test_encryptor_refuses_nonce_reuse_and_bad_sizes() -> None:
    enc = SegmentEncryptor(new_data_key(), BLOB_ID, SEG)
    with pytest.raises(ValueError):
        enc.encrypt(1, bytes(SEG), False)  # out of order
    with pytest.raises(ValueError):
        enc.encrypt(0, bytes(SEG - 1), False)  # short middle segment
    enc.encrypt(0, bytes(SEG), False)
    with pytest.raises(ValueError):
        enc.encrypt(0, bytes(SEG), False)  # same index twice = same nonce
    with pytest.raises(ValueError):
        enc.encrypt(1, b"", True)  # only the empty blob ends with an empty segment
    with pytest.raises(ValueError):
        enc.encrypt(1, bytes(SEG + 1), True)
    enc.encrypt(1, b"x", True)
    with pytest.raises(ValueError):
        enc.encrypt(2, b"x", True)  # nothing after the last segment


@pytest.mark.parametrize("segment_size", [0, crypto.MAX_SEGMENT_SIZE + 1])
def test_encryptor_refuses_bad_segment_size(segment_size: int) -> None:
    with pytest.raises(ValueError):
        SegmentEncryptor(new_data_key(), BLOB_ID, segment_size)


def test_encryptor_refuses_short_key() -> None:
    with pytest.raises(ValueError):
        SegmentEncryptor(b"short", BLOB_ID, SEG)


@pytest.mark.parametrize(
    "header",
    [
        b"",
        b"THVCBLB1",
        b"THVCBLB2" + (64).to_bytes(4, "big") + bytes(32),
        b"THVCBLB1" + (0).to_bytes(4, "big") + bytes(32),
        b"THVCBLB1" + (1 << 31).to_bytes(4, "big") + bytes(32),
        b"THVCBLB1" + (64).to_bytes(4, "big") + bytes(33),
    ],
)
def test_decryptor_rejects_bad_header(header: bytes) -> None:
    with pytest.raises(BlobCorrupt) as info:
        SegmentDecryptor(new_data_key(), BLOB_ID, header)
    assert info.value.blob_id == BLOB_ID


@pytest.mark.parametrize("size", [0, 1, SEG, 3 * SEG + 5])
@pytest.mark.parametrize("position", range(HEADER_SIZE))
def test_any_header_flip_is_detected(size: int, position: int) -> None:
    # Includes the segment-size bytes of a blob that fits one segment, where
    # only the binding of the size into the key derivation catches it.
    key, data = new_data_key(), os.urandom(size)
    header, sealed = _seal(key, data)
    bad = bytearray(header)
    bad[position] ^= 0x01
    with pytest.raises(BlobCorrupt):
        _open(key, bytes(bad), sealed)


def test_segment_tamper_is_detected() -> None:
    key = new_data_key()
    header, sealed = _seal(key, os.urandom(3 * SEG + 5))
    dec = SegmentDecryptor(key, BLOB_ID, header)
    for position in (0, SEG // 2, SEG, SEG + TAG_SIZE - 1):  # body and tag
        bad = bytearray(sealed[1])
        bad[position] ^= 0x80
        with pytest.raises(BlobCorrupt):
            dec.decrypt(1, bytes(bad), False)
    with pytest.raises(BlobCorrupt):
        dec.decrypt(0, sealed[1], False)  # reordered
    with pytest.raises(BlobCorrupt):
        dec.decrypt(2, sealed[2], True)  # truncated after segment 2
    with pytest.raises(BlobCorrupt):
        dec.decrypt(3, sealed[3], False)  # claimed not last
    with pytest.raises(BlobCorrupt):
        dec.decrypt(3, sealed[3][:-1], True)  # short
    with pytest.raises(BlobCorrupt):
        dec.decrypt(0, b"", False)


def test_wrong_key_or_blob_id_is_detected() -> None:
    key, data = new_data_key(), os.urandom(SEG + 1)
    header, sealed = _seal(key, data)
    with pytest.raises(BlobCorrupt):
        _open(new_data_key(), header, sealed)
    with pytest.raises(BlobCorrupt):
        _open(key, header, sealed, blob_id="f" * 32)


def test_segments_cannot_move_between_blobs() -> None:
    key = new_data_key()
    header_a, sealed_a = _seal(key, os.urandom(2 * SEG))
    _, sealed_b = _seal(key, os.urandom(2 * SEG))
    with pytest.raises(BlobCorrupt):
        _open(key, header_a, [sealed_a[0], sealed_b[1]])


def test_key_wrap_round_trip() -> None:
    master, data_key = new_data_key(), new_data_key()
    wrapped = wrap_key(master, 7, data_key)
    assert len(wrapped) == 12 + 32 + 16
    assert data_key not in wrapped
    assert unwrap_key(master, 7, wrapped) == data_key
    assert wrap_key(master, 7, data_key) != wrapped  # random nonce


def test_key_unwrap_detects_tampering() -> None:
    master, data_key = new_data_key(), new_data_key()
    wrapped = wrap_key(master, 7, data_key)
    with pytest.raises(KeyUnwrapError):
        unwrap_key(master, 8, wrapped)  # copied onto another tenant
    with pytest.raises(KeyUnwrapError):
        unwrap_key(new_data_key(), 7, wrapped)  # other master key
    for cut in (0, 12, len(wrapped) - 1):
        with pytest.raises(KeyUnwrapError):
            unwrap_key(master, 7, wrapped[:cut])
    for position in range(len(wrapped)):
        bad = bytearray(wrapped)
        bad[position] ^= 0x01
        with pytest.raises(KeyUnwrapError) as info:
            unwrap_key(master, 7, bytes(bad))
        assert isinstance(info.value, BlobError)
        assert info.value.tenant_id == 7


def test_data_key_repr_hides_the_key() -> None:
    key = DataKey(tenant_id=3, key=b"\xab" * 32)
    assert "ab" not in repr(key).lower().replace("datakey", "")
    assert "tenant_id=3" in repr(key)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_master_key_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    key = load_or_create_master_key(path)
    assert len(key) == 32
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert load_or_create_master_key(path) == key
    assert os.listdir(path.parent) == ["master.key"]  # no temp file left


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_master_key_refuses_loose_permissions(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(os.urandom(32))
    path.chmod(mode)
    with pytest.raises(BlobError, match="chmod 600"):
        load_or_create_master_key(path)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_master_key_refuses_wrong_length(tmp_path: Path, length: int) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(os.urandom(length))
    path.chmod(0o600)
    with pytest.raises(BlobError, match="32 bytes"):
        load_or_create_master_key(path)


def test_master_key_refuses_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.mkdir(mode=0o700)
    with pytest.raises(BlobError, match="regular file"):
        load_or_create_master_key(path)


def test_master_key_race_keeps_the_first_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another worker creates the key between our existence check and our link.
    path = tmp_path / "master.key"
    theirs = os.urandom(32)
    real_link = os.link

    def racing_link(src: Path, dst: Path) -> None:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, theirs)
        os.close(fd)
        real_link(src, dst)

    monkeypatch.setattr(os, "link", racing_link)
    assert load_or_create_master_key(path) == theirs
    assert os.listdir(tmp_path) == ["master.key"]
