"""The upload core: sessions, parts, assembly into the version path, housekeeping."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.common import factories
from thvc.accounts.services import Principal
from thvc.audit.models import AuditEvent
from thvc.blobs import BlobMissing
from thvc.errors import BadRequest, NotFound, QuotaExceeded
from thvc.files.errors import ChecksumMismatch
from thvc.files.fsck import fsck
from thvc.services import Services
from thvc.uploads.errors import (
    IncompleteUpload,
    InvalidPartName,
    LengthMismatch,
    OffsetMismatch,
    PartsExceedLength,
    UploadNotFound,
)
from thvc.uploads.models import UploadKind, UploadSession
from thvc.uploads.services import PartInfo, UploadInfo, UploadService, check_layout

CHUNKED = UploadKind.CHUNKED


def put_part(
    uploads: UploadService,
    who: Principal,
    upload: UploadInfo,
    name: str,
    data: bytes,
    position: int | None = None,
) -> PartInfo:
    part = uploads.begin_part(
        who, upload, name, int(name) if position is None else position, length=len(data)
    )
    try:
        part.write(data)
        return uploads.finish_part(part, actor=who)
    except BaseException:
        uploads.abort_part(part)
        raise


def numbered(svc: Services, who: Principal, name: str, *chunks: bytes) -> UploadInfo:
    """A session with chunks 00001, 00002, ... holding ``chunks``."""
    upload = svc.uploads.open_session(who, CHUNKED, name, sum(len(c) for c in chunks))
    for i, data in enumerate(chunks, 1):
        put_part(svc.uploads, who, upload, f"{i:05d}", data)
    return upload


def blob_ids(svc: Services) -> set[str]:
    return {b for _, b in svc.blobs.iter_blobs()}


def temp_files(svc: Services) -> list[str]:
    tmp = svc.blobs.root / ".tmp"
    return os.listdir(tmp) if tmp.exists() else []


def actions(svc: Services) -> list[str]:
    with svc.db.read() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


@pytest.fixture
def ben(svc: Services) -> Principal:
    return factories.user(svc, "ben@suhl")


# -- sessions and parts --------------------------------------------------------


def test_parts_survive_a_restart(svc: Services, anna: Principal) -> None:
    upload = numbered(svc, anna, "t1", b"a" * 1000, b"b" * 500)
    # A new service over the same database and blob store: a restarted process.
    again = UploadService(
        svc.db,
        audit=svc.audit,
        blobs=svc.blobs,
        keys=svc.files.keys,
        files=svc.files,
        settings=svc.settings,
    )
    found = again.get_session(anna, CHUNKED, "t1")
    assert found.id == upload.id and found.length == 1500 and found.received == 1500
    parts = again.list_parts(anna, found)
    assert [(p.name, p.size) for p in parts] == [("00001", 1000), ("00002", 500)]
    again.assemble(anna, found, factories.loc(svc, anna, "/big.bin"), total_length=1500)
    assert factories.read(svc, anna, "/big.bin") == b"a" * 1000 + b"b" * 500


def test_opening_an_existing_session_resumes_it(svc: Services, anna: Principal) -> None:
    upload = numbered(svc, anna, "t1", b"abc")
    again = svc.uploads.open_session(anna, CHUNKED, "t1", 6)
    assert again.id == upload.id
    assert again.length == 6 and again.received == 3
    assert [p.name for p in svc.uploads.list_parts(anna, again)] == ["00001"]
    assert actions(svc).count("upload.open") == 1


def test_a_part_uploaded_again_replaces_the_old_one(svc: Services, anna: Principal) -> None:
    upload = svc.uploads.open_session(anna, CHUNKED, "t1")
    first = put_part(svc.uploads, anna, upload, "00001", b"old content")
    second = put_part(svc.uploads, anna, upload, "00001", b"new")
    parts = svc.uploads.list_parts(anna, upload)
    assert [(p.name, p.size, p.blob_id) for p in parts] == [("00001", 3, second.blob_id)]
    assert first.blob_id not in blob_ids(svc)
    assert second.blob_id in blob_ids(svc)
    svc.uploads.assemble(anna, upload, factories.loc(svc, anna, "/f"))
    assert factories.read(svc, anna, "/f") == b"new"


def test_part_names_must_be_numbers(svc: Services, anna: Principal) -> None:
    upload = svc.uploads.open_session(anna, CHUNKED, "t1")
    for name in ["abc", "1e5", "-1", "", ".file", "\uff11\uff12", "1" * 20]:
        with pytest.raises(InvalidPartName):
            svc.uploads.begin_part(anna, upload, name, 0)
    assert temp_files(svc) == []


def test_session_names_are_checked(svc: Services, anna: Principal) -> None:
    for name in ["..", "a/b", "x\x00y", "", "n" * 201]:
        with pytest.raises(BadRequest):
            svc.uploads.open_session(anna, CHUNKED, name)


def test_parts_may_not_exceed_the_declared_length(svc: Services, anna: Principal) -> None:
    upload = svc.uploads.open_session(anna, CHUNKED, "t1", 10)
    put_part(svc.uploads, anna, upload, "00001", b"x" * 8)
    with pytest.raises(PartsExceedLength):
        svc.uploads.begin_part(anna, upload, "00002", 2, length=3)
    # Without a declared part length it is caught while the bytes arrive.
    part = svc.uploads.begin_part(anna, upload, "00002", 2)
    part.write(b"yy")
    with pytest.raises(PartsExceedLength):
        part.write(b"z")
    svc.uploads.abort_part(part)
    assert temp_files(svc) == []


def test_another_users_session_does_not_exist_for_them(
    svc: Services, anna: Principal, ben: Principal
) -> None:
    upload = numbered(svc, anna, "t1", b"secret")
    with pytest.raises(UploadNotFound):
        svc.uploads.get_session(ben, CHUNKED, "t1")
    with pytest.raises(NotFound):
        svc.uploads.list_parts(ben, upload)
    with pytest.raises(NotFound):
        svc.uploads.begin_part(ben, upload, "00002", 2)
    with pytest.raises(NotFound):
        svc.uploads.delete_part(ben, upload, "00001")
    with pytest.raises(NotFound):
        svc.uploads.delete_session(ben, upload)
    with pytest.raises(NotFound):
        svc.uploads.assemble(ben, upload, factories.loc(svc, ben, "/stolen"))
    # Ben may use the same name for his own upload: names are per user.
    mine = svc.uploads.open_session(ben, CHUNKED, "t1")
    assert mine.id != upload.id
    assert svc.uploads.list_parts(anna, upload)[0].size == 6
    assert svc.uploads.list_sessions(ben, CHUNKED) == [mine]


def test_delete_session_removes_parts_and_blobs(svc: Services, anna: Principal) -> None:
    upload = numbered(svc, anna, "t1", b"a", b"b")
    assert len(blob_ids(svc)) == 2
    svc.uploads.delete_session(anna, upload)
    assert blob_ids(svc) == set()
    with pytest.raises(UploadNotFound):
        svc.uploads.get_session(anna, CHUNKED, "t1")
    assert "upload.delete" in actions(svc)


# -- assembly -------------------------------------------------------------------


def test_three_numbered_chunks_assemble_byte_identical(svc: Services, anna: Principal) -> None:
    chunks = [os.urandom(300_000), os.urandom(300_000), os.urandom(12_345)]
    upload = numbered(svc, anna, "t1", *chunks)
    dst = factories.loc(svc, anna, "/big.bin")
    entry, created = svc.uploads.assemble(anna, upload, dst, total_length=612_345)
    assert created and entry.size == 612_345
    assert factories.read(svc, anna, "/big.bin") == b"".join(chunks)
    # The session and its parts are gone; only the file's blob is stored.
    with pytest.raises(UploadNotFound):
        svc.uploads.get_session(anna, CHUNKED, "t1")
    assert len(blob_ids(svc)) == 1
    assert actions(svc)[-2:] == ["file.put", "upload.assemble"]
    assert fsck(
        svc.db, svc.blobs, svc.files.keys, extra_referenced=svc.uploads.referenced_blobs
    ).clean


def test_offset_named_parts_assemble_in_order(svc: Services, anna: Principal) -> None:
    """ownCloud NG: chunk indexes as names, byte offsets in OC-Chunk-Offset."""
    data = os.urandom(250_000)
    upload = svc.uploads.open_session(anna, CHUNKED, "4711", len(data))
    cuts = [0, 100_000, 200_000, 250_000]
    # Sent out of order; the tenth chunk sorts after the second numerically, not by name.
    for i in (2, 0, 1):
        put_part(svc.uploads, anna, upload, str(i), data[cuts[i] : cuts[i + 1]], cuts[i])
    svc.uploads.assemble(anna, upload, factories.loc(svc, anna, "/f"), total_length=len(data))
    assert factories.read(svc, anna, "/f") == data


def test_parts_sort_numerically(svc: Services, anna: Principal) -> None:
    upload = svc.uploads.open_session(anna, CHUNKED, "t1")
    for i in range(1, 12):
        put_part(svc.uploads, anna, upload, str(i), bytes([i]))
    svc.uploads.assemble(anna, upload, factories.loc(svc, anna, "/f"), total_length=11)
    assert factories.read(svc, anna, "/f") == bytes(range(1, 12))


def test_overwriting_makes_a_version(svc: Services, anna: Principal) -> None:
    factories.put(svc, anna, "/f", b"old")
    upload = numbered(svc, anna, "t1", b"new ", b"content")
    _, created = svc.uploads.assemble(anna, upload, factories.loc(svc, anna, "/f"))
    assert not created
    assert factories.read(svc, anna, "/f") == b"new content"
    assert len(svc.files.list_versions(factories.loc(svc, anna, "/f"))) == 1


def test_wrong_total_length_leaves_the_destination_unchanged(
    svc: Services, anna: Principal
) -> None:
    old = factories.put(svc, anna, "/f", b"old content")
    upload = numbered(svc, anna, "t1", b"aaa", b"bbb")
    dst = factories.loc(svc, anna, "/f")
    with pytest.raises(LengthMismatch) as err:
        svc.uploads.assemble(anna, upload, dst, total_length=7)
    assert isinstance(err.value, BadRequest)
    assert factories.read(svc, anna, "/f") == b"old content"
    assert svc.files.stat(dst).etag == old.etag
    assert svc.files.list_versions(dst) == []
    # Nothing lost: the client can send the missing bytes and try again.
    assert svc.uploads.get_session(anna, CHUNKED, "t1").received == 6
    assert temp_files(svc) == []


def test_a_missing_middle_chunk_is_refused(svc: Services, anna: Principal) -> None:
    upload = svc.uploads.open_session(anna, CHUNKED, "t1")
    put_part(svc.uploads, anna, upload, "00001", b"aaa")
    put_part(svc.uploads, anna, upload, "00003", b"ccc")
    with pytest.raises(IncompleteUpload):
        svc.uploads.assemble(anna, upload, factories.loc(svc, anna, "/f"), total_length=6)
    with pytest.raises(NotFound):
        svc.files.stat(factories.loc(svc, anna, "/f"))
    put_part(svc.uploads, anna, upload, "00002", b"bbb")
    svc.uploads.assemble(anna, upload, factories.loc(svc, anna, "/f"), total_length=9)
    assert factories.read(svc, anna, "/f") == b"aaabbbccc"


def test_a_declared_length_is_checked_without_a_total(svc: Services, anna: Principal) -> None:
    upload = svc.uploads.open_session(anna, CHUNKED, "t1", 10)
    put_part(svc.uploads, anna, upload, "00001", b"12345")
    with pytest.raises(LengthMismatch):
        svc.uploads.assemble(anna, upload, factories.loc(svc, anna, "/f"))


def test_quota_exceeded_at_assembly_makes_nothing_visible(svc: Services) -> None:
    carl = factories.user(svc, "carl@lauscha", quota=100_000)
    upload = numbered(svc, carl, "t1", b"a" * 30_000, b"b" * 30_000)
    # Meanwhile the space filled up (parts do not count as used space).
    factories.put(svc, carl, "/other", b"o" * 50_000)
    dst = factories.loc(svc, carl, "/f")
    with pytest.raises(QuotaExceeded):
        svc.uploads.assemble(carl, upload, dst, total_length=60_000)
    with pytest.raises(NotFound):
        svc.files.stat(dst)
    assert svc.files.quota(dst)[0] == 50_000
    assert svc.uploads.get_session(carl, CHUNKED, "t1").received == 60_000
    assert temp_files(svc) == []


def test_quota_is_checked_when_the_length_is_declared(svc: Services) -> None:
    carl = factories.user(svc, "carl@lauscha", quota=100_000)
    with pytest.raises(QuotaExceeded):
        svc.uploads.open_session(carl, CHUNKED, "t1", 100_001)
    # Replacing a file gives its space back, as for a plain PUT.
    factories.put(svc, carl, "/f", b"x" * 60_000)
    target = factories.loc(svc, carl, "/f")
    svc.uploads.open_session(carl, CHUNKED, "t2", 90_000, target=target)
    with pytest.raises(QuotaExceeded):
        svc.uploads.open_session(carl, CHUNKED, "t3", 90_000)


def test_open_parts_count_against_the_quota(svc: Services) -> None:
    carl = factories.user(svc, "carl@lauscha", quota=100_000)
    first = svc.uploads.open_session(carl, CHUNKED, "t1")
    put_part(svc.uploads, carl, first, "1", b"x" * 70_000)
    second = svc.uploads.open_session(carl, CHUNKED, "t2")
    with pytest.raises(QuotaExceeded):
        put_part(svc.uploads, carl, second, "1", b"y" * 40_000)
    part = svc.uploads.begin_part(carl, second, "1", 1)
    with pytest.raises(QuotaExceeded):
        part.write(b"y" * 40_000)
    svc.uploads.abort_part(part)
    # Replacing a part frees its own bytes.
    put_part(svc.uploads, carl, first, "1", b"z" * 90_000)


def test_checksum_mismatch_at_assembly_makes_nothing_visible(
    svc: Services, anna: Principal
) -> None:
    upload = numbered(svc, anna, "t1", b"hello ", b"world")
    with pytest.raises(ChecksumMismatch):
        svc.uploads.assemble(
            anna, upload, factories.loc(svc, anna, "/f"), checksum="SHA1:" + "0" * 40
        )
    with pytest.raises(NotFound):
        svc.files.stat(factories.loc(svc, anna, "/f"))
    svc.uploads.assemble(
        anna,
        upload,
        factories.loc(svc, anna, "/f"),
        checksum="SHA1:" + hashlib.sha1(b"hello world").hexdigest(),
    )


def test_a_crash_mid_assembly_leaves_destination_and_parts(
    svc: Services, anna: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.put(svc, anna, "/f", b"old")
    upload = numbered(svc, anna, "t1", b"a" * 100_000, b"b" * 100_000)
    parts = svc.uploads.list_parts(anna, upload)
    real = svc.blobs.read

    def failing(key: object, blob_id: str, size: int, *a: object) -> Iterator[bytes]:
        if blob_id == parts[1].blob_id:
            raise BlobMissing(blob_id)  # the disk went away half-way
        return real(key, blob_id, size, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(svc.blobs, "read", failing)
    with pytest.raises(BlobMissing):
        svc.uploads.assemble(anna, upload, factories.loc(svc, anna, "/f"), total_length=200_000)
    monkeypatch.undo()
    assert factories.read(svc, anna, "/f") == b"old"
    assert svc.uploads.list_parts(anna, upload) == parts
    assert temp_files(svc) == []
    # The client retries, and it works.
    svc.uploads.assemble(anna, upload, factories.loc(svc, anna, "/f"), total_length=200_000)
    assert factories.read(svc, anna, "/f") == b"a" * 100_000 + b"b" * 100_000


def test_a_locked_destination_needs_the_token(svc: Services, anna: Principal) -> None:
    factories.put(svc, anna, "/f", b"old")
    dst = factories.loc(svc, anna, "/f")
    info, _ = svc.files.lock(
        dst, actor=anna, exclusive=True, infinite=False, owner="", timeout=600, root_href="/f"
    )
    upload = numbered(svc, anna, "t1", b"new")
    from thvc.files.locks import Locked

    with pytest.raises(Locked):
        svc.uploads.assemble(anna, upload, dst)
    svc.uploads.assemble(anna, upload, dst, tokens=[info.token])
    assert factories.read(svc, anna, "/f") == b"new"


# -- appending sessions (tus) ----------------------------------------------------


def test_an_appending_session_continues_at_its_end(svc: Services, anna: Principal) -> None:
    upload = svc.uploads.open_session(anna, UploadKind.TUS, None, 6, {"filename": "f"})
    assert len(upload.name) == 32 and upload.meta == {"filename": "f"}
    put_part(svc.uploads, anna, upload, "0", b"abc")
    with pytest.raises(OffsetMismatch):
        svc.uploads.begin_part(anna, upload, "0", 0)
    # A partial part (a PATCH cut short) is kept: the client resumes from its end.
    part = svc.uploads.begin_part(anna, upload, "3", 3)
    part.write(b"d")
    svc.uploads.finish_part(part, actor=anna)
    upload = svc.uploads.get_session(anna, UploadKind.TUS, upload.name)
    assert upload.received == 4
    put_part(svc.uploads, anna, upload, "4", b"ef")
    svc.uploads.assemble(anna, upload, factories.loc(svc, anna, "/f"))
    assert factories.read(svc, anna, "/f") == b"abcdef"


# -- housekeeping ----------------------------------------------------------------


def test_stale_sessions_are_cleaned_with_their_blobs(svc: Services, anna: Principal) -> None:
    old = numbered(svc, anna, "old", b"a", b"b")
    with svc.db.write() as s:
        row = s.get_one(UploadSession, old.id)
        row.updated_at = row.updated_at - timedelta(hours=25)
    fresh = numbered(svc, anna, "fresh", b"c")
    assert svc.uploads.clean_stale() == 1
    with pytest.raises(UploadNotFound):
        svc.uploads.get_session(anna, CHUNKED, "old")
    assert [p.name for p in svc.uploads.list_parts(anna, fresh)] == ["00001"]
    assert len(blob_ids(svc)) == 1
    assert "upload.expire" in actions(svc)
    assert svc.uploads.clean_stale(timedelta(0)) == 1
    assert blob_ids(svc) == set()


def test_opening_a_session_cleans_stale_ones_now_and_then(svc: Services, anna: Principal) -> None:
    uploads = UploadService(
        svc.db,
        audit=svc.audit,
        blobs=svc.blobs,
        keys=svc.files.keys,
        files=svc.files,
        settings=svc.settings,
        stale_after=timedelta(0),
        clean_every=0,
    )
    numbered(svc, anna, "old", b"a")
    uploads.open_session(anna, CHUNKED, "new")
    assert [u.name for u in uploads.list_sessions(anna, CHUNKED)] == ["new"]


def test_fsck_is_clean_while_an_upload_is_open(svc: Services, anna: Principal) -> None:
    factories.put(svc, anna, "/f", b"a file")
    numbered(svc, anna, "t1", b"a", b"b")
    report = fsck(svc.db, svc.blobs, svc.files.keys, extra_referenced=svc.uploads.referenced_blobs)
    assert report.clean, report
    # Without being told, fsck would take the parts for orphans (and --repair delete them).
    blind = fsck(svc.db, svc.blobs, svc.files.keys)
    assert len(blind.problems) == 2
    repaired = fsck(
        svc.db,
        svc.blobs,
        svc.files.keys,
        repair=True,
        extra_referenced=svc.uploads.referenced_blobs,
    )
    assert repaired.clean and repaired.repairs == []
    assert len(blob_ids(svc)) == 3


# -- the layout check, pure ----------------------------------------------------------


def _parts(*spec: tuple[int, int]) -> list[PartInfo]:
    from thvc.db.types import utcnow

    return [
        PartInfo(str(pos), pos, size, f"{i:032x}", utcnow()) for i, (pos, size) in enumerate(spec)
    ]


@pytest.mark.parametrize(
    "spec",
    [
        [],
        [(1, 10)],
        [(0, 10)],
        [(1, 10), (2, 10), (3, 1)],
        [(0, 5), (1, 5)],
        [(0, 10), (10, 10), (20, 3)],
        [(0, 0), (0, 4)],
    ],
)
def test_layouts_that_form_one_whole(spec: list[tuple[int, int]]) -> None:
    check_layout(_parts(*spec))


@pytest.mark.parametrize(
    "spec",
    [
        [(2, 10)],
        [(1, 10), (3, 10)],
        [(0, 10), (20, 10)],
        [(0, 10), (5, 10)],
        [(10, 10), (20, 10)],
    ],
)
def test_layouts_with_a_gap_or_an_overlap(spec: list[tuple[int, int]]) -> None:
    with pytest.raises(IncompleteUpload):
        check_layout(_parts(*spec))


def test_blob_files_are_not_left_behind(svc: Services, anna: Principal, tmp_path: Path) -> None:
    upload = svc.uploads.open_session(anna, CHUNKED, "t1")
    part = svc.uploads.begin_part(anna, upload, "1", 1)
    part.write(b"half")
    svc.uploads.abort_part(part)
    assert temp_files(svc) == [] and blob_ids(svc) == set()
    assert svc.uploads.list_parts(anna, upload) == []
