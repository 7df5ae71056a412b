"""LocalBlobStore: round trips, ranges, tampering, temp files and memory."""

from __future__ import annotations

import gc
import hashlib
import itertools
import os
import shutil
import stat
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from thvc.blobs import crypto, local
from thvc.blobs.crypto import HEADER_SIZE, TAG_SIZE, ciphertext_size, new_data_key
from thvc.blobs.errors import BlobCorrupt, BlobMissing
from thvc.blobs.interfaces import BlobStore, DataKey
from thvc.blobs.local import LocalBlobStore

SEG = 4096
SIZES = [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG + 5]


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs", segment_size=SEG)


@pytest.fixture
def key() -> DataKey:
    return DataKey(tenant_id=1, key=new_data_key())


def _new_id() -> str:
    return uuid.uuid4().hex


def _put(store: BlobStore, key: DataKey, data: bytes, chunk: int = 1000) -> str:
    blob_id = _new_id()
    writer = store.writer(key, blob_id)
    for i in range(0, len(data), chunk):
        writer.write(data[i : i + chunk])
    info = writer.commit()
    assert (info.blob_id, info.size, info.sha256) == (
        blob_id,
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    return blob_id


def _read(store: BlobStore, key: DataKey, blob_id: str, size: int, **kw: int) -> bytes:
    return b"".join(store.read(key, blob_id, size, **kw))


def _path(store: LocalBlobStore, tenant_id: int, blob_id: str) -> Path:
    return store.root / str(tenant_id) / blob_id[:2] / blob_id


def _files(root: Path) -> list[Path]:
    return [Path(d) / f for d, _, names in os.walk(root) for f in names]


def _assert_corrupt(store: BlobStore, key: DataKey, blob_id: str, data: bytes) -> None:
    """BlobCorrupt, and whatever came out before it is a true prefix of ``data``."""
    got: list[bytes] = []

    def consume() -> None:
        got.extend(store.read(key, blob_id, len(data)))

    with pytest.raises(BlobCorrupt) as info:
        consume()
    assert info.value.blob_id == blob_id
    assert data.startswith(b"".join(got))
    assert sum(map(len, got)) < len(data) or not data


def test_store_satisfies_protocol(store: LocalBlobStore) -> None:
    checked: BlobStore = store  # mypy checks the structure
    assert checked is store


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("chunk", [1, 1000, SEG, SEG + 3, 1 << 20])
def test_round_trip(store: LocalBlobStore, key: DataKey, size: int, chunk: int) -> None:
    data = os.urandom(size)
    blob_id = _put(store, key, data, chunk)
    path = _path(store, key.tenant_id, blob_id)
    assert path.stat().st_size == HEADER_SIZE + ciphertext_size(size, SEG)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    chunks = list(store.read(key, blob_id, size))
    assert b"".join(chunks) == data
    assert all(0 < len(c) <= SEG for c in chunks)
    assert os.listdir(store.root / ".tmp") == []


def test_writes_accept_any_buffer(store: LocalBlobStore, key: DataKey) -> None:
    data = os.urandom(2 * SEG + 7)
    writer = store.writer(key, _new_id())
    writer.write(bytearray(data[:10]))
    writer.write(memoryview(data)[10:])
    writer.write(b"")
    assert writer.size == len(data)
    info = writer.commit()
    assert _read(store, key, info.blob_id, info.size) == data


RANGES = [
    (0, 0),
    (0, 1),
    (0, SEG),
    (SEG - 1, SEG + 1),
    (SEG, 2 * SEG),
    (SEG, SEG),
    (SEG + 1, 3 * SEG),
    (3 * SEG, 3 * SEG + 5),
    (3 * SEG + 4, 3 * SEG + 5),
    (3 * SEG + 5, 3 * SEG + 5),
    (1, 3 * SEG + 4),
]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_range_reads(store: LocalBlobStore, key: DataKey, start: int, end: int) -> None:
    data = os.urandom(3 * SEG + 5)
    blob_id = _put(store, key, data)
    chunks = list(store.read(key, blob_id, len(data), start=start, end=end))
    assert b"".join(chunks) == data[start:end]
    assert all(0 < len(c) <= SEG for c in chunks)


def test_range_end_defaults_to_size(store: LocalBlobStore, key: DataKey) -> None:
    data = os.urandom(2 * SEG)
    blob_id = _put(store, key, data)
    assert _read(store, key, blob_id, len(data), start=SEG + 10) == data[SEG + 10 :]


@pytest.mark.parametrize(("start", "end"), [(-1, 1), (2, 1), (0, 11), (11, None)])
def test_bad_ranges_are_refused(
    store: LocalBlobStore, key: DataKey, start: int, end: int | None
) -> None:
    blob_id = _put(store, key, bytes(10))
    with pytest.raises(ValueError):
        store.read(key, blob_id, 10, start=start, end=end)


def test_range_reads_only_the_segments_they_need(store: LocalBlobStore, key: DataKey) -> None:
    data = os.urandom(3 * SEG + 5)
    blob_id = _put(store, key, data)
    path = _path(store, key.tenant_id, blob_id)
    raw = bytearray(path.read_bytes())
    raw[HEADER_SIZE + 5] ^= 1  # damage segment 0 only
    path.write_bytes(raw)
    assert (
        _read(store, key, blob_id, len(data), start=2 * SEG, end=2 * SEG + 9)
        == (data[2 * SEG : 2 * SEG + 9])
    )
    with pytest.raises(BlobCorrupt):
        _read(store, key, blob_id, len(data), start=SEG - 1, end=SEG + 1)


# --- tampering: every case is BlobCorrupt, never wrong bytes ---------------------


def _segment_start(index: int) -> int:
    return HEADER_SIZE + index * (SEG + TAG_SIZE)


@pytest.mark.parametrize("size", SIZES)
def test_header_flips_are_detected(store: LocalBlobStore, key: DataKey, size: int) -> None:
    data = os.urandom(size)
    blob_id = _put(store, key, data)
    path = _path(store, key.tenant_id, blob_id)
    original = path.read_bytes()
    for position in range(HEADER_SIZE):
        raw = bytearray(original)
        raw[position] ^= 0x04
        path.write_bytes(raw)
        _assert_corrupt(store, key, blob_id, data)


def test_segment_and_tag_flips_are_detected(store: LocalBlobStore, key: DataKey) -> None:
    data = os.urandom(3 * SEG + 5)
    blob_id = _put(store, key, data)
    path = _path(store, key.tenant_id, blob_id)
    original = path.read_bytes()
    positions = []
    for index in range(4):
        start = _segment_start(index)
        end = min(start + SEG + TAG_SIZE, len(original))
        # first byte, middle, last plaintext byte, first and last tag byte
        positions += [start, (start + end) // 2, end - TAG_SIZE - 1, end - TAG_SIZE, end - 1]
    for position in positions:
        raw = bytearray(original)
        raw[position] ^= 0x01
        path.write_bytes(raw)
        _assert_corrupt(store, key, blob_id, data)


@pytest.mark.parametrize("size", SIZES)
def test_truncation_is_detected(store: LocalBlobStore, key: DataKey, size: int) -> None:
    data = os.urandom(size)
    blob_id = _put(store, key, data)
    path = _path(store, key.tenant_id, blob_id)
    original = path.read_bytes()
    cuts = {0, 1, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + 1, len(original) - 1}
    cuts |= {_segment_start(i) for i in range(1, 4) if _segment_start(i) < len(original)}
    for cut in sorted(cuts):
        path.write_bytes(original[:cut])
        _assert_corrupt(store, key, blob_id, data)


def test_dropping_the_last_segment_is_detected_even_with_the_matching_size(
    store: LocalBlobStore, key: DataKey
) -> None:
    # The caller's size is what it recorded; but even a caller fooled into the
    # shorter size finds segment 2 is not marked last.
    data = os.urandom(3 * SEG + 5)
    blob_id = _put(store, key, data)
    path = _path(store, key.tenant_id, blob_id)
    path.write_bytes(path.read_bytes()[: _segment_start(3)])
    _assert_corrupt(store, key, blob_id, data)
    _assert_corrupt(store, key, blob_id, data[: 3 * SEG])


def test_appended_bytes_are_detected(store: LocalBlobStore, key: DataKey) -> None:
    data = os.urandom(SEG + 1)
    blob_id = _put(store, key, data)
    path = _path(store, key.tenant_id, blob_id)
    with path.open("ab") as f:
        f.write(b"x")
    _assert_corrupt(store, key, blob_id, data)


def test_reordered_segments_are_detected(store: LocalBlobStore, key: DataKey) -> None:
    data = os.urandom(3 * SEG + 5)
    blob_id = _put(store, key, data)
    path = _path(store, key.tenant_id, blob_id)
    raw = path.read_bytes()
    s0, s1, s2 = (raw[_segment_start(i) : _segment_start(i + 1)] for i in range(3))
    path.write_bytes(raw[:HEADER_SIZE] + s1 + s0 + s2 + raw[_segment_start(3) :])
    _assert_corrupt(store, key, blob_id, data)
    path.write_bytes(raw[:HEADER_SIZE] + s0 + s2 + s1 + raw[_segment_start(3) :])
    _assert_corrupt(store, key, blob_id, data)


def test_swapped_blobs_are_detected(store: LocalBlobStore, key: DataKey) -> None:
    a, b = os.urandom(2 * SEG + 3), os.urandom(2 * SEG + 3)
    id_a, id_b = _put(store, key, a), _put(store, key, b)
    path_a, path_b = _path(store, 1, id_a), _path(store, 1, id_b)
    raw_a, raw_b = path_a.read_bytes(), path_b.read_bytes()
    path_a.write_bytes(raw_b)
    path_b.write_bytes(raw_a)
    _assert_corrupt(store, key, id_a, a)
    _assert_corrupt(store, key, id_b, b)
    # Splicing one segment of b into a fails too.
    path_a.write_bytes(raw_a[: _segment_start(1)] + raw_b[_segment_start(1) :])
    _assert_corrupt(store, key, id_a, a)


@pytest.mark.parametrize("size", SIZES)
def test_wrong_tenant_key_is_detected(store: LocalBlobStore, key: DataKey, size: int) -> None:
    data = os.urandom(size)
    blob_id = _put(store, key, data)
    # A blob copied into another tenant's directory, read with that tenant's key.
    other = DataKey(tenant_id=2, key=new_data_key())
    target = _path(store, 2, blob_id)
    target.parent.mkdir(parents=True)
    shutil.copy(_path(store, 1, blob_id), target)
    _assert_corrupt(store, other, blob_id, data)
    _assert_corrupt(store, DataKey(tenant_id=1, key=new_data_key()), blob_id, data)


@pytest.mark.parametrize("size", SIZES)
def test_wrong_blob_id_is_detected(store: LocalBlobStore, key: DataKey, size: int) -> None:
    data = os.urandom(size)
    blob_id = _put(store, key, data)
    other_id = _new_id()
    target = _path(store, 1, other_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(_path(store, 1, blob_id), target)
    _assert_corrupt(store, key, other_id, data)


def test_wrong_recorded_size_is_detected(store: LocalBlobStore, key: DataKey) -> None:
    blob_id = _put(store, key, bytes(SEG + 1))
    with pytest.raises(BlobCorrupt):
        store.read(key, blob_id, SEG + 2)
    with pytest.raises(BlobCorrupt):
        store.read(key, blob_id, SEG)


def test_missing_blob(store: LocalBlobStore, key: DataKey) -> None:
    blob_id = _new_id()
    assert not store.exists(1, blob_id)
    with pytest.raises(BlobMissing) as info:
        store.read(key, blob_id, 10)  # raised on the call, before iteration
    assert info.value.blob_id == blob_id


# --- writers: abort, failures, temp files, durability -----------------------------


def test_abort_leaves_nothing(store: LocalBlobStore, key: DataKey) -> None:
    blob_id = _new_id()
    writer = store.writer(key, blob_id)
    writer.write(os.urandom(3 * SEG))
    assert len(os.listdir(store.root / ".tmp")) == 1
    writer.abort()
    writer.abort()
    assert _files(store.root) == []
    assert not store.exists(1, blob_id)
    with pytest.raises(ValueError):
        writer.write(b"x")
    with pytest.raises(ValueError):
        writer.commit()


def test_dropped_writer_cleans_up(store: LocalBlobStore, key: DataKey) -> None:
    writer = store.writer(key, _new_id())
    writer.write(os.urandom(SEG + 1))
    del writer
    gc.collect()
    assert _files(store.root) == []


def test_commit_is_final(store: LocalBlobStore, key: DataKey) -> None:
    writer = store.writer(key, _new_id())
    writer.write(b"abc")
    info = writer.commit()
    writer.abort()  # no-op after commit
    assert _read(store, key, info.blob_id, 3) == b"abc"
    with pytest.raises(ValueError):
        writer.write(b"x")
    with pytest.raises(ValueError):
        writer.commit()


def test_failed_write_then_abort(
    store: LocalBlobStore, key: DataKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = store.writer(key, _new_id())

    def disk_full(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(OSError):
        writer.write(os.urandom(3 * SEG))
    monkeypatch.undo()
    with pytest.raises(ValueError):
        writer.commit()  # a failed writer never commits half a blob
    writer.abort()
    assert _files(store.root) == []


def test_failed_commit_leaves_nothing(
    store: LocalBlobStore, key: DataKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = store.writer(key, _new_id())
    writer.write(b"data")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        writer.commit()
    assert _files(store.root) == []
    writer.abort()


def test_commit_fsyncs_file_then_directory(
    store: LocalBlobStore, key: DataKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    writer = store.writer(key, _new_id())
    writer.write(b"data")
    monkeypatch.setattr(os, "fsync", recording_fsync)
    writer.commit()
    # file, then new tenant dir's parent, new prefix dir's parent, target dir
    assert synced[0] == "file"
    assert synced[-1] == "dir"
    assert synced.count("file") == 1


def test_large_blobs_go_to_disk_while_being_written(
    tmp_path: Path, key: DataKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every WRITEBACK_AFTER bytes the written range is handed to the disk (one hint each,
    no range twice, none for a small blob), and the blob reads back the same."""
    hints: list[tuple[int, int]] = []
    real = os.posix_fadvise

    def recording(fd: int, offset: int, length: int, advice: int) -> None:
        assert advice == os.POSIX_FADV_DONTNEED
        hints.append((offset, length))
        real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", recording)
    store = LocalBlobStore(tmp_path / "blobs", segment_size=1 << 20)
    small = store.writer(key, _new_id())
    small.write(os.urandom(3 << 20))
    small.commit()
    assert hints == []
    data = os.urandom(local.WRITEBACK_AFTER * 3 + 12345)
    writer = store.writer(key, blob_id := _new_id())
    for at in range(0, len(data), 1 << 20):
        writer.write(data[at : at + (1 << 20)])
    info = writer.commit()
    assert len(hints) == 3
    assert hints[0][0] == HEADER_SIZE
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(hints))
    assert all(n >= local.WRITEBACK_AFTER for _, n in hints)
    assert b"".join(store.read(key, blob_id, info.size)) == data


def test_writeback_hints_that_fail_change_nothing(
    store: LocalBlobStore, key: DataKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refusing(fd: int, offset: int, length: int, advice: int) -> None:
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(os, "posix_fadvise", refusing)
    monkeypatch.setattr(local, "WRITEBACK_AFTER", SEG)
    data = os.urandom(SEG * 5)
    writer = store.writer(key, blob_id := _new_id())
    writer.write(data)
    info = writer.commit()
    assert b"".join(store.read(key, blob_id, info.size)) == data


def test_a_small_blob_is_read_in_the_open_that_checks_it(
    tmp_path: Path, key: DataKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs", segment_size=1 << 20)
    opened: list[str] = []
    real = LocalBlobStore._open

    def counting(self: LocalBlobStore, *args: object) -> object:
        opened.append("open")
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalBlobStore, "_open", counting)
    for size, opens in ((5000, 1), (local.EAGER_MAX + 1, 2)):
        data = os.urandom(size)
        writer = store.writer(key, blob_id := _new_id())
        writer.write(data)
        writer.commit()
        opened.clear()
        assert b"".join(store.read(key, blob_id, size)) == data
        assert b"".join(store.read(key, blob_id, size, 10, 20)) == data[10:20]
        assert len(opened) == 2 * opens


def test_clean_temp(store: LocalBlobStore, key: DataKey) -> None:
    stale = store.writer(key, _new_id())
    stale.write(b"abandoned")
    fresh = store.writer(key, _new_id())
    fresh.write(b"in progress")
    (store.root / ".tmp" / "unrelated").write_bytes(b"")
    assert store.clean_temp(3600) == 0
    [stale_file] = [p for p in (store.root / ".tmp").iterdir() if p.name.startswith(stale.blob_id)]
    old = time.time() - 7200
    os.utime(stale_file, (old, old))
    assert store.clean_temp(3600) == 1
    assert not stale_file.exists()
    with pytest.raises(OSError):
        stale.commit()  # its temp file is gone
    stale.abort()
    info = fresh.commit()
    assert _read(store, key, info.blob_id, info.size) == b"in progress"
    assert (store.root / ".tmp" / "unrelated").exists()


def test_temp_files_are_private(store: LocalBlobStore, key: DataKey) -> None:
    writer = store.writer(key, _new_id())
    [temp] = list((store.root / ".tmp").iterdir())
    assert temp.name.startswith(writer.blob_id + ".")
    assert temp.name.endswith(".part")
    assert stat.S_IMODE(temp.stat().st_mode) == 0o600
    writer.abort()


def test_plaintext_never_reaches_disk(store: LocalBlobStore, key: DataKey) -> None:
    marker = b"CONFIDENTIAL-MARKER-7f3a"
    # Repeated so that copies straddle every segment boundary.
    data = (marker + b"-") * (4 * SEG // len(marker))
    _put(store, key, data, chunk=777)
    pending = store.writer(key, _new_id())
    pending.write(data)  # committed segments and a pending one in .tmp
    empty = _put(store, key, b"")
    assert store.exists(1, empty)
    files = _files(store.root)
    assert len(files) == 3
    for path in files:
        raw = path.read_bytes()
        assert marker not in raw
        assert marker[:8] not in raw
    pending.abort()


# --- ids, listing, deletion --------------------------------------------------------


@pytest.mark.parametrize(
    "blob_id",
    [
        "",
        "../" + "a" * 29,
        "A" * 32,
        "a" * 31,
        "a" * 33,
        "g" * 32,
        "a" * 32 + "\n",
        "a" * 16 + "/" * 16,
    ],
)
def test_bad_blob_ids_are_refused(store: LocalBlobStore, key: DataKey, blob_id: str) -> None:
    with pytest.raises(ValueError):
        store.writer(key, blob_id)
    with pytest.raises(ValueError):
        store.read(key, blob_id, 0)
    with pytest.raises(ValueError):
        store.delete(1, blob_id)
    with pytest.raises(ValueError):
        store.exists(1, blob_id)
    assert _files(store.root) == []


@pytest.mark.parametrize("tenant_id", [-1, True])
def test_bad_tenant_ids_are_refused(store: LocalBlobStore, tenant_id: int) -> None:
    with pytest.raises(ValueError):
        store.writer(DataKey(tenant_id=tenant_id, key=new_data_key()), _new_id())
    with pytest.raises(ValueError):
        store.delete_tenant(tenant_id)


def test_listing_and_deletion(store: LocalBlobStore) -> None:
    k1, k2 = DataKey(1, new_data_key()), DataKey(22, new_data_key())
    a, b, c = _put(store, k1, b"a"), _put(store, k1, b"b"), _put(store, k2, b"c")
    pending = store.writer(k1, _new_id())
    # Strays fsck must not mistake for blobs.
    (store.root / "007").mkdir()
    (store.root / "notes.txt").write_bytes(b"")
    (store.root / "1" / "zz").mkdir()
    (store.root / "1" / a[:2] / "not-a-blob").write_bytes(b"")
    assert sorted(store.iter_blobs()) == sorted([(1, a), (1, b), (22, c)])

    store.delete(1, a)
    store.delete(1, a)  # missing is fine
    assert not store.exists(1, a)
    assert store.exists(1, b)
    assert not store.exists(22, b)  # tenants are separate
    store.delete_tenant(1)
    store.delete_tenant(1)
    store.delete_tenant(5)
    assert sorted(store.iter_blobs()) == [(22, c)]
    assert _read(store, k2, c, 1) == b"c"
    pending.abort()


def test_store_refuses_bad_segment_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LocalBlobStore(tmp_path, segment_size=0)
    with pytest.raises(ValueError):
        LocalBlobStore(tmp_path, segment_size=crypto.MAX_SEGMENT_SIZE + 1)


def test_blobs_stay_readable_after_the_segment_size_changes(tmp_path: Path, key: DataKey) -> None:
    data = os.urandom(5 * SEG + 1)
    blob_id = _put(LocalBlobStore(tmp_path, segment_size=SEG), key, data)
    assert _read(LocalBlobStore(tmp_path, segment_size=2 * SEG), key, blob_id, len(data)) == data


# --- memory ------------------------------------------------------------------------


def _chunks(total: int, chunk: bytes) -> Iterator[bytes]:
    for _ in range(total // len(chunk)):
        yield chunk


def test_streaming_64_mib_stays_in_bounded_memory(tmp_path: Path, key: DataKey) -> None:
    store = LocalBlobStore(tmp_path, segment_size=1 << 20)
    total = 64 << 20
    # Odd-sized writes, so segments are regrouped through the buffer.
    chunk = os.urandom(3 * (1 << 20) // 4 + 11)
    expected = hashlib.sha256()
    for part in _chunks(total, chunk):
        expected.update(part)
    size = (total // len(chunk)) * len(chunk)

    tracemalloc.start()
    try:
        writer = store.writer(key, _new_id())
        for part in _chunks(total, chunk):
            writer.write(part)
        info = writer.commit()
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        got = hashlib.sha256()
        for piece in store.read(key, info.blob_id, size):
            got.update(piece)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == size
    assert info.sha256 == expected.hexdigest() == got.hexdigest()
    assert write_peak < 8 << 20, write_peak
    assert read_peak < 8 << 20, read_peak
