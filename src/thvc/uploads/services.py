"""The upload service: resumable uploads in parts, assembled into the normal version path.

Nextcloud chunking v2, ownCloud chunking NG and (later) tus all come down to the
same thing: an upload session of one user in the database, its parts as
encrypted blobs of the user's tenant, and one streaming assembly through
``FileService.begin_put``/``finish_put`` when the client says it is done. So
quota, locks, versions, etags and the audit trail apply exactly as to a plain
PUT, and the destination changes only in the last transaction.

Crash safety, step by step:
- a part is written to a blob and committed (fsynced) before its row is
  inserted; a crash in between leaves a blob that no row refers to, which
  ``fsck`` finds (``referenced_blobs`` tells it which blobs are parts);
- a part that replaces one of the same name swaps the rows in one
  transaction and deletes the old blob only after the commit;
- assembly streams the parts into a new blob, then ``finish_put`` makes it
  the file's content in one transaction; only after that is the session
  deleted (a second transaction) and its blobs removed. A crash before
  ``finish_put`` commits leaves the destination as it was and every part in
  place, so the client can retry; a crash between the two transactions leaves
  the new content visible and a session that a retry assembles again (an
  identical version) or that ``clean_stale`` removes.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from thvc.accounts.services import Principal
from thvc.audit import AuditLog
from thvc.blobs import BlobInfo, BlobStore, BlobWriter
from thvc.db.engine import Database
from thvc.db.types import utcnow
from thvc.errors import BadRequest, NotFound, QuotaExceeded, ThvcError
from thvc.files import paths
from thvc.files.errors import ChecksumMismatch
from thvc.files.keys import TenantKeys
from thvc.files.services import Checksum, Entry, FileService, Location
from thvc.settings import Settings
from thvc.uploads.errors import (
    IncompleteUpload,
    InvalidPartName,
    LengthMismatch,
    OffsetMismatch,
    PartNotFound,
    PartsExceedLength,
    UploadNotFound,
)
from thvc.uploads.models import UploadKind, UploadPart, UploadSession

log = logging.getLogger("thvc.uploads")

MAX_SESSION_NAME = 200  # UploadSession.name
MAX_PART_NAME = 64  # UploadPart.name
MAX_POSITION = (1 << 63) - 1
# The target of an upload (segments below the user's root), kept in ``meta``:
# the quota that applies while parts arrive is the target's.
TARGET_KEY = "target"


@dataclass(frozen=True)
class UploadInfo:
    """An upload session as callers see it."""

    id: int
    kind: UploadKind
    name: str
    user_id: int
    tenant_id: int
    # The declared total length, if the client gave one.
    length: int | None
    meta: Mapping[str, Any]
    # Bytes stored in parts so far (their sum).
    received: int
    created_at: datetime
    updated_at: datetime

    @property
    def target(self) -> tuple[str, ...] | None:
        value = self.meta.get(TARGET_KEY)
        return tuple(value) if isinstance(value, list) else None


@dataclass(frozen=True)
class PartInfo:
    """One stored part: its client-given name, its position, its size."""

    name: str
    # Chunk number or byte offset, as the client named it; parts sort by it.
    position: int
    size: int
    blob_id: str
    created_at: datetime


@dataclass
class PartUpload:
    """A part in progress: bytes go to an encrypted temporary blob, bounded by ``limit``."""

    upload: UploadInfo
    name: str
    position: int
    writer: BlobWriter
    # Most bytes this part may hold, and what is reported when it would hold more.
    limit: int | None = None
    quota_limited: bool = False
    checksum: Checksum | None = None
    # Whether a part of the same name is stored (and will be replaced).
    replaces: bool = False
    info: BlobInfo | None = field(default=None)

    @property
    def size(self) -> int:
        return self.writer.size

    def write(self, data: bytes) -> None:
        if self.limit is not None and self.writer.size + len(data) > self.limit:
            needed = self.writer.size + len(data)
            if self.quota_limited:
                raise QuotaExceeded(needed, self.limit, "storage")
            declared = self.upload.length or 0
            raise PartsExceedLength(declared, declared - self.limit + needed)
        self.writer.write(data)
        if self.checksum is not None:
            self.checksum.update(data)


def check_session_name(name: str) -> str:
    name = paths.check_name(name)
    if len(name) > MAX_SESSION_NAME:
        raise BadRequest(f"an upload name must not be longer than {MAX_SESSION_NAME} characters")
    return name


def check_part_name(name: str) -> str:
    """Part names are decimal numbers (chunk numbers, byte offsets), at most 19 digits."""
    if not name.isascii() or not name.isdigit() or len(name) > 19:
        raise InvalidPartName(f"a part name must be a number, not {name[:80]!r}")
    return name


def _tiles(parts: Sequence[PartInfo]) -> bool:
    end = 0
    for p in parts:
        if p.position != end:
            return False
        end += p.size
    return True


def _numbered(parts: Sequence[PartInfo]) -> bool:
    return parts[0].position in (0, 1) and all(
        b.position == a.position + 1 for a, b in pairwise(parts)
    )


def check_layout(parts: Sequence[PartInfo]) -> None:
    """Raise IncompleteUpload unless the parts, sorted by position, form one whole.

    Two layouts are accepted. Byte offsets (the ownCloud client names chunks
    by offset and sends ``OC-Chunk-Offset``; tus appends at offsets): the
    first part starts at 0 and each next one where the previous ended. Chunk
    numbers (nextcloudcmd 3.7 counts from 0, chunking v2 from 1): consecutive.
    Where both readings fit, both concatenate the parts in the same order.
    """
    if not parts or _tiles(parts) or _numbered(parts):
        return
    if parts[0].position > 1:
        raise IncompleteUpload(
            f"part {parts[0].name} is not the first: a part before it is missing", position=0
        )
    for a, b in pairwise(parts):
        if b.position not in (a.position + 1, a.position + a.size):
            raise IncompleteUpload(
                f"a part is missing between {a.name} and {b.name}, or they overlap",
                position=a.position + 1,
            )
    raise IncompleteUpload("the parts mix chunk numbers and byte offsets", position=0)


def _meta(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class UploadService:
    """Upload sessions of users, their parts, and their assembly into files.

    Every method takes the acting user; another user's session is reported as
    not existing (``UploadNotFound``). Every change is audited in its own
    transaction. Methods block (database, blob store): adapters call them in
    a thread.
    """

    def __init__(
        self,
        db: Database,
        *,
        audit: AuditLog,
        blobs: BlobStore,
        keys: TenantKeys,
        files: FileService,
        settings: Settings,
        stale_after: timedelta | None = None,
        clean_every: float = 600.0,
    ) -> None:
        self.db = db
        self.audit = audit
        self.blobs = blobs
        self.keys = keys
        self.files = files
        self.settings = settings
        # Sessions untouched for this long are removed (default: THVC_UPLOAD_EXPIRY_SECONDS).
        self.stale_after = (
            stale_after
            if stale_after is not None
            else timedelta(seconds=settings.upload_expiry_seconds)
        )
        # Seconds between opportunistic clean-ups (from open_session), per process;
        # the first comes with the first upload after a start. Only a throttle:
        # what is stale is decided from the database.
        self.clean_every = clean_every
        self._last_clean = float("-inf")

    # -- sessions ----------------------------------------------------------

    def _row(
        self, s: Session, actor: Principal, upload_id: int, *, lock: bool = False
    ) -> UploadSession:
        stmt = select(UploadSession).where(
            UploadSession.id == upload_id, UploadSession.user_id == actor.user_id
        )
        if lock:
            stmt = stmt.with_for_update()
        row = s.scalar(stmt)
        if row is None:
            raise UploadNotFound()
        return row

    def _info(self, s: Session, row: UploadSession) -> UploadInfo:
        received = s.scalar(
            select(func.coalesce(func.sum(UploadPart.size), 0)).where(
                UploadPart.session_id == row.id
            )
        )
        return UploadInfo(
            id=row.id,
            kind=row.kind,
            name=row.name,
            user_id=row.user_id,
            tenant_id=row.tenant_id,
            length=row.length,
            meta=_meta(row.meta),
            received=int(received or 0),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def open_session(
        self,
        actor: Principal,
        kind: UploadKind,
        name: str | None = None,
        length: int | None = None,
        meta: Mapping[str, Any] | None = None,
        *,
        target: Location | None = None,
        client: str | None = None,
    ) -> UploadInfo:
        """Start an upload, or return the actor's existing one of that name (to resume).

        ``name`` is the client's (a chunking folder); None picks a random one
        (tus). ``length`` is the declared total, if known: it must fit into the
        quota of ``target`` (the destination, if known, else the user's own
        space), counting what a file already there would give back. Opening an
        existing session keeps its parts; a new ``length`` or ``meta`` replaces
        the old. Raises QuotaExceeded, BadRequest (bad name or length).
        """
        name = check_session_name(name if name is not None else uuid.uuid4().hex)
        if length is not None and not 0 <= length <= MAX_POSITION:
            raise BadRequest("the total length must be a non-negative number")
        data = dict(meta or {})
        if target is not None:
            assert target.login == actor.login
            data[TARGET_KEY] = list(target.segments)
        if length is not None:
            room = self._room_at(target) if target is not None else self._room(actor, None)
            if room is not None and length > room:
                raise QuotaExceeded(length, room, "storage")
        self._maybe_clean()
        for attempt in (1, 2):
            try:
                with self.db.write() as s:
                    row = s.scalar(
                        select(UploadSession)
                        .where(
                            UploadSession.user_id == actor.user_id,
                            UploadSession.kind == kind,
                            UploadSession.name == name,
                        )
                        .with_for_update()
                    )
                    now = utcnow()
                    if row is None:
                        row = UploadSession(
                            user_id=actor.user_id,
                            tenant_id=actor.tenant_id,
                            kind=kind,
                            name=name,
                            length=length,
                            meta=json.dumps(data),
                            created_at=now,
                            updated_at=now,
                        )
                        s.add(row)
                        s.flush()
                        self.audit.record(
                            s,
                            action="upload.open",
                            tenant_id=actor.tenant_id,
                            actor=actor.login,
                            client=client,
                            target=f"{kind.value}:{name}",
                            detail={"upload": row.id, "length": length},
                        )
                    else:
                        if length is not None:
                            row.length = length
                        if data:
                            row.meta = json.dumps({**_meta(row.meta), **data})
                        row.updated_at = now
                    return self._info(s, row)
            except IntegrityError:
                # Two requests opened the same name at once (PostgreSQL): the
                # other one won; the second attempt finds its row.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get_session(self, actor: Principal, kind: UploadKind, name: str) -> UploadInfo:
        """The actor's session of that name; UploadNotFound if there is none."""
        with self.db.read() as s:
            row = s.scalar(
                select(UploadSession).where(
                    UploadSession.user_id == actor.user_id,
                    UploadSession.kind == kind,
                    UploadSession.name == name,
                )
            )
            if row is None:
                raise UploadNotFound()
            return self._info(s, row)

    def list_sessions(self, actor: Principal, kind: UploadKind) -> list[UploadInfo]:
        with self.db.read() as s:
            rows = s.scalars(
                select(UploadSession)
                .where(UploadSession.user_id == actor.user_id, UploadSession.kind == kind)
                .order_by(UploadSession.name)
            ).all()
            return [self._info(s, r) for r in rows]

    def expires_at(self, upload: UploadInfo) -> datetime:
        """When ``upload`` goes stale unless a part arrives first (``clean_stale`` removes it)."""
        return upload.updated_at + self.stale_after

    def is_expired(self, upload: UploadInfo) -> bool:
        """Whether ``upload`` is stale already, though not yet cleaned away."""
        return self.expires_at(upload) <= utcnow()

    def set_length(
        self, actor: Principal, upload: UploadInfo, length: int, *, client: str | None = None
    ) -> UploadInfo:
        """Declare the total length later (tus creation-defer-length); checked like at open."""
        if not 0 <= length <= MAX_POSITION:
            raise BadRequest("the total length must be a non-negative number")
        room = self._room(actor, upload.target)
        if room is not None and length > room:
            raise QuotaExceeded(length, room, "storage")
        with self.db.write() as s:
            row = self._row(s, actor, upload.id, lock=True)
            info = self._info(s, row)
            if info.received > length:
                raise PartsExceedLength(length, info.received)
            row.length = length
            row.updated_at = utcnow()
            return self._info(s, row)

    def delete_session(
        self, actor: Principal, upload: UploadInfo, *, client: str | None = None
    ) -> None:
        """Abort an upload: the session, its parts and their blobs go."""
        with self.db.write() as s:
            row = self._row(s, actor, upload.id, lock=True)
            blobs = self._drop_session(s, row)
            self.audit.record(
                s,
                action="upload.delete",
                tenant_id=row.tenant_id,
                actor=actor.login,
                client=client,
                target=f"{row.kind.value}:{row.name}",
                detail={"upload": row.id, "parts": len(blobs)},
            )
        self._delete_blobs(row.tenant_id, blobs)

    def _drop_session(self, s: Session, row: UploadSession) -> list[str]:
        blobs = list(s.scalars(select(UploadPart.blob_id).where(UploadPart.session_id == row.id)))
        s.execute(delete(UploadPart).where(UploadPart.session_id == row.id))
        s.execute(delete(UploadSession).where(UploadSession.id == row.id))
        return blobs

    def _delete_blobs(self, tenant_id: int, blob_ids: Sequence[str]) -> None:
        # After the commit: a crash before this leaves only an orphan for fsck.
        for b in blob_ids:
            try:
                self.blobs.delete(tenant_id, b)
            except OSError as exc:
                log.warning("could not delete blob %s of a finished upload: %s", b, exc)

    def check_target(
        self,
        actor: Principal,
        dst: Location,
        *,
        length: int | None = None,
        if_none_match: bool = False,
    ) -> None:
        """Refuse now what assembling into ``dst`` would refuse before its first byte.

        The file service's own checks (the parent folder exists, ``dst`` is no
        folder, permission, locks, ``if_none_match``, quota for ``length``) run
        and nothing is stored, so a client learns at the start of a long upload
        what would otherwise fail at its end. They run again at assembly.
        """
        put = self.files.begin_put(dst, length=length, if_none_match=if_none_match, actor=actor)
        self.files.abort_put(put)

    # -- quota -------------------------------------------------------------

    def room(self, actor: Principal, target: Sequence[str] | None = None) -> int | None:
        """Bytes one upload to ``target`` (default: the user's own space) may hold; None: no limit.

        What the actor's other open uploads hold already is not subtracted: it
        is what tus announces as ``Tus-Max-Size`` and what ``open_session``
        checks a declared length against.
        """
        return self._room(actor, target)

    def _room(self, actor: Principal, target: Sequence[str] | None) -> int | None:
        """Bytes an upload to ``target`` (or the user's own space) may hold; None: no limit.

        What a file at the target already holds counts as room: replacing it
        gives that back, as for a plain PUT.
        """
        loc: Location | None = None
        if target:
            try:
                loc = self.files.locate(actor, actor.login, list(target))
            except ThvcError:
                loc = None  # the target went away meanwhile: the user's own quota applies
        if loc is None:
            try:
                loc = self.files.locate(actor, actor.login, [])
            except ThvcError:
                # Not an account's tree (a link): no early check; assembly checks the quota.
                return None
        return self._room_at(loc)

    def _room_at(self, loc: Location) -> int | None:
        _, available = self.files.quota(loc)
        if available is None:
            return None
        existing = 0
        if loc.segments:
            try:
                entry = self.files.stat(loc)
                existing = 0 if entry.is_dir else entry.size
            except NotFound:
                pass
        return available + existing

    # -- parts -------------------------------------------------------------

    def begin_part(
        self,
        actor: Principal,
        upload: UploadInfo,
        name: str,
        position: int,
        *,
        length: int | None = None,
        checksum: str | None = None,
        room_at: Location | None = None,
    ) -> PartUpload:
        """Check what can be checked before a byte is stored, then open a blob for a part.

        ``room_at`` is where the upload goes, when that is not in the actor's own tree
        (a file drop): its quota applies.

        ``name`` is the client's (a decimal number); ``position`` orders the
        parts: a byte offset or a chunk number. A part of the same name is
        replaced when this one is committed. ``length`` is the part's declared
        size, if known. The part may not take the parts past the session's
        declared length (PartsExceedLength, a BadRequest), nor all the user's
        open parts past the quota (QuotaExceeded); both are enforced again
        while bytes arrive. An appending session (tus) must continue at its
        current end (OffsetMismatch). ``checksum`` (``SHA1:<hex>``...) is
        verified on commit.
        """
        name = check_part_name(name)
        if not 0 <= position <= MAX_POSITION:
            raise InvalidPartName("a part position must be a non-negative number")
        with self.db.read() as s:
            row = self._row(s, actor, upload.id)
            info = self._info(s, row)
            same = s.scalar(
                select(UploadPart.size).where(
                    UploadPart.session_id == row.id, UploadPart.name == name
                )
            )
            in_session = info.received - (same or 0)
            everywhere = s.scalar(
                select(func.coalesce(func.sum(UploadPart.size), 0))
                .join(UploadSession, UploadSession.id == UploadPart.session_id)
                .where(UploadSession.user_id == actor.user_id)
            )
            everywhere = int(everywhere or 0) - (same or 0)
            key = self.keys.data_key(self.db.reader(s), row.tenant_id)
        if row.kind is UploadKind.TUS and (position != info.received or name != str(position)):
            raise OffsetMismatch(info.received, position)
        limit: int | None = None
        quota_limited = False
        if info.length is not None:
            limit = info.length - in_session
            if length is not None and length > limit:
                raise PartsExceedLength(info.length, in_session + length)
        room = self._room_at(room_at) if room_at is not None else self._room(actor, info.target)
        if room is not None:
            qlimit = max(0, room - everywhere)
            if length is not None and length > qlimit:
                raise QuotaExceeded(length, qlimit, "storage")
            if limit is None or qlimit < limit:
                limit, quota_limited = qlimit, True
        writer = self.blobs.writer(key, uuid.uuid4().hex)
        return PartUpload(
            info,
            name,
            position,
            writer,
            limit=limit,
            quota_limited=quota_limited,
            checksum=Checksum(checksum) if checksum else None,
            replaces=same is not None,
        )

    def abort_part(self, part: PartUpload) -> None:
        part.writer.abort()
        if part.info is not None:
            self.blobs.delete(part.upload.tenant_id, part.info.blob_id)

    def finish_part(
        self, part: PartUpload, *, actor: Principal, client: str | None = None
    ) -> PartInfo:
        """Commit the part's blob and record it, replacing a part of the same name.

        Whatever was written is committed: an adapter that wants only whole
        parts (chunking) checks the size first and aborts otherwise; one that
        keeps partial data (tus) commits what arrived. Raises UploadNotFound if
        the session was deleted meanwhile, ChecksumMismatch if a checksum was
        given and does not match, OffsetMismatch if another append to a tus
        session moved its end meanwhile.
        """
        info = part.info = part.writer.commit()
        if part.checksum is not None and not part.checksum.matches():
            self.abort_part(part)
            raise ChecksumMismatch("the part does not match the checksum sent with it")
        old: str | None = None
        try:
            with self.db.write() as s:
                # The session row lock serialises parts of one session (and
                # assembly's final step, delete and expiry) on PostgreSQL;
                # SQLite has BEGIN IMMEDIATE.
                row = self._row(s, actor, part.upload.id, lock=True)
                if row.kind is UploadKind.TUS:
                    # Checked again under the row lock: of two appends at one offset
                    # that raced past begin_part, the later one must not land after
                    # the earlier one moved the end on.
                    end = s.scalar(
                        select(func.coalesce(func.sum(UploadPart.size), 0)).where(
                            UploadPart.session_id == row.id, UploadPart.name != part.name
                        )
                    )
                    if int(end or 0) != part.position:
                        raise OffsetMismatch(int(end or 0), part.position)
                existing = s.get(UploadPart, (row.id, part.name))
                if existing is not None:
                    old = existing.blob_id
                    s.delete(existing)
                    s.flush()
                now = utcnow()
                stored = UploadPart(
                    session_id=row.id,
                    name=part.name,
                    position=part.position,
                    blob_id=info.blob_id,
                    size=info.size,
                    created_at=now,
                )
                s.add(stored)
                row.updated_at = now
                self.audit.record(
                    s,
                    action="upload.part",
                    tenant_id=row.tenant_id,
                    actor=actor.login,
                    client=client,
                    target=f"{row.kind.value}:{row.name}",
                    detail={
                        "upload": row.id,
                        "part": part.name,
                        "size": info.size,
                        "replaced": old is not None,
                    },
                )
        except BaseException:
            self.blobs.delete(part.upload.tenant_id, info.blob_id)
            raise
        if old is not None:
            self._delete_blobs(part.upload.tenant_id, [old])
        return PartInfo(part.name, part.position, info.size, info.blob_id, now)

    def list_parts(self, actor: Principal, upload: UploadInfo) -> list[PartInfo]:
        """The parts stored so far, in assembly order (by position, then name)."""
        with self.db.read() as s:
            row = self._row(s, actor, upload.id)
            return self._parts(s, row.id)

    @staticmethod
    def _parts(s: Session, session_id: int) -> list[PartInfo]:
        return [
            PartInfo(p.name, p.position, p.size, p.blob_id, p.created_at)
            for p in s.scalars(
                select(UploadPart)
                .where(UploadPart.session_id == session_id)
                .order_by(UploadPart.position, UploadPart.name)
            )
        ]

    def delete_part(
        self, actor: Principal, upload: UploadInfo, name: str, *, client: str | None = None
    ) -> None:
        """Drop one part (clients resuming remove parts they will not reuse)."""
        name = check_part_name(name)
        with self.db.write() as s:
            row = self._row(s, actor, upload.id, lock=True)
            part = s.get(UploadPart, (row.id, name))
            if part is None:
                raise PartNotFound()
            blob_id = part.blob_id
            s.delete(part)
            row.updated_at = utcnow()
            self.audit.record(
                s,
                action="upload.part-delete",
                tenant_id=row.tenant_id,
                actor=actor.login,
                client=client,
                target=f"{row.kind.value}:{row.name}",
                detail={"upload": row.id, "part": name},
            )
        self._delete_blobs(row.tenant_id, [blob_id])

    # -- assembly ----------------------------------------------------------

    def assemble(
        self,
        actor: Principal,
        upload: UploadInfo,
        dst: Location,
        *,
        total_length: int | None = None,
        mtime: datetime | None = None,
        checksum: str | None = None,
        content_type: str | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
        tokens: Collection[str] = (),
        client: str | None = None,
    ) -> tuple[Entry, bool]:
        """Stream the parts, in order, into a new version of ``dst``; returns (entry, created).

        The parts must form one whole (IncompleteUpload) adding up to
        ``total_length``, or to the declared length if none is given
        (LengthMismatch); both are BadRequests and leave everything as it was.
        Everything ``FileService.finish_put`` checks applies (permission,
        quota, locks with ``tokens``, conditions, ``checksum``); the
        destination changes only in its final transaction. Then the session
        and its parts are deleted.
        """
        with self.db.read() as s:
            row = self._row(s, actor, upload.id)
            parts = self._parts(s, row.id)
            key = self.keys.data_key(self.db.reader(s), row.tenant_id)
            declared = row.length
        check_layout(parts)
        received = sum(p.size for p in parts)
        expected = total_length if total_length is not None else declared
        if expected is not None and received != expected:
            raise LengthMismatch(expected, received)
        put = self.files.begin_put(
            dst,
            length=received,
            if_match=if_match,
            if_none_match=if_none_match,
            actor=actor,
            tokens=tokens,
            checksum=checksum,
        )
        try:
            for p in parts:
                for piece in self.blobs.read(key, p.blob_id, p.size):
                    put.write(piece)
            entry, created = self.files.finish_put(
                put, actor=actor, mtime=mtime, content_type=content_type, client=client
            )
        except BaseException:
            self.files.abort_put(put)
            raise
        with self.db.write() as s:
            found = s.scalar(
                select(UploadSession)
                .where(UploadSession.id == upload.id, UploadSession.user_id == actor.user_id)
                .with_for_update()
            )
            # Gone already: a concurrent retry of the same MOVE finished first.
            blobs = self._drop_session(s, found) if found is not None else []
            self.audit.record(
                s,
                action="upload.assemble",
                tenant_id=row.tenant_id,
                actor=actor.login,
                client=client,
                target=f"{row.kind.value}:{row.name}",
                detail={
                    "upload": row.id,
                    "parts": len(parts),
                    "size": received,
                    "file_id": entry.id,
                    "to": f"{dst.login}/{'/'.join(dst.segments)}",
                },
            )
        self._delete_blobs(row.tenant_id, blobs)
        return entry, created

    # -- housekeeping ------------------------------------------------------

    def clean_stale(self, older_than: timedelta | None = None, *, actor: str = "system") -> int:
        """Delete sessions untouched for longer than ``older_than`` (default: ``stale_after``).

        Returns how many went. A part arriving meanwhile touches its session
        under the session's row lock, so it is either in time or refused.
        """
        cutoff = utcnow() - (self.stale_after if older_than is None else older_than)
        gone: list[tuple[int, list[str]]] = []
        with self.db.write() as s:
            rows = s.scalars(
                select(UploadSession).where(UploadSession.updated_at < cutoff).with_for_update()
            ).all()
            for row in rows:
                blobs = self._drop_session(s, row)
                gone.append((row.tenant_id, blobs))
                self.audit.record(
                    s,
                    action="upload.expire",
                    tenant_id=row.tenant_id,
                    actor=actor,
                    target=f"{row.kind.value}:{row.name}",
                    detail={"upload": row.id, "user_id": row.user_id, "parts": len(blobs)},
                )
        for tenant_id, blobs in gone:
            self._delete_blobs(tenant_id, blobs)
        return len(gone)

    def _maybe_clean(self) -> None:
        now = time.monotonic()
        if now - self._last_clean < self.clean_every:
            return
        self._last_clean = now
        try:
            n = self.clean_stale()
        except Exception as exc:  # housekeeping must never fail an upload
            log.warning("cleaning stale uploads failed: %s", exc, exc_info=exc)
            return
        if n:
            log.info("removed %d stale upload(s)", n)

    @staticmethod
    def referenced_blobs(s: Session) -> set[str]:
        """Every blob that is a part of an open upload (for fsck: not orphans)."""
        return set(s.scalars(select(UploadPart.blob_id)).all())
