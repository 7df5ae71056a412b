"""Consistency check of the database against the blob store, with optional repair.

What a crash can leave behind, and what fsck does about it:
- a temp file of an upload that never finished: removed (``--repair``);
- a blob written but never committed (no row): removed;
- a blob row nothing refers to any more: row and file removed;
- folder sizes and quota counters that disagree with the files: recomputed.
What no crash of ours can cause, but a broken disk can, is only reported:
a version whose blob is missing or does not match its size and checksum.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, union, update
from sqlalchemy.orm import Session

from thvc.blobs import BlobError, BlobStore
from thvc.db.engine import Database
from thvc.db.hot import Reader
from thvc.errors import NotFound
from thvc.files.keys import TenantKeys
from thvc.files.models import Blob, Node, Space, Version
from thvc.tenants.models import Tenant


@dataclass
class FsckReport:
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    # Problems that --repair cannot fix (data damaged outside ThVC's control).
    unrepairable: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems and not self.unrepairable


def fsck(
    db: Database,
    blobs: BlobStore,
    keys: TenantKeys,
    *,
    repair: bool = False,
    checksums: bool = True,
    temp_age_seconds: float = 3600,
    extra_referenced: Callable[[Session], set[str]] | None = None,
) -> FsckReport:
    """``extra_referenced`` names blobs that other packages own without a ``Blob``
    row (the parts of open uploads): they are neither orphans nor checked here."""
    report = FsckReport()
    _check_blobs(
        db,
        blobs,
        keys,
        report,
        repair=repair,
        checksums=checksums,
        extra_referenced=extra_referenced,
    )
    _check_accounting(db, report, repair=repair)
    if repair:
        n = blobs.clean_temp(temp_age_seconds)
        if n:
            report.repairs.append(f"removed {n} abandoned temporary upload file(s)")
    return report


def _check_blobs(
    db: Database,
    blobs: BlobStore,
    keys: TenantKeys,
    report: FsckReport,
    *,
    repair: bool,
    checksums: bool,
    extra_referenced: Callable[[Session], set[str]] | None = None,
) -> None:
    with db.read() as s:
        rows = {b.id: b for b in s.scalars(select(Blob))}
        referenced = set(
            s.scalars(
                union(
                    select(Node.blob_id).where(Node.blob_id.is_not(None)),
                    select(Version.blob_id),
                )
            ).all()
        )
        stored = set(blobs.iter_blobs())
        stored_ids = {b for _, b in stored}
        # Blobs owned elsewhere without a Blob row: the parts of open uploads.
        extra = extra_referenced(s) if extra_referenced is not None else set()
        for ref in sorted(r for r in referenced if r is not None and r not in rows):
            report.unrepairable.append(f"blob {ref} is referenced but has no record")
        for tenant_id, blob_id in sorted(stored):
            if blob_id not in rows and blob_id not in extra:
                report.problems.append(f"blob {blob_id} of tenant {tenant_id} has no record")
                if repair:
                    blobs.delete(tenant_id, blob_id)
                    report.repairs.append(f"removed orphan blob {blob_id}")
        for blob_id, row in sorted(rows.items()):
            if blob_id not in referenced:
                report.problems.append(f"blob {blob_id} is recorded but used by no version")
                continue
            if blob_id not in stored_ids:
                report.unrepairable.append(f"blob {blob_id} is missing from the store")
                continue
            if checksums:
                _verify_content(db.reader(s), blobs, keys, row, report)
    if repair:
        unused = [b for b in rows if b not in referenced]
        if unused:
            with db.write() as s:
                for blob_id in unused:
                    found = s.get(Blob, blob_id)
                    if found is None:
                        continue
                    still = s.scalar(
                        union(
                            select(Node.blob_id).where(Node.blob_id == blob_id),
                            select(Version.blob_id).where(Version.blob_id == blob_id),
                        )
                    )
                    if still is None:
                        s.delete(found)
                        blobs.delete(found.tenant_id, blob_id)
                        report.repairs.append(f"removed unused blob {blob_id}")


def _verify_content(
    r: Reader, blobs: BlobStore, keys: TenantKeys, row: Blob, report: FsckReport
) -> None:
    try:
        key = keys.data_key(r, row.tenant_id)
        h = hashlib.sha256()
        size = 0
        for chunk in blobs.read(key, row.id, row.size):
            h.update(chunk)
            size += len(chunk)
    except (BlobError, OSError, NotFound) as exc:
        report.unrepairable.append(f"blob {row.id} cannot be read: {exc}")
        return
    if size != row.size or h.hexdigest() != row.sha256:
        report.unrepairable.append(f"blob {row.id} does not match its size or checksum")


def _check_accounting(db: Database, report: FsckReport, *, repair: bool) -> None:
    """Folder sizes, space usage and tenant usage, recomputed from the live files."""
    with db.read() as s:
        nodes = s.execute(
            select(Node.id, Node.parent_id, Node.is_dir, Node.size, Node.space_id).where(
                Node.trashed_at.is_(None)
            )
        ).all()
        spaces = {
            sid: (used, tid)
            for sid, used, tid in s.execute(select(Space.id, Space.used_bytes, Space.tenant_id))
        }
        tenants = dict(s.execute(select(Tenant.id, Tenant.used_bytes)).all())
    totals: dict[int, int] = defaultdict(int)
    parent_of = {nid: pid for nid, pid, _, _, _ in nodes}
    space_used: dict[int, int] = defaultdict(int)
    for nid, _, is_dir, size, sid in nodes:
        if is_dir:
            continue
        space_used[sid] += size
        p = parent_of.get(nid)
        while p is not None:
            totals[p] += size
            p = parent_of.get(p)
    dir_fixes = [
        (nid, totals[nid]) for nid, _, is_dir, size, _ in nodes if is_dir and size != totals[nid]
    ]
    space_fixes = [
        (sid, space_used[sid]) for sid, (used, _) in spaces.items() if used != space_used[sid]
    ]
    tenant_used: dict[int, int] = defaultdict(int)
    for sid, (_, tid) in spaces.items():
        tenant_used[tid] += space_used[sid]
    tenant_fixes = [
        (tid, tenant_used[tid]) for tid, used in tenants.items() if used != tenant_used[tid]
    ]
    for nid, size in dir_fixes:
        report.problems.append(f"folder {nid} size is wrong (should be {size})")
    for sid, size in space_fixes:
        report.problems.append(f"space {sid} usage is wrong (should be {size})")
    for tid, size in tenant_fixes:
        report.problems.append(f"tenant {tid} usage is wrong (should be {size})")
    if repair and (dir_fixes or space_fixes or tenant_fixes):
        with db.write() as s:
            for nid, size in dir_fixes:
                s.execute(update(Node).where(Node.id == nid).values(size=size))
            for sid, size in space_fixes:
                s.execute(update(Space).where(Space.id == sid).values(used_bytes=size))
            for tid, size in tenant_fixes:
                s.execute(update(Tenant).where(Tenant.id == tid).values(used_bytes=size))
        report.repairs.append(
            f"recomputed {len(dir_fixes)} folder size(s), {len(space_fixes)} space and "
            f"{len(tenant_fixes)} tenant usage counter(s)"
        )
