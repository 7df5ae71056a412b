"""fsck: what a crash or a broken disk leaves behind is found; --repair fixes what it can (§9)."""

from __future__ import annotations

import gc
import os
import time
import uuid
import warnings
from pathlib import Path

import pytest
from sqlalchemy import select, update
from tests.common import factories
from tests.common.factories import loc, mkdir, put, read
from typer.testing import CliRunner

from thvc.accounts.services import Principal
from thvc.blobs import BlobError
from thvc.files.fsck import FsckReport, fsck
from thvc.files.models import Blob, Node, Space
from thvc.services import Services
from thvc.tenants.models import Tenant


@pytest.fixture
def anna(svc: Services) -> Principal:
    who = factories.user(svc, "anna@lauscha")
    mkdir(svc, who, "/d")
    put(svc, who, "/d/a.txt", b"alpha")
    put(svc, who, "/d/a.txt", b"alpha, second version")
    put(svc, who, "/b.txt", b"bravo")
    return who


def check(svc: Services, *, repair: bool = False) -> FsckReport:
    return fsck(svc.db, svc.blobs, svc.files.keys, repair=repair, temp_age_seconds=60)


def blob_path(svc: Services, tenant_id: int, blob_id: str) -> Path:
    return svc.blobs.root / str(tenant_id) / blob_id[:2] / blob_id


def orphan_blob(svc: Services, who: Principal, data: bytes = b"orphan") -> str:
    """A blob written to the store whose transaction never committed."""
    with svc.db.read() as s:
        key = svc.files.keys.data_key(svc.db.reader(s), who.tenant_id)
    writer = svc.blobs.writer(key, uuid.uuid4().hex)
    writer.write(data)
    return writer.commit().blob_id


def current_blob(svc: Services, path: str) -> str:
    with svc.db.read() as s:
        blob_id = s.scalars(
            select(Node.blob_id).where(Node.path == path, Node.trashed_at.is_(None))
        ).one()
    assert blob_id is not None
    return blob_id


def test_a_healthy_store_is_clean(svc: Services, anna: Principal) -> None:
    report = check(svc)
    assert report.clean, report
    assert report.repairs == []


def test_an_orphan_blob_file_is_found_and_removed(svc: Services, anna: Principal) -> None:
    blob_id = orphan_blob(svc, anna)
    report = check(svc)
    assert not report.clean
    assert any(blob_id in p for p in report.problems)
    assert svc.blobs.exists(anna.tenant_id, blob_id)  # a check alone changes nothing
    report = check(svc, repair=True)
    assert any(blob_id in r for r in report.repairs)
    assert not svc.blobs.exists(anna.tenant_id, blob_id)
    assert check(svc).clean


def test_an_unused_blob_row_is_found_and_removed(svc: Services, anna: Principal) -> None:
    blob_id = orphan_blob(svc, anna)
    with svc.db.write() as s:
        s.add(Blob(id=blob_id, tenant_id=anna.tenant_id, size=6, sha256="0" * 64))
    report = check(svc)
    assert any(blob_id in p for p in report.problems)
    check(svc, repair=True)
    with svc.db.read() as s:
        assert s.get(Blob, blob_id) is None
    assert not svc.blobs.exists(anna.tenant_id, blob_id)
    assert check(svc).clean


@pytest.mark.parametrize("path", ["/d", ""])
def test_a_broken_folder_size_is_found_and_recomputed(
    svc: Services, anna: Principal, path: str
) -> None:
    right = svc.files.stat(loc(svc, anna, path or "/")).size
    with svc.db.write() as s:
        s.execute(update(Node).where(Node.path == path).values(size=right + 1000))
    report = check(svc)
    assert not report.clean
    assert any("folder" in p for p in report.problems)
    check(svc, repair=True)
    assert svc.files.stat(loc(svc, anna, path or "/")).size == right
    assert check(svc).clean


def test_broken_quota_counters_are_found_and_recomputed(svc: Services, anna: Principal) -> None:
    used = svc.files.quota(loc(svc, anna))[0]
    with svc.db.write() as s:
        s.execute(update(Space).values(used_bytes=Space.used_bytes + 7))
        s.execute(update(Tenant).values(used_bytes=0))
    report = check(svc)
    assert any("space" in p for p in report.problems)
    assert any("tenant" in p for p in report.problems)
    check(svc, repair=True)
    assert svc.files.quota(loc(svc, anna))[0] == used
    with svc.db.read() as s:
        assert s.get_one(Tenant, anna.tenant_id).used_bytes == used
    assert check(svc).clean


def test_an_abandoned_upload_is_removed(svc: Services, anna: Principal) -> None:
    stale = svc.blobs.root / ".tmp" / f"{uuid.uuid4().hex}.0123456789abcdef.part"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half an upload")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = svc.files.begin_put(loc(svc, anna, "/in-progress"), length=None)
    fresh.write(b"still coming")
    report = check(svc, repair=True)
    assert not stale.exists()
    assert report.repairs
    # An upload in progress is left alone and can still finish.
    factories_entry, _ = svc.files.finish_put(fresh, actor=anna)
    assert read(svc, anna, "/in-progress") == b"still coming"
    assert factories_entry.size == 12


def test_tampered_content_is_reported_and_not_repaired(svc: Services, anna: Principal) -> None:
    blob_id = current_blob(svc, "/b.txt")
    path = blob_path(svc, anna.tenant_id, blob_id)
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 0x01
    path.write_bytes(bytes(raw))
    report = check(svc)
    assert any(blob_id in p for p in report.unrepairable)
    assert not report.clean
    report = check(svc, repair=True)
    assert any(blob_id in p for p in report.unrepairable)
    assert path.exists()  # evidence is not deleted
    with pytest.raises(BlobError):
        read(svc, anna, "/b.txt")


def test_a_missing_blob_file_is_reported(svc: Services, anna: Principal) -> None:
    blob_id = current_blob(svc, "/d/a.txt")
    blob_path(svc, anna.tenant_id, blob_id).unlink()
    report = check(svc, repair=True)
    assert any(blob_id in p for p in report.unrepairable)
    assert not check(svc).clean


def test_a_swapped_blob_is_reported(svc: Services, anna: Principal) -> None:
    a = blob_path(svc, anna.tenant_id, current_blob(svc, "/d/a.txt"))
    b = blob_path(svc, anna.tenant_id, current_blob(svc, "/b.txt"))
    a.write_bytes(b.read_bytes())
    report = check(svc)
    assert any(current_blob(svc, "/d/a.txt") in p for p in report.unrepairable)


def test_repair_fixes_everything_repairable_at_once(svc: Services, anna: Principal) -> None:
    orphan = orphan_blob(svc, anna)
    unused = orphan_blob(svc, anna, b"unused")
    with svc.db.write() as s:
        s.add(Blob(id=unused, tenant_id=anna.tenant_id, size=6, sha256="0" * 64))
        s.execute(update(Node).where(Node.path == "/d").values(size=1))
        s.execute(update(Space).values(used_bytes=0))
    first = check(svc, repair=True)
    assert len(first.problems) >= 4
    assert first.repairs
    second = check(svc)
    assert second.clean, second
    assert read(svc, anna, "/d/a.txt") == b"alpha, second version"
    assert read(svc, anna, "/b.txt") == b"bravo"
    assert not svc.blobs.exists(anna.tenant_id, orphan)
    # Versions are intact too.
    (version,) = svc.files.list_versions(loc(svc, anna, "/d/a.txt"))
    restored = svc.files.restore_version(loc(svc, anna, "/d/a.txt"), version.id, actor=anna)
    assert restored.size == 5


def test_the_cli_exit_codes(
    svc: Services, anna: Principal, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from thvc.cli.main import app

    for name in list(os.environ):
        if name.startswith("THVC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("THVC_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("THVC_DATA_DIR", str(svc.settings.data_dir))
    monkeypatch.setenv("THVC_DATABASE_URL", svc.settings.database_url)
    monkeypatch.setenv("THVC_SEGMENT_SIZE", str(svc.settings.segment_size))
    runner = CliRunner()

    def thvc(*args: str) -> tuple[int, str]:
        # Only code and output: the Result's traceback would keep the command's objects alive.
        result = runner.invoke(app, list(args))
        return result.exit_code, result.output

    # Whatever the commands leave open shows here, not as noise in a later test.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert thvc("fsck")[0] == 0
        orphan_blob(svc, anna)
        code, output = thvc("fsck")
        assert code == 3, output
        assert "problem:" in output
        code, output = thvc("fsck", "--repair")
        assert code == 0, output
        assert "repaired:" in output
        code, output = thvc("fsck")
        assert code == 0, output
        assert "clean" in output
        gc.collect()
    leaked = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaked == [], "the CLI leaves database connections open"
