"""The file service: every change to the tree goes through here.

Each public method checks permission and quota, changes the tree, updates the
etags and sizes of all ancestors and the quota counters, and records the audit
event, in one database transaction. Blob bytes are written (and fsynced)
before that transaction, so a crash leaves either the old state or the new
one; a blob whose transaction never committed is an orphan for ``fsck``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import hashlib
import hmac
import uuid
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import delete, func, inspect, literal, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from thvc import onloop
from thvc.accounts.models import User
from thvc.accounts.services import Principal
from thvc.audit import AuditLog
from thvc.blobs import BlobInfo, BlobStore, BlobWriter, DataKey
from thvc.db.engine import Database
from thvc.db.hot import Batch, Later, Reader, Row, marks
from thvc.db.types import utcnow
from thvc.errors import (
    AlreadyExists,
    BadRequest,
    Forbidden,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
)
from thvc.files import locks, paths
from thvc.files.errors import (
    ChecksumMismatch,
    IntoItself,
    IsCollection,
    NodeNotFound,
    NotCollection,
    ParentMissing,
    ProtectedNode,
    ReadOnly,
)
from thvc.files.keys import TenantKeys
from thvc.files.models import (
    Blob,
    DeadProperty,
    Lock,
    LockScope,
    Node,
    Space,
    SpaceKind,
    SpaceMember,
    SpaceRole,
    Version,
)
from thvc.files.perms import Perm, describe
from thvc.memo import Memo
from thvc.tenants.models import Tenant
from thvc.tenants.traffic import TrafficMeter

# Listings of at least LISTING_MEMO_MIN children keep their entries for the next time
# (FileService._children), up to LISTING_MEMO_ENTRIES entries in all (~1 kB each).
LISTING_MEMO_MIN = 100
LISTING_MEMO_ENTRIES = 16_384

# A listing of more children than this is described in the thread pool, not on the event
# loop (thvc.onloop): at ~10 ms of CPU per 1,000 entries, every other request would wait
# for it.
LOOP_LISTING_MAX = 2000


def split_extension(name: str) -> tuple[str, str, str]:
    """``plan.v2.pdf`` -> (``plan.v2``, ``.``, ``pdf``); a leading dot is no extension.
    Suffixes for taken names (`` (2)``, `` (anna@lauscha)``) go before it."""
    return name.rpartition(".") if "." in name[1:] else (name, "", "")


def new_etag() -> str:
    return uuid.uuid4().hex


ROLE_PERMS = {
    SpaceRole.VIEWER: Perm.READ,
    SpaceRole.EDITOR: Perm.READ | Perm.write() | Perm.SHARE,
    SpaceRole.MANAGER: Perm.all(),
}


class MountKind(enum.StrEnum):
    """Nextcloud's ``nc:mount-type``."""

    NONE = ""
    GROUP = "group"  # a team space
    SHARED = "shared"  # a received share


@dataclass(frozen=True)
class Mount:
    """Something that appears in a user's root folder without living in their space:
    a team space, or a file or folder shared with them."""

    name: str
    space_id: int
    tenant_id: int
    perms: Perm
    kind: MountKind
    # Where the mounted item lives in its space ("" for a whole team space).
    base: str = ""
    owner: str = ""
    share_id: int | None = None


@dataclass(frozen=True)
class Location:
    """A resolved request path: a space, a path in it, and what the caller may do there."""

    login: str
    segments: tuple[str, ...]
    space_id: int
    tenant_id: int
    path: str
    perms: Perm
    # The mount the path lies in, if it is not the caller's own space.
    mount: Mount | None = None
    # The personal root also lists the mounts.
    mounts: tuple[Mount, ...] = ()
    # The login of whoever owns the tree, for oc:owner-id.
    owner: str = ""

    @property
    def base(self) -> str:
        return self.mount.base if self.mount else ""

    @property
    def is_root(self) -> bool:
        """The top of the caller's view: their root, a team space or a received share."""
        return self.path == self.base

    @property
    def is_space_root(self) -> bool:
        return self.path == ""

    @property
    def is_user_root(self) -> bool:
        return not self.segments

    @property
    def can_write(self) -> bool:
        return bool(self.perms & (Perm.UPDATE | Perm.CREATE))

    def child(self, name: str) -> Location:
        return dataclasses.replace(
            self, segments=(*self.segments, name), path=f"{self.path}/{name}", mounts=()
        )


class Grants(Protocol):
    """What others have given the caller: received shares. ``thvc.sharing`` provides it
    (files may not import sharing); without it, there are only own and team spaces."""

    def mounts(self, b: Batch, actor: Principal) -> Later[list[Mount]]: ...

    def current(self, s: Session, share_id: int, actor: Principal) -> Perm:
        """What a share grants now (Perm.NONE once revoked or expired)."""
        ...

    def share_types(self, b: Batch, node_ids: Collection[int]) -> Later[dict[int, tuple[int, ...]]]:
        """For the owner's view: how each node is shared (Nextcloud's share type numbers)."""
        ...

    def leave(self, s: Session, share_id: int, actor: Principal) -> None:
        """The recipient no longer wants the share."""
        ...


class NoGrants:
    def mounts(self, b: Batch, actor: Principal) -> Later[list[Mount]]:
        return Later.known(b, [])

    def current(self, s: Session, share_id: int, actor: Principal) -> Perm:
        return Perm.NONE

    def share_types(self, b: Batch, node_ids: Collection[int]) -> Later[dict[int, tuple[int, ...]]]:
        return Later.known(b, {})

    def leave(self, s: Session, share_id: int, actor: Principal) -> None:
        raise NodeNotFound()


# The columns of a node the read paths need, in NodeRow's order (see thvc.db.hot).
NODE_COLUMNS = (
    "id, space_id, path, name, is_dir, size, etag, mtime, created_at, content_type, sha256, blob_id"
)
_LIVE_NODE = (
    f"SELECT {NODE_COLUMNS} FROM nodes WHERE space_id = ? AND path = ? AND trashed_at IS NULL"
)
_IS_DIR = 4  # the index of is_dir in NODE_COLUMNS
_NAME = 3  # and of name
# The children of the folder _LIVE_NODE finds (sent with it: one round trip).
_CHILDREN_OF = (
    f"SELECT {NODE_COLUMNS} FROM nodes WHERE parent_id ="
    " (SELECT id FROM nodes WHERE space_id = ? AND path = ? AND trashed_at IS NULL)"
    " AND trashed_at IS NULL ORDER BY name"
)


# The team spaces a user belongs to, directly or through a group, with each role.
_TEAM_MOUNTS = (
    "SELECT s.id, s.name, m.role FROM spaces s JOIN space_members m ON m.space_id = s.id"
    " WHERE s.kind = ? AND s.tenant_id = ? AND (m.user_id = ?"
    " OR m.group_id IN (SELECT group_id FROM group_members WHERE user_id = ?))"
)
_USAGE = (
    "SELECT s.kind, s.quota_bytes, s.used_bytes, u.quota_bytes, t.quota_bytes, t.used_bytes"
    " FROM spaces s JOIN tenants t ON t.id = s.tenant_id LEFT JOIN users u ON u.id = s.owner_id"
    " WHERE s.id = ?"
)


@dataclass(frozen=True, slots=True)
class NodeRow:
    """A node as read for a request, without the ORM (see :mod:`thvc.db.hot`)."""

    id: int
    space_id: int
    path: str
    name: str
    is_dir: bool
    size: int
    etag: str
    mtime: datetime
    created_at: datetime
    content_type: str | None
    sha256: str | None
    blob_id: str | None

    @classmethod
    def of(cls, r: Reader, row: Row) -> NodeRow:
        return _node_row(r.ts_out, tuple(row))


@functools.lru_cache(maxsize=4096)
def _node_row(ts: Callable[[Any], Any], row: Row) -> NodeRow:
    """A row as a NodeRow, by its values (and the engine's datetime conversion).

    Converting the two datetimes was most of the cost of a row in a large listing, and
    a folder's rows come back unchanged poll after poll: looking one up costs a fifth.
    """
    return NodeRow(
        row[0],
        row[1],
        row[2],
        row[3],
        bool(row[4]),
        row[5],
        row[6],
        ts(row[7]),  # never NULL
        ts(row[8]),
        row[9],
        row[10],
        row[11],
    )


@dataclass(frozen=True, slots=True)
class DeadValue:
    """A dead property: its namespace, name and XML value."""

    namespace: str
    name: str
    value: str


class Entry(NamedTuple):
    """What a client may learn about a file or folder.

    A named tuple, not a frozen dataclass: a Depth 1 listing makes one per child, and a
    frozen dataclass sets each of its 16 fields through ``object.__setattr__`` (4 µs an
    entry, a third of describing 1,000 files; a tuple: 0.5 µs). Hashing and comparing it,
    as the PROPFIND response cache does, is the tuple's C code too.
    """

    id: int
    segments: tuple[str, ...]
    name: str
    is_dir: bool
    size: int
    etag: str
    mtime: datetime
    created_at: datetime
    content_type: str | None
    sha256: str | None
    perms: Perm
    # The top of the caller's view (their root, a team space, a received share): it
    # cannot be deleted, moved or renamed.
    is_root: bool
    is_mount: bool = False
    # Whose it is: the personal space's owner, the team space's name, the sharer.
    owner: str = ""
    mount_type: MountKind = MountKind.NONE
    # How the caller has shared it with others (Nextcloud's share types: 0 user, 1 group,
    # 3 link, 4 e-mail).
    share_types: tuple[int, ...] = ()

    @property
    def writable(self) -> bool:
        return bool(self.perms & (Perm.UPDATE | Perm.CREATE))

    @property
    def shared_with_me(self) -> bool:
        return self.mount_type is MountKind.SHARED


@dataclass(frozen=True, slots=True)
class _Listing:
    """The entries of a folder's children, and the rows and share types they came from."""

    rows: list[Row]
    kinds: dict[int, tuple[int, ...]]
    entries: list[Entry]


@dataclass(frozen=True)
class Description:
    """An item (and its children, first the item), as :meth:`FileService.describe` reads it."""

    entries: list[Entry]
    dead: dict[int, list[DeadValue]]
    # (bytes used, bytes available or None for unlimited), if asked for.
    quota: tuple[int, int | None] | None
    # Active locks by path, if asked for.
    locks: dict[str, list[locks.LockInfo]]


@dataclass(frozen=True)
class ReadHandle:
    entry: Entry
    key: DataKey
    blob_id: str
    tenant_id: int = 0


@dataclass(frozen=True)
class VersionInfo:
    id: int
    size: int
    sha256: str
    mtime: datetime
    created_at: datetime
    author: str | None


@dataclass(frozen=True)
class TrashInfo:
    id: int
    space_id: int
    path: str
    is_dir: bool
    size: int
    trashed_at: datetime


class Checksum:
    """A client's content checksum (``TYPE:hex``), computed while the bytes stream by."""

    KINDS = {"SHA1": "sha1", "MD5": "md5", "SHA256": "sha256", "SHA3-256": "sha3_256"}

    def __init__(self, header: str) -> None:
        kind, _, expected = header.strip().partition(":")
        self.kind = kind.upper()
        self.expected = expected.strip().lower()
        if self.kind == "ADLER32":
            self._adler = 1
            self._hash = None
        elif self.kind in self.KINDS and self.expected:
            self._hash = hashlib.new(self.KINDS[self.kind])
        else:
            raise BadRequest(f"unsupported checksum {header!r}: use SHA1, MD5, SHA256 or ADLER32")

    def update(self, data: bytes) -> None:
        if self._hash is None:
            self._adler = zlib.adler32(data, self._adler)
        else:
            self._hash.update(data)

    def matches(self) -> bool:
        got = f"{self._adler:08x}" if self._hash is None else self._hash.hexdigest()
        return hmac.compare_digest(got, self.expected.zfill(len(got)))


@dataclass
class Upload:
    """A PUT in progress: bytes go to an encrypted temp blob, bounded by the quota left."""

    loc: Location
    writer: BlobWriter
    limit: int | None
    if_match: str | None
    if_none_match: bool
    existed: bool
    tokens: frozenset[str] = frozenset()
    info: BlobInfo | None = field(default=None)
    # A checksum the client sent with the content ("SHA1:<hex>"), verified at the end.
    checksum: Checksum | None = None

    def write(self, data: bytes) -> None:
        if self.limit is not None and self.writer.size + len(data) > self.limit:
            raise QuotaExceeded(self.writer.size + len(data), self.limit, "storage")
        self.writer.write(data)
        if self.checksum is not None:
            self.checksum.update(data)


@dataclass(frozen=True)
class PropOp:
    """One PROPPATCH instruction: set (value is XML) or remove (value None)."""

    namespace: str
    name: str
    value: str | None


class FileService:
    """Files and folders in personal and team spaces."""

    def __init__(
        self,
        db: Database,
        *,
        audit: AuditLog,
        blobs: BlobStore,
        keys: TenantKeys,
        versions_kept: int = 50,
        trash_days: int = 30,
    ) -> None:
        self.db = db
        self.audit = audit
        self.blobs = blobs
        self.keys = keys
        self.versions_kept = versions_kept
        self.trash_days = trash_days
        self.grants: Grants = NoGrants()
        # Counts bytes in and out per tenant (build_services sets it).
        self.traffic: TrafficMeter | None = None
        # Whether the HTTP layer may try small reads on the event loop (thvc.onloop):
        # SQLite and the blob store read local files; PostgreSQL is a round trip away.
        self.reads_on_loop = db.is_sqlite and blobs.reads_on_loop
        # The entries of large listings, with the rows they were made from (_children).
        self._listings: Memo[_Listing] = Memo(LISTING_MEMO_ENTRIES)

    # -- spaces ------------------------------------------------------------

    def _new_space(self, s: Session, space: Space) -> Space:
        s.add(space)
        s.flush()
        s.add(
            Node(space_id=space.id, parent_id=None, path="", name="", is_dir=True, etag=new_etag())
        )
        return space

    def provision_personal_space(self, s: Session, user: User) -> None:
        """A new account's own space, created in the transaction that creates the account.

        Created here rather than on the first request: a first request of a sync client
        then writes once (its login), not twice, which is what a few thousand clients
        logging in at once queue on. Accounts created before (and guests, who own no
        files) still get theirs on their first request (:meth:`_personal_space`).
        """
        self._new_personal_space(s, user.tenant_id, user.login, user.id)

    def _new_personal_space(self, s: Session, tenant_id: int, login: str, user_id: int) -> Space:
        return self._new_space(
            s,
            Space(tenant_id=tenant_id, kind=SpaceKind.PERSONAL, name=login, owner_id=user_id),
        )

    def _personal_space(self, actor: Principal) -> Space:
        with self.db.read() as s:
            space = s.scalar(select(Space).where(Space.owner_id == actor.user_id))
        if space is not None:
            return space
        try:
            with self.db.write() as s:
                space = s.scalar(select(Space).where(Space.owner_id == actor.user_id))
                if space is None:
                    space = self._new_personal_space(s, actor.tenant_id, actor.login, actor.user_id)
                return space
        except IntegrityError:  # another request created it at the same moment
            with self.db.read() as s:
                return s.scalars(select(Space).where(Space.owner_id == actor.user_id)).one()

    def create_team_space(
        self, tenant_slug: str, name: str, *, quota_bytes: int | None = None, actor: str = "system"
    ) -> Space:
        name = paths.check_name(name)
        with self.db.write() as s:
            tenant = s.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
            if tenant is None:
                raise NotFound(f"no tenant {tenant_slug!r}")
            if (
                s.scalar(select(Space.id).where(Space.tenant_id == tenant.id, Space.name == name))
                is not None
            ):
                raise AlreadyExists(f"team space {name!r} exists already")
            space = self._new_space(
                s,
                Space(tenant_id=tenant.id, kind=SpaceKind.TEAM, name=name, quota_bytes=quota_bytes),
            )
            self.audit.record(
                s, action="space.create", tenant_id=tenant.id, actor=actor, target=name
            )
            return space

    def set_space_member(
        self,
        tenant_slug: str,
        space_name: str,
        *,
        role: SpaceRole,
        user_login: str | None = None,
        group: str | None = None,
        actor: str = "system",
    ) -> None:
        if (user_login is None) == (group is None):
            raise BadRequest("name either a user or a group")
        with self.db.write() as s:
            space = s.scalar(
                select(Space)
                .join(Tenant, Tenant.id == Space.tenant_id)
                .where(
                    Tenant.slug == tenant_slug,
                    Space.name == space_name,
                    Space.kind == SpaceKind.TEAM,
                )
            )
            if space is None:
                raise NotFound(f"no team space {space_name!r} in {tenant_slug!r}")
            from thvc.accounts.models import Group  # local: only needed here

            member: SpaceMember | None
            if user_login is not None:
                uid = s.scalar(
                    select(User.id).where(
                        User.login == user_login, User.tenant_id == space.tenant_id
                    )
                )
                if uid is None:
                    raise NotFound(f"no user {user_login!r} in {tenant_slug!r}")
                member = s.scalar(
                    select(SpaceMember).where(
                        SpaceMember.space_id == space.id, SpaceMember.user_id == uid
                    )
                )
                if member is None:
                    member = SpaceMember(space_id=space.id, user_id=uid, role=role)
                    s.add(member)
            else:
                gid = s.scalar(
                    select(Group.id).where(Group.name == group, Group.tenant_id == space.tenant_id)
                )
                if gid is None:
                    raise NotFound(f"no group {group!r} in {tenant_slug!r}")
                member = s.scalar(
                    select(SpaceMember).where(
                        SpaceMember.space_id == space.id, SpaceMember.group_id == gid
                    )
                )
                if member is None:
                    member = SpaceMember(space_id=space.id, group_id=gid, role=role)
                    s.add(member)
            member.role = role
            self.audit.record(
                s,
                action="space.member",
                tenant_id=space.tenant_id,
                actor=actor,
                target=space_name,
                detail={"user": user_login, "group": group, "role": role.value},
            )

    def _read_mounts(self, r: Reader, actor: Principal) -> tuple[int | None, tuple[Mount, ...]]:
        """The user's personal space (None before their first request) and mounts.

        Own space, team spaces and received shares are read together (one round trip).
        """
        with r.batch() as b:
            own = b.one("SELECT id FROM spaces WHERE owner_id = ?", actor.user_id)
            team_rows = b.all(
                _TEAM_MOUNTS, SpaceKind.TEAM.value, actor.tenant_id, actor.user_id, actor.user_id
            )
            received = self.grants.mounts(b, actor)
        row = own.get()
        if row is None:
            return None, ()
        personal_id = int(row[0])
        return personal_id, self._mounts(r, actor, team_rows.get(), received.get(), personal_id)

    def _mounts(
        self,
        r: Reader,
        actor: Principal,
        team_rows: list[Row],
        received: list[Mount],
        personal_id: int,
    ) -> tuple[Mount, ...]:
        """Team spaces and received shares, each under a name unique in the root.

        A team space hides an own entry of its name (as before); a received share
        never does: it gets the sharer's login, then a number, added to its name.
        """
        best: dict[int, Perm] = {}
        names: dict[int, str] = {}
        for sid, name, role in team_rows:
            best[sid] = best.get(sid, Perm.NONE) | ROLE_PERMS[SpaceRole(role)]
            names[sid] = name
        teams = [
            Mount(names[sid], sid, actor.tenant_id, perms, MountKind.GROUP, owner=names[sid])
            for sid, perms in best.items()
        ]
        if not received:
            return tuple(sorted(teams, key=lambda m: m.name))
        used = {m.name for m in teams} | set(self._root_names(r, personal_id))
        shared = []
        for m in sorted(received, key=lambda m: (m.name, m.share_id or 0)):
            name = m.name
            if name in used:
                stem, dot, ext = split_extension(name)
                n = 1
                while name in used:
                    suffix = f" ({m.owner})" if n == 1 else f" ({m.owner} {n})"
                    name = f"{stem}{suffix}{dot}{ext}"
                    n += 1
            used.add(name)
            shared.append(dataclasses.replace(m, name=name))
        return tuple(sorted([*teams, *shared], key=lambda m: m.name))

    # -- resolution --------------------------------------------------------

    def locate(self, actor: Principal, login: str, segments: Sequence[str]) -> Location:
        """Resolve ``/files/{login}/{segments}`` for ``actor``.

        Another user's tree is reported as not existing at all, so that nobody
        can learn which logins exist in which tenant.
        """
        if login.lower() != actor.login:
            raise NodeNotFound()
        segs = tuple(segments)
        assert all(paths.check_name(x) == x for x in segs)
        # A guest has no files of their own: only what is shared with them.
        own = Perm.READ if actor.is_guest else Perm.all()
        # One read snapshot for the common case; the first request creates the space.
        with self.db.hot() as r:
            personal_id, mounts = self._read_mounts(r, actor)
        if personal_id is None:
            self._personal_space(actor)
            with self.db.hot() as r:
                personal_id, mounts = self._read_mounts(r, actor)
            if personal_id is None:
                raise RuntimeError("the personal space was created but cannot be read")
        if segs:
            for m in mounts:
                if m.name == segs[0]:
                    return Location(
                        actor.login,
                        segs,
                        m.space_id,
                        m.tenant_id,
                        m.base + paths.join(segs[1:]),
                        m.perms,
                        mount=m,
                        owner=m.owner,
                    )
        return Location(
            actor.login,
            segs,
            personal_id,
            actor.tenant_id,
            paths.join(segs),
            own,
            mounts=mounts if not segs else (),
            owner=actor.login,
        )

    @staticmethod
    def _root_names(r: Reader, space_id: int) -> list[str]:
        return [
            name
            for (name,) in r.all(
                "SELECT name FROM nodes WHERE trashed_at IS NULL AND parent_id ="
                " (SELECT id FROM nodes WHERE space_id = ? AND path = '')",
                space_id,
            )
        ]

    def _node(self, s: Session, space_id: int, path: str) -> Node | None:
        return s.scalar(
            select(Node).where(
                Node.space_id == space_id, Node.path == path, Node.trashed_at.is_(None)
            )
        )

    def _need(self, s: Session, loc: Location) -> Node:
        node = self._node(s, loc.space_id, loc.path)
        if node is None:
            raise NodeNotFound()
        return node

    def _entry(
        self,
        node: Node | NodeRow,
        loc: Location,
        *,
        segments: tuple[str, ...] | None = None,
        name: str | None = None,
        share_types: Collection[int] = (),
    ) -> Entry:
        segs = loc.segments if segments is None else segments
        is_root = node.path == loc.base and node.space_id == loc.space_id
        perms, owner, kind = self._seen_as(loc)
        return Entry(
            id=node.id,
            segments=segs,
            name=name if name is not None else node.name,
            is_dir=node.is_dir,
            size=node.size,
            etag=node.etag,
            mtime=node.mtime,
            created_at=node.created_at,
            content_type=node.content_type,
            sha256=node.sha256,
            perms=perms,
            is_root=is_root,
            is_mount=is_root and loc.mount is not None,
            owner=owner,
            mount_type=kind,
            share_types=tuple(sorted(share_types)),
        )

    @staticmethod
    def _seen_as(loc: Location) -> tuple[Perm, str, MountKind]:
        """What every entry found through ``loc`` shares: the caller's permissions, whose
        the items are, and how they are mounted."""
        return loc.perms, loc.owner or loc.login, loc.mount.kind if loc.mount else MountKind.NONE

    def _children(
        self, r: Reader, raw: list[Row], loc: Location, kinds: dict[int, tuple[int, ...]]
    ) -> list[Entry]:
        """:meth:`_child_entries` of the children's rows as read, remembered for large
        folders: the same folder is listed again and again (a web page, a client's sync
        run), and most of the time nothing in it has changed. The entries made last time
        are used again only if the rows just read and the share types equal the ones they
        were made from, and ``loc`` is seen the same way: never stale, only not rebuilt.
        """
        if len(raw) < LISTING_MEMO_MIN:
            return self._child_entries([NodeRow.of(r, k) for k in raw], loc, kinds)
        key = (loc.space_id, loc.path, loc.segments, *self._seen_as(loc))
        known = self._listings.get(key)
        if known is not None and known.rows == raw and known.kinds == kinds:
            return known.entries
        entries = self._child_entries([NodeRow.of(r, k) for k in raw], loc, kinds)
        self._listings.put(key, _Listing(raw, kinds, entries), len(raw))
        return entries

    @staticmethod
    def _child_entries(
        rows: list[NodeRow], loc: Location, kinds: dict[int, tuple[int, ...]]
    ) -> list[Entry]:
        """:meth:`_entry` for each child of ``loc``, with what they share worked out once
        (a Depth 1 listing of 1,000 files spent a third of its time making entries).
        A child is never the top of a view: that is ``loc`` or one of its ancestors."""
        perms, owner, kind = FileService._seen_as(loc)
        segs = loc.segments
        return [
            Entry(
                n.id,
                (*segs, n.name),
                n.name,
                n.is_dir,
                n.size,
                n.etag,
                n.mtime,
                n.created_at,
                n.content_type,
                n.sha256,
                perms,
                False,
                False,
                owner,
                kind,
                tuple(sorted(k)) if (k := kinds.get(n.id)) else (),
            )
            for n in rows
        ]

    @staticmethod
    def _require_read(loc: Location) -> None:
        """Without READ (a file drop) nothing below the root exists, as far as one can tell."""
        if not loc.perms & Perm.READ and not loc.is_root:
            raise NodeNotFound()

    def stat(self, loc: Location) -> Entry:
        self._require_read(loc)
        with self.db.hot() as r:
            return self._describe(r, loc, children=False).entries[0]

    def listing(self, loc: Location) -> tuple[Entry, list[Entry]]:
        """A folder and its direct children: one query for the children, whatever their number."""
        self._require_read(loc)
        with self.db.hot() as r:
            found = self._describe(r, loc, children=True)
        return found.entries[0], found.entries[1:]

    def describe(
        self,
        loc: Location,
        *,
        children: bool,
        with_dead: bool = False,
        with_quota: bool = False,
        with_locks: bool = False,
    ) -> Description:
        """What a PROPFIND needs, read in one snapshot: the item (and its children),
        and only as asked their dead properties, the quota and the locks."""
        self._require_read(loc)
        with self.db.hot() as r:
            return self._describe(
                r,
                loc,
                children=children,
                with_dead=with_dead,
                with_quota=with_quota,
                with_locks=with_locks,
            )

    def _describe(
        self,
        r: Reader,
        loc: Location,
        *,
        children: bool,
        with_dead: bool = False,
        with_quota: bool = False,
        with_locks: bool = False,
    ) -> Description:
        """:meth:`describe` in two round trips: the item with its children, then what
        the answer adds to them (share types, mount roots, dead properties, quota, locks).
        A third only for dead properties of mounted spaces and shares in a user's root."""
        # Children of a file or of a folder one may not read: none (a file drop).
        listing = children and bool(loc.perms & Perm.READ)
        with r.batch() as b:
            found = b.one(_LIVE_NODE, loc.space_id, loc.path)
            kid_rows = b.all(_CHILDREN_OF, loc.space_id, loc.path) if listing else None
        row = found.get()
        if row is None:
            raise NodeNotFound()
        node = NodeRow.of(r, row)
        raw_kids = kid_rows.get() if kid_rows is not None else []
        if len(raw_kids) > LOOP_LISTING_MAX:
            onloop.check("a large folder")
        ids = [node.id, *(k[0] for k in raw_kids)]
        with r.batch() as b:
            types = self.grants.share_types(b, ids)
            roots = self._mount_roots(b, loc.mounts) if loc.mounts else None
            dead = self._dead_properties(b, ids) if with_dead else None
            usage = self._usage_of(b, loc.space_id) if with_quota else None
            held = (
                locks.for_listing(b, loc.space_id, loc.path, [k[_NAME] for k in raw_kids])
                if with_locks
                else None
            )
        kinds = types.get()
        me = self._entry(
            node,
            loc,
            name=loc.segments[-1] if loc.segments else "",
            share_types=kinds.get(node.id, ()),
        )
        kids = self._children(r, raw_kids, loc, kinds)
        props = dead.get() if dead is not None else {}
        held_now = held.get() if held is not None else {}
        if roots is not None:
            mounted_roots = roots.get()
            me = self._with_mounts_etag(me, mounted_roots)
            if listing:
                mounted = self._mounted_entries(loc, mounted_roots)
                shadowed = {m.name for m in mounted}
                kids = [k for k in kids if k.name not in shadowed] + mounted
                for name in shadowed:
                    held_now.pop(f"{loc.path}/{name}", None)  # an own item the mount hides
                if with_dead and mounted:
                    with r.batch() as b:
                        more = self._dead_properties(b, [m.id for m in mounted])
                    props.update(more.get())
        return Description([me, *kids], props, usage.get() if usage is not None else None, held_now)

    def _mounted_entries(self, loc: Location, roots: dict[tuple[int, str], NodeRow]) -> list[Entry]:
        """The team spaces and shares in a user's root, as entries of the root."""
        mounted = []
        for m in loc.mounts:
            root = roots.get((m.space_id, m.base))
            if root is None:
                continue  # the shared item is in its owner's trash
            mloc = Location(
                loc.login,
                (m.name,),
                m.space_id,
                m.tenant_id,
                m.base,
                m.perms,
                mount=m,
                owner=m.owner,
            )
            mounted.append(self._entry(root, mloc, name=m.name))
        return mounted

    @staticmethod
    def _mount_roots(b: Batch, mounts: Sequence[Mount]) -> Later[dict[tuple[int, str], NodeRow]]:
        which = " OR ".join(["(space_id = ? AND path = ?)"] * len(mounts))
        r = b.reader
        return b.all(
            f"SELECT {NODE_COLUMNS} FROM nodes WHERE trashed_at IS NULL AND ({which})",
            *(v for m in mounts for v in (m.space_id, m.base)),
        ).then(lambda rows: {(n.space_id, n.path): n for n in (NodeRow.of(r, x) for x in rows)})

    @staticmethod
    def _with_mounts_etag(root: Entry, mounts: dict[tuple[int, str], NodeRow]) -> Entry:
        """The user's root changes when a mounted space or share changes: sync clients poll
        only the root's etag to learn whether anything below it changed."""
        parts = [root.etag, *(f"{k[0]}:{k[1]}:{n.etag}" for k, n in sorted(mounts.items()))]
        return root._replace(etag=hashlib.sha256("|".join(parts).encode()).hexdigest()[:32])

    def unused_name(self, folder: Location, name: str) -> str:
        """``name``, or ``name (2).ext``, ``name (3).ext``…: the first that is free in
        ``folder``. For file drops, which never overwrite (and cannot look)."""
        stem, dot, ext = split_extension(name)
        with self.db.read() as s:
            candidate, n = name, 1
            while self._node(s, folder.space_id, f"{folder.path}/{candidate}") is not None:
                n += 1
                candidate = f"{stem} ({n}){dot}{ext}"
            return candidate

    @staticmethod
    def _dead_properties(b: Batch, node_ids: Sequence[int]) -> Later[dict[int, list[DeadValue]]]:
        parts = [
            b.all(
                "SELECT node_id, namespace, name, value FROM dead_properties"
                f" WHERE node_id IN ({marks(len(part))})",
                *part,
            )
            # In parts: SQLite allows some thousands of parameters per statement.
            for part in (node_ids[i : i + 500] for i in range(0, len(node_ids), 500))
        ]

        def collect() -> dict[int, list[DeadValue]]:
            out: dict[int, list[DeadValue]] = {}
            for part in parts:
                for node_id, ns, name, value in part.get():
                    out.setdefault(node_id, []).append(DeadValue(ns, name, value))
            return out

        return Later(b, collect)

    def quota(self, loc: Location) -> tuple[int, int | None]:
        """(bytes used, bytes available or None for unlimited) where ``loc`` lies."""
        with self.db.hot() as r:
            return self._usage(r, loc.space_id)

    @classmethod
    def _usage(cls, r: Reader, space_id: int) -> tuple[int, int | None]:
        """(bytes used, bytes available or None) of a space, within its owner's and its
        tenant's quotas."""
        return cls._usage_from(r.one(_USAGE, space_id))

    @classmethod
    def _usage_of(cls, b: Batch, space_id: int) -> Later[tuple[int, int | None]]:
        """:meth:`_usage` as part of a batch."""
        return b.one(_USAGE, space_id).then(cls._usage_from)

    @staticmethod
    def _usage_from(row: Row | None) -> tuple[int, int | None]:
        if row is None:
            raise NodeNotFound()
        kind, space_quota, used, user_quota, tenant_quota, tenant_used = row
        limits: list[int] = []
        quota = user_quota if kind == SpaceKind.PERSONAL.value else space_quota
        if quota is not None:
            limits.append(quota - used)
        if tenant_quota is not None:
            limits.append(tenant_quota - tenant_used)
        return used, (max(0, min(limits)) if limits else None)

    def _available(self, s: Session, space_id: int) -> int | None:
        return self._usage(self.db.reader(s), space_id)[1]

    @contextlib.contextmanager
    def _writing(self, *space_ids: int) -> Iterator[Session]:
        """A write transaction that first locks the spaces it will change.

        Every writer takes its spaces' rows first, in id order, so that writers in one
        space queue up there instead of meeting in a different order on node, tenant or
        audit rows and deadlocking (PostgreSQL). ``FOR NO KEY UPDATE`` leaves the foreign
        key checks of other tables' inserts (``FOR KEY SHARE``) free. SQLite's write
        transaction already serialises everything and ignores the clause.
        """
        with self.db.write() as s:
            self._lock_spaces(s, space_ids)
            yield s

    def _lock_spaces(self, s: Session, space_ids: Collection[int]) -> None:
        r = self.db.reader(s)
        lock = " FOR NO KEY UPDATE" if r.postgres else ""
        for space_id in sorted(set(space_ids)):
            r.one("SELECT id FROM spaces WHERE id = ?" + lock, space_id)

    def _charge(self, s: Session, space_id: int, delta: int) -> None:
        """Add ``delta`` bytes to the usage of a space and its tenant, within their quotas.

        The caller holds the space's row (:meth:`_writing`). Plain SQL: this runs on every
        write, and no ORM object of the transaction reads the counters again.
        """
        if delta == 0:
            return
        r = self.db.reader(s)
        if delta > 0:
            avail = self._usage(r, space_id)[1]
            if avail is not None and delta > avail:
                raise QuotaExceeded(delta, avail, "storage")
        r.run("UPDATE spaces SET used_bytes = used_bytes + ? WHERE id = ?", delta, space_id)
        r.run(
            "UPDATE tenants SET used_bytes = used_bytes + ?"
            " WHERE id = (SELECT tenant_id FROM spaces WHERE id = ?)",
            delta,
            space_id,
        )

    def _touch_ancestors(
        self,
        s: Session,
        space_id: int,
        path: str,
        size_delta: int,
        *,
        parent_mtime: datetime | None = None,
    ) -> None:
        """New etags (and sizes) for every folder above ``path``: one statement.

        Plain SQL (every write does this); folders of the chain that the session holds
        are expired, so that they read the new values should anyone look again.
        """
        above = paths.ancestors(path)
        if not above:
            return
        r = self.db.reader(s)
        r.run(
            "UPDATE nodes SET etag = ?, size = size + ?"
            f" WHERE space_id = ? AND path IN ({marks(len(above))}) AND trashed_at IS NULL",
            new_etag(),
            size_delta,
            space_id,
            *above,
        )
        if parent_mtime is not None:
            r.run(
                "UPDATE nodes SET mtime = ? WHERE space_id = ? AND path = ? AND trashed_at IS NULL",
                r.bind_ts(parent_mtime),
                space_id,
                above[-1],
            )
        chain = set(above)
        for obj in list(s.identity_map.values()):
            if isinstance(obj, Node):
                held = inspect(obj).dict
                if held.get("space_id") == space_id and held.get("path") in chain:
                    s.expire(obj, ["etag", "size", "mtime"])

    @staticmethod
    def _parent_of(b: Batch, loc: Location) -> Later[int]:
        """The id of the folder ``loc`` goes into, as part of a batch of reads; raises
        ParentMissing when there is none or it is a file."""

        def check(row: Row | None) -> int:
            if row is None:
                raise ParentMissing()
            if not row[1]:
                raise ParentMissing("the parent is a file")
            return int(row[0])

        return b.one(
            "SELECT id, is_dir FROM nodes WHERE space_id = ? AND path = ? AND trashed_at IS NULL",
            loc.space_id,
            paths.parent_and_name(loc.path)[0],
        ).then(check)

    def _parent(self, s: Session, loc: Location) -> Node:
        """The folder ``loc`` goes into, as an ORM object of the transaction."""
        with self.db.reader(s).batch() as b:
            parent = self._parent_of(b, loc)
        return s.get_one(Node, parent.get())

    @staticmethod
    def _require(loc: Location, need: Perm) -> None:
        """Before any work: does the caller's view of ``loc`` grant ``need``?"""
        if need not in loc.perms:
            raise ReadOnly(f"you may not do that here: it needs {describe(need & ~loc.perms)}")

    def _recheck(self, s: Session, actor: Principal, loc: Location, need: Perm) -> None:
        """Inside the write transaction: does the share ``loc`` lies in still grant ``need``?

        A share changed or revoked while a request (a long upload, say) was under way
        takes effect here, at the latest, before anything is committed.
        """
        if loc.mount is None or loc.mount.share_id is None:
            return
        now = self.grants.current(s, loc.mount.share_id, actor)
        if not now & Perm.READ:
            raise NodeNotFound()
        if need not in now:
            raise ReadOnly(f"you may not do that here: it needs {describe(need & ~now)}")

    # -- reading -----------------------------------------------------------

    def open_read(self, loc: Location) -> ReadHandle:
        if not loc.perms & Perm.READ:
            raise NodeNotFound()
        with self.db.hot() as r:
            with r.batch() as b:  # one round trip
                found = b.one(_LIVE_NODE, loc.space_id, loc.path)
                key = self.keys.data_key_of(b, loc.tenant_id)
            row = found.get()
            if row is None:
                raise NodeNotFound()
            node = NodeRow.of(r, row)
            if node.is_dir:
                raise IsCollection()
            assert node.blob_id is not None
            # A link to a single file is a Location without segments: the node names it.
            name = loc.segments[-1] if loc.segments else node.name
            return ReadHandle(
                self._entry(node, loc, name=name), key.get(), node.blob_id, loc.tenant_id
            )

    def open_small(self, loc: Location, limit: int) -> tuple[ReadHandle, bytes | None]:
        """:meth:`open_read`, and the whole content when it is at most ``limit`` bytes.

        A small GET then costs one trip to the thread pool instead of one per chunk.
        The content is not counted as sent: the caller does that with :meth:`sent`
        for what it actually sends (a 304 sends nothing, a range part of it).
        """
        handle = self.open_read(loc)
        if handle.entry.size > limit:
            return handle, None
        data = b"".join(self.blobs.read(handle.key, handle.blob_id, handle.entry.size))
        return handle, data

    def sent(self, handle: ReadHandle, count: int) -> None:
        """Count ``count`` bytes of ``handle`` as sent (see :meth:`open_small`)."""
        if self.traffic is not None:
            self.traffic.add(handle.tenant_id, bytes_out=count)

    def read(self, handle: ReadHandle, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        chunks = self.blobs.read(handle.key, handle.blob_id, handle.entry.size, start, end)
        if self.traffic is None:
            return chunks
        return self._counted(chunks, handle.tenant_id, self.traffic)

    @staticmethod
    def _counted(chunks: Iterator[bytes], tenant_id: int, meter: TrafficMeter) -> Iterator[bytes]:
        """``chunks``, adding what was taken from it (an aborted download counts its part;
        the HTTP layer reads one segment ahead of the socket, so up to one more)."""
        sent = 0
        try:
            for chunk in chunks:
                sent += len(chunk)
                yield chunk
        finally:
            meter.add(tenant_id, bytes_out=sent)

    # -- writing files -----------------------------------------------------

    def begin_put(
        self,
        loc: Location,
        *,
        length: int | None,
        if_match: str | None = None,
        if_none_match: bool = False,
        actor: Principal | None = None,
        tokens: Collection[str] = (),
        checksum: str | None = None,
    ) -> Upload:
        """Check everything that can be checked before a byte is stored, then open a blob."""
        if loc.is_space_root:
            raise IsCollection()
        if not loc.perms & (Perm.CREATE | Perm.UPDATE):
            raise ReadOnly()
        with self.db.hot() as r:
            # Everything the checks read, in one round trip.
            with r.batch() as b:
                parent = self._parent_of(b, loc)
                found = b.one(_LIVE_NODE, loc.space_id, loc.path)
                held = locks.held_on(b, loc.space_id, self._lock_targets(loc, True))
                usage = self._usage_of(b, loc.space_id)
                data_key = self.keys.data_key_of(b, loc.tenant_id)
            parent.get()
            row = found.get()
            node = NodeRow.of(r, row) if row is not None else None
            if node is not None and node.is_dir:
                raise IsCollection()
            self._require(loc, Perm.UPDATE if node is not None else Perm.CREATE)
            self._check_conditions(node, if_match, if_none_match)
            if actor is not None:
                targets = self._lock_targets(loc, node is None)
                locks.check(held.get(), actor, targets, tokens)
            avail = usage.get()[1]
            old = node.size if node is not None else 0
            limit = None if avail is None else avail + old
            if length is not None and limit is not None and length > limit:
                raise QuotaExceeded(length - old, avail or 0, "storage")
            key = data_key.get()
        writer = self.blobs.writer(key, uuid.uuid4().hex)
        return Upload(
            loc,
            writer,
            limit,
            if_match,
            if_none_match,
            node is not None,
            frozenset(tokens),
            checksum=Checksum(checksum) if checksum else None,
        )

    def _require_unlocked(
        self,
        s: Session,
        actor: Principal,
        loc: Location,
        creating: bool,
        tokens: Collection[str],
        *,
        subtree: bool = False,
    ) -> None:
        locks.require(
            self.db.reader(s),
            actor,
            loc.space_id,
            self._lock_targets(loc, creating, subtree),
            tokens,
        )

    @staticmethod
    def _lock_targets(
        loc: Location, creating: bool, subtree: bool = False
    ) -> list[tuple[str, bool]]:
        """Writing a resource needs its locks; adding or removing one needs its folder's."""
        targets = [(loc.path, subtree)]
        if creating or subtree:
            targets.append((paths.parent_and_name(loc.path)[0], False))
        return targets

    @staticmethod
    def _check_conditions(
        node: Node | NodeRow | None, if_match: str | None, if_none_match: bool
    ) -> None:
        if if_none_match and node is not None:
            raise PreconditionFailed("the file exists already")
        if if_match is not None and (node is None or (if_match != "*" and if_match != node.etag)):
            raise PreconditionFailed("the file has changed")

    def abort_put(self, upload: Upload) -> None:
        upload.writer.abort()
        if upload.info is not None:
            self.blobs.delete(upload.loc.tenant_id, upload.info.blob_id)

    def finish_put(
        self,
        upload: Upload,
        *,
        actor: Principal,
        mtime: datetime | None = None,
        content_type: str | None = None,
        client: str | None = None,
        expected_sha256: str | None = None,
    ) -> tuple[Entry, bool]:
        """Make the written blob the file's content; returns (entry, created)."""
        info = upload.info = upload.writer.commit()
        bad_sum = expected_sha256 is not None and expected_sha256.lower() != info.sha256
        if bad_sum or (upload.checksum is not None and not upload.checksum.matches()):
            self.abort_put(upload)
            raise ChecksumMismatch("the content does not match the checksum sent with it")
        loc = upload.loc
        now = utcnow()
        garbage: list[str] = []
        try:
            with self._writing(loc.space_id) as s:
                with self.db.reader(s).batch() as b:  # one round trip
                    parent = self._parent_of(b, loc)
                    live = b.one(_LIVE_NODE, loc.space_id, loc.path)
                    held = locks.held_on(b, loc.space_id, self._lock_targets(loc, True))
                parent_id = parent.get()
                found = live.get()
                if found is not None and found[_IS_DIR]:
                    raise IsCollection()
                node = s.get_one(Node, found[0]) if found is not None else None
                need = Perm.UPDATE if node is not None else Perm.CREATE
                self._require(loc, need)
                self._recheck(s, actor, loc, need)
                self._check_conditions(node, upload.if_match, upload.if_none_match)
                targets = self._lock_targets(loc, node is None)
                locks.check(held.get(), actor, targets, upload.tokens)
                s.add(
                    Blob(
                        id=info.blob_id, tenant_id=loc.tenant_id, size=info.size, sha256=info.sha256
                    )
                )
                delta = info.size - (node.size if node is not None else 0)
                self._charge(s, loc.space_id, delta)
                created = node is None
                if node is None:
                    node = Node(
                        space_id=loc.space_id,
                        parent_id=parent_id,
                        path=loc.path,
                        name=paths.parent_and_name(loc.path)[1],
                        is_dir=False,
                        created_at=now,
                    )
                    s.add(node)
                self._set_content(
                    s,
                    node,
                    info.blob_id,
                    info.size,
                    info.sha256,
                    mtime or now,
                    actor,
                    keep_old=not created,
                )
                node.content_type = content_type
                s.flush()
                if not created:
                    garbage = self._expire_versions(s, node.id)
                self._touch_ancestors(
                    s, loc.space_id, loc.path, delta, parent_mtime=now if created else None
                )
                self.audit.record(
                    s,
                    action="file.put",
                    tenant_id=loc.tenant_id,
                    actor=actor.login,
                    client=client,
                    target=self._target(loc),
                    detail={
                        "size": info.size,
                        "sha256": info.sha256,
                        "created": created,
                        "file_id": node.id,
                    },
                )
                entry = self._entry(node, loc, name=node.name)
        except BaseException:
            self.blobs.delete(loc.tenant_id, info.blob_id)
            raise
        self._drop_blobs(loc.tenant_id, garbage)
        if self.traffic is not None:
            self.traffic.add(loc.tenant_id, bytes_in=info.size)
        return entry, created

    @staticmethod
    def _set_content(
        s: Session,
        node: Node,
        blob_id: str,
        size: int,
        sha256: str,
        mtime: datetime,
        actor: Principal,
        *,
        keep_old: bool = True,
    ) -> None:
        """Give a file new content; the content it had becomes a version."""
        if keep_old:
            assert node.blob_id is not None
            assert node.sha256 is not None
            s.add(
                Version(
                    node_id=node.id,
                    blob_id=node.blob_id,
                    size=node.size,
                    sha256=node.sha256,
                    mtime=node.mtime,
                    author=actor.login,
                )
            )
        node.blob_id, node.size, node.sha256 = blob_id, size, sha256
        node.etag, node.mtime = new_etag(), mtime

    def _expire_versions(self, s: Session, node_id: int) -> list[str]:
        ids = s.scalars(
            select(Version.id)
            .where(Version.node_id == node_id)
            .order_by(Version.id.desc())
            .offset(self.versions_kept)
        ).all()
        if not ids:
            return []
        blob_ids = s.scalars(select(Version.blob_id).where(Version.id.in_(ids))).all()
        s.execute(delete(Version).where(Version.id.in_(ids)))
        return self._unreferenced(s, blob_ids)

    def _unreferenced(self, s: Session, blob_ids: Sequence[str]) -> list[str]:
        """Delete the rows of blobs nothing refers to any more; return their ids."""
        if not blob_ids:
            return []
        used = set(
            s.scalars(
                union(
                    select(Node.blob_id).where(Node.blob_id.in_(blob_ids)),
                    select(Version.blob_id).where(Version.blob_id.in_(blob_ids)),
                )
            ).all()
        )
        gone = [b for b in set(blob_ids) if b not in used]
        if gone:
            s.execute(delete(Blob).where(Blob.id.in_(gone)))
        return gone

    def _drop_blobs(self, tenant_id: int, blob_ids: Sequence[str]) -> None:
        # After the commit: a crash before this leaves only an orphan for fsck.
        for b in blob_ids:
            self.blobs.delete(tenant_id, b)

    @staticmethod
    def _target(loc: Location) -> str:
        return f"{loc.login}/{'/'.join(loc.segments)}"

    # -- folders -----------------------------------------------------------

    def mkcol(
        self,
        loc: Location,
        *,
        actor: Principal,
        client: str | None = None,
        tokens: Collection[str] = (),
    ) -> Entry:
        if loc.is_root:
            raise AlreadyExists()
        # A drop (create without read) takes files, not folders no one could look into.
        self._require(loc, Perm.CREATE | Perm.READ)
        now = utcnow()
        with self._writing(loc.space_id) as s:
            self._recheck(s, actor, loc, Perm.CREATE)
            parent = self._parent(s, loc)
            if self._node(s, loc.space_id, loc.path) is not None:
                raise AlreadyExists()
            self._require_unlocked(s, actor, loc, True, tokens)
            node = Node(
                space_id=loc.space_id,
                parent_id=parent.id,
                path=loc.path,
                name=paths.parent_and_name(loc.path)[1],
                is_dir=True,
                etag=new_etag(),
                mtime=now,
                created_at=now,
            )
            s.add(node)
            s.flush()
            self._touch_ancestors(s, loc.space_id, loc.path, 0, parent_mtime=now)
            self.audit.record(
                s,
                action="file.mkcol",
                tenant_id=loc.tenant_id,
                actor=actor.login,
                client=client,
                target=self._target(loc),
                detail={"file_id": node.id},
            )
            return self._entry(node, loc)

    # -- delete, trash -----------------------------------------------------

    def _subtree(self, node: Node) -> object:
        lo, hi = paths.descendant_bounds(node.path)
        return (
            (Node.space_id == node.space_id)
            & Node.trashed_at.is_(None)
            & ((Node.id == node.id) | ((Node.path > lo) & (Node.path < hi)))
        )

    def _trash(self, s: Session, node: Node, now: datetime) -> None:
        locks.drop_below(s, node.space_id, node.path)
        s.execute(
            update(Node)
            .where(self._subtree(node))  # type: ignore[arg-type]
            .values(trashed_at=now, trash_root_id=node.id)
        )
        self._charge(s, node.space_id, -node.size)
        self._touch_ancestors(s, node.space_id, node.path, -node.size, parent_mtime=now)

    def delete(
        self,
        loc: Location,
        *,
        actor: Principal,
        if_match: str | None = None,
        client: str | None = None,
        tokens: Collection[str] = (),
    ) -> None:
        """Move a file or folder (with everything below) to the trash.

        Deleting a received share from one's root leaves the share (as in Nextcloud,
        where a sync client deleting the folder locally means "I don't want it").
        """
        if loc.is_root and loc.mount is not None and loc.mount.share_id is not None:
            with self.db.write() as s:
                self.grants.leave(s, loc.mount.share_id, actor)
                self.audit.record(
                    s,
                    action="share.decline",
                    tenant_id=loc.tenant_id,
                    actor=actor.login,
                    client=client,
                    detail={"share_id": loc.mount.share_id},
                )
            return
        if loc.is_root:
            raise ProtectedNode()
        self._require_read(loc)
        self._require(loc, Perm.DELETE)
        with self._writing(loc.space_id) as s:
            self._recheck(s, actor, loc, Perm.DELETE)
            node = self._need(s, loc)
            self._check_conditions(node, if_match, False)
            self._require_unlocked(s, actor, loc, False, tokens, subtree=True)
            self._trash(s, node, utcnow())
            self.audit.record(
                s,
                action="file.delete",
                tenant_id=loc.tenant_id,
                actor=actor.login,
                client=client,
                target=self._target(loc),
                detail={"file_id": node.id, "size": node.size},
            )

    def list_trash(self, actor: Principal) -> list[TrashInfo]:
        space = self._personal_space(actor)
        with self.db.read() as s:
            rows = s.scalars(
                select(Node)
                .where(Node.space_id == space.id, Node.trash_root_id == Node.id)
                .order_by(Node.trashed_at.desc())
            ).all()
            return [
                TrashInfo(n.id, n.space_id, n.path, n.is_dir, n.size, n.trashed_at or utcnow())
                for n in rows
            ]

    def restore_trash(self, actor: Principal, trash_id: int, *, client: str | None = None) -> str:
        """Put a trashed item back where it was (or, if that is taken, in the root)."""
        space = self._personal_space(actor)
        with self._writing(space.id) as s:
            top = s.scalar(
                select(Node).where(
                    Node.id == trash_id, Node.space_id == space.id, Node.trash_root_id == Node.id
                )
            )
            if top is None:
                raise NodeNotFound("no such item in the trash")
            parent_path, name = paths.parent_and_name(top.path)
            parent = self._node(s, space.id, parent_path)
            if parent is None or not parent.is_dir:
                parent = self._node(s, space.id, "")
                assert parent is not None
                parent_path = ""
            target, n = f"{parent_path}/{name}", 1
            while self._node(s, space.id, target) is not None:
                n += 1
                target = f"{parent_path}/{name} (restored {n})"
            # Rename the whole subtree while it is still in the trash (outside the unique
            # index of live paths), then bring it back in one statement.
            s.execute(
                update(Node)
                .where(Node.trash_root_id == top.id)
                .values(path=literal(target).concat(func.substr(Node.path, len(top.path) + 1)))
            )
            s.execute(
                update(Node)
                .where(Node.id == top.id)
                .values(parent_id=parent.id, name=target.rpartition("/")[2])
            )
            s.execute(
                update(Node)
                .where(Node.trash_root_id == top.id)
                .values(trashed_at=None, trash_root_id=None)
            )
            s.refresh(top)
            self._charge(s, space.id, top.size)
            self._touch_ancestors(s, space.id, target, top.size, parent_mtime=utcnow())
            self.audit.record(
                s,
                action="trash.restore",
                tenant_id=space.tenant_id,
                actor=actor.login,
                client=client,
                target=target,
                detail={"file_id": top.id},
            )
            return target

    def purge_trash(self, *, older_than_days: int | None = None, actor: str = "system") -> int:
        """Delete trashed items older than the retention for good; return how many."""
        days = self.trash_days if older_than_days is None else older_than_days
        cutoff = utcnow() - timedelta(days=days)
        with self.db.write() as s:
            ids = s.scalars(
                select(Node.id).where(Node.trash_root_id == Node.id, Node.trashed_at <= cutoff)
            ).all()
            if not ids:
                return 0
            self._lock_spaces(
                s, s.scalars(select(Node.space_id).where(Node.id.in_(ids)).distinct()).all()
            )
            gone = self._purge(s, ids)
            self.audit.record(
                s, action="trash.purge", actor=actor, detail={"items": len(ids), "blobs": len(gone)}
            )
        for tenant_id, b in gone:
            self.blobs.delete(tenant_id, b)
        return len(ids)

    def purge_trash_item(
        self, actor: Principal, trash_id: int, *, client: str | None = None
    ) -> None:
        """Delete one item of ``actor``'s trash for good, before its time is up."""
        space = self._personal_space(actor)
        with self._writing(space.id) as s:
            top = s.scalar(
                select(Node).where(
                    Node.id == trash_id, Node.space_id == space.id, Node.trash_root_id == Node.id
                )
            )
            if top is None:
                raise NodeNotFound("no such item in the trash")
            path = top.path
            gone = self._purge(s, [top.id])
            self.audit.record(
                s,
                action="trash.purge",
                tenant_id=space.tenant_id,
                actor=actor.login,
                client=client,
                target=path,
                detail={"file_id": trash_id, "blobs": len(gone)},
            )
        for tenant_id, b in gone:
            self.blobs.delete(tenant_id, b)

    def _purge(self, s: Session, ids: Sequence[int]) -> list[tuple[int, str]]:
        """Delete the trashed trees ``ids`` (their spaces locked); return the blobs no longer
        referenced, as (tenant id, blob id), for the caller to delete after the commit."""
        doomed = select(Node.id).where(Node.trash_root_id.in_(ids))
        blob_ids = [
            b
            for b in s.scalars(
                union(
                    select(Node.blob_id).where(Node.id.in_(doomed), Node.blob_id.is_not(None)),
                    select(Version.blob_id).where(Version.node_id.in_(doomed)),
                )
            ).all()
            if b
        ]
        tenant_of = dict(
            s.execute(select(Blob.id, Blob.tenant_id).where(Blob.id.in_(blob_ids))).all()
        )
        s.execute(delete(DeadProperty).where(DeadProperty.node_id.in_(doomed)))
        s.execute(delete(Version).where(Version.node_id.in_(doomed)))
        # Deepest first: a parent row cannot go while its children point at it.
        for nid in s.scalars(
            select(Node.id)
            .where(Node.trash_root_id.in_(ids))
            .order_by(func.length(Node.path).desc())
        ).all():
            s.execute(delete(Node).where(Node.id == nid))
        return [(tenant_of[b], b) for b in self._unreferenced(s, blob_ids)]

    # -- copy and move -----------------------------------------------------

    def _prepare_target(
        self,
        s: Session,
        src: Node,
        dst: Location,
        overwrite: bool,
        now: datetime,
        actor: Principal,
        tokens: Collection[str],
        need: Perm = Perm.CREATE,
    ) -> tuple[Node, bool]:
        """Check the target of a COPY or MOVE and trash what it replaces.

        ``need`` is CREATE, or UPDATE for a rename in place. Returns (parent folder,
        whether something was replaced).
        """
        if dst.is_root:
            raise ProtectedNode()
        self._require(dst, need)
        self._recheck(s, actor, dst, need)
        if dst.space_id == src.space_id and (
            dst.path == src.path or dst.path.startswith(src.path + "/")
        ):
            raise IntoItself()
        if dst.space_id == src.space_id and src.path.startswith(dst.path + "/"):
            # Overwriting a folder that contains the source would trash the source too.
            raise IntoItself("the destination contains the source")
        parent = self._parent(s, dst)
        existing = self._node(s, dst.space_id, dst.path)
        if existing is not None and not overwrite:
            raise PreconditionFailed("the destination exists and Overwrite is F")
        self._require_unlocked(s, actor, dst, True, tokens, subtree=existing is not None)
        if existing is not None:
            self._trash(s, existing, now)
        return parent, existing is not None

    def move(
        self,
        src: Location,
        dst: Location,
        *,
        actor: Principal,
        overwrite: bool = True,
        client: str | None = None,
        tokens: Collection[str] = (),
    ) -> bool:
        """Rename or move; the file id stays. Returns True if the destination existed."""
        if src.is_root or dst.is_root:
            raise ProtectedNode()
        self._require_read(src)
        # A rename in place changes the item; moving it elsewhere takes it away from here.
        renaming = src.space_id == dst.space_id and (
            paths.parent_and_name(src.path)[0] == paths.parent_and_name(dst.path)[0]
        )
        need = Perm.UPDATE if renaming else Perm.DELETE
        self._require(src, need)
        if src.tenant_id != dst.tenant_id:
            raise Forbidden("moving between organisations is not possible; copy instead")
        now = utcnow()
        with self._writing(src.space_id, dst.space_id) as s:
            self._recheck(s, actor, src, need)
            node = self._need(s, src)
            if dst.space_id == src.space_id and dst.path == src.path:
                raise IntoItself("source and destination are the same")
            self._require_unlocked(s, actor, src, False, tokens, subtree=True)
            parent, existed = self._prepare_target(
                s,
                node,
                dst,
                overwrite,
                now,
                actor,
                tokens,
                Perm.UPDATE if renaming else Perm.CREATE,
            )
            # The locks stay behind with the URL (RFC 4918 §7.7), where nothing is any more.
            locks.drop_below(s, src.space_id, node.path)
            old = node.path
            lo, hi = paths.descendant_bounds(old)
            below = (
                (Node.space_id == src.space_id)
                & Node.trashed_at.is_(None)
                & (Node.path > lo)
                & (Node.path < hi)
            )
            values: dict[str, object] = {
                "path": literal(dst.path).concat(func.substr(Node.path, len(old) + 1))
            }
            if dst.space_id != src.space_id:
                values["space_id"] = dst.space_id
                self._charge(s, src.space_id, -node.size)
                self._charge(s, dst.space_id, node.size)
            s.execute(update(Node).where(below).values(**values))
            self._touch_ancestors(s, src.space_id, old, -node.size, parent_mtime=now)
            node.space_id, node.path, node.parent_id = dst.space_id, dst.path, parent.id
            node.name = paths.parent_and_name(dst.path)[1]
            s.flush()
            self._touch_ancestors(s, dst.space_id, dst.path, node.size, parent_mtime=now)
            self.audit.record(
                s,
                action="file.move",
                tenant_id=src.tenant_id,
                actor=actor.login,
                client=client,
                target=self._target(src),
                detail={"to": self._target(dst), "file_id": node.id, "replaced": existed},
            )
            return existed

    def copy(
        self,
        src: Location,
        dst: Location,
        *,
        actor: Principal,
        overwrite: bool = True,
        recursive: bool = True,
        client: str | None = None,
        tokens: Collection[str] = (),
    ) -> bool:
        """Copy a file or folder; contents are shared blobs, so no bytes are copied."""
        if src.tenant_id != dst.tenant_id:
            raise Forbidden("copying between organisations is not possible yet")
        self._require_read(src)
        if not src.perms & Perm.READ:
            raise NodeNotFound()
        now = utcnow()
        with self._writing(src.space_id, dst.space_id) as s:
            self._recheck(s, actor, src, Perm.READ)
            node = self._need(s, src)
            if dst.space_id == src.space_id and dst.path == src.path:
                raise IntoItself("source and destination are the same")
            parent, existed = self._prepare_target(s, node, dst, overwrite, now, actor, tokens)
            if node.is_dir and recursive:
                lo, hi = paths.descendant_bounds(node.path)
                rows = [
                    node,
                    *s.scalars(
                        select(Node)
                        .where(
                            Node.space_id == src.space_id,
                            Node.trashed_at.is_(None),
                            Node.path > lo,
                            Node.path < hi,
                        )
                        .order_by(Node.path)
                    ).all(),
                ]
            else:
                rows = [node]
            total = sum(r.size for r in rows if not r.is_dir)
            self._charge(s, dst.space_id, total)
            new_ids: dict[int, int] = {}
            new_parent = {node.id: parent.id}
            for r in rows:
                pid = new_parent.get(r.id) if r is node else new_ids[r.parent_id or 0]
                path = dst.path + r.path[len(node.path) :]
                copy = Node(
                    space_id=dst.space_id,
                    parent_id=pid,
                    path=path,
                    name=path.rpartition("/")[2],
                    is_dir=r.is_dir,
                    size=r.size if (not r.is_dir or recursive) else 0,
                    etag=new_etag(),
                    mtime=r.mtime,
                    created_at=now,
                    content_type=r.content_type,
                    blob_id=r.blob_id,
                    sha256=r.sha256,
                )
                s.add(copy)
                s.flush()
                new_ids[r.id] = copy.id
            for p in s.scalars(
                select(DeadProperty).where(DeadProperty.node_id.in_(list(new_ids)))
            ).all():
                s.add(
                    DeadProperty(
                        node_id=new_ids[p.node_id],
                        namespace=p.namespace,
                        name=p.name,
                        value=p.value,
                    )
                )
            self._touch_ancestors(s, dst.space_id, dst.path, total, parent_mtime=now)
            self.audit.record(
                s,
                action="file.copy",
                tenant_id=src.tenant_id,
                actor=actor.login,
                client=client,
                target=self._target(src),
                detail={"to": self._target(dst), "replaced": existed, "nodes": len(rows)},
            )
            return existed

    # -- properties --------------------------------------------------------

    def proppatch(
        self,
        loc: Location,
        ops: Sequence[PropOp],
        *,
        actor: Principal,
        client: str | None = None,
        tokens: Collection[str] = (),
    ) -> None:
        """Apply all instructions in order, or none of them."""
        self._require_read(loc)
        self._require(loc, Perm.UPDATE)
        with self._writing(loc.space_id) as s:
            self._recheck(s, actor, loc, Perm.UPDATE)
            node = self._need(s, loc)
            self._require_unlocked(s, actor, loc, False, tokens)
            for op in ops:
                key = (node.id, op.namespace, op.name)
                existing = s.get(DeadProperty, key)
                if op.value is None:
                    if existing is not None:
                        s.delete(existing)
                        s.flush()
                elif existing is None:
                    s.add(
                        DeadProperty(
                            node_id=node.id, namespace=op.namespace, name=op.name, value=op.value
                        )
                    )
                    s.flush()
                else:
                    existing.value = op.value
            self.audit.record(
                s,
                action="file.proppatch",
                tenant_id=loc.tenant_id,
                actor=actor.login,
                client=client,
                target=self._target(loc),
                detail={"props": [f"{{{o.namespace}}}{o.name}" for o in ops]},
            )

    # -- locks -------------------------------------------------------------

    def lock(
        self,
        loc: Location,
        *,
        actor: Principal,
        exclusive: bool,
        infinite: bool,
        owner: str,
        timeout: int,
        root_href: str,
        client: str | None = None,
    ) -> tuple[locks.LockInfo, bool]:
        """Take a write lock; an unmapped URL becomes an empty file (RFC 4918 §7.3).

        Returns (the lock, whether a file was created). Raises LockConflict if
        an exclusive lock, or any lock against a new exclusive one, is in the way.
        """
        self._require_read(loc)
        if not loc.can_write or not loc.perms & Perm.READ:
            raise ReadOnly()
        created = False
        with self.db.read() as s:
            exists = self._node(s, loc.space_id, loc.path) is not None
        if not exists:
            upload = self.begin_put(loc, length=0, if_none_match=True)
            try:
                self.finish_put(upload, actor=actor, client=client)
                created = True
            except PreconditionFailed:
                pass  # created by someone else meanwhile: lock what is there
        with self._writing(loc.space_id) as s:
            for other in locks.covering(s, loc.space_id, loc.path, below=infinite):
                if exclusive or other.scope is LockScope.EXCLUSIVE:
                    raise locks.LockConflict(other.path, other.root_href)
            lock = Lock(
                token=f"opaquelocktoken:{uuid.uuid4()}",
                space_id=loc.space_id,
                path=loc.path,
                infinite=infinite,
                scope=LockScope.EXCLUSIVE if exclusive else LockScope.SHARED,
                user_id=actor.user_id,
                owner=owner,
                timeout=timeout,
                expires_at=utcnow() + timedelta(seconds=timeout),
                root_href=root_href,
            )
            s.add(lock)
            self.audit.record(
                s,
                action="file.lock",
                tenant_id=loc.tenant_id,
                actor=actor.login,
                client=client,
                target=self._target(loc),
                detail={"exclusive": exclusive, "infinite": infinite, "timeout": timeout},
            )
            return locks.info(lock), created

    def _own_lock(self, s: Session, loc: Location, token: str, actor: Principal) -> Lock:
        lock = s.get(Lock, token)
        if (
            lock is None
            or lock.expires_at <= utcnow()
            or lock not in locks.covering(s, loc.space_id, loc.path)
        ):
            raise locks.LockTokenMismatch()
        if lock.user_id != actor.user_id:
            raise locks.NotLockOwner()
        return lock

    def refresh_lock(
        self, loc: Location, tokens: Collection[str], *, actor: Principal, timeout: int
    ) -> locks.LockInfo:
        """Extend the first submitted lock that covers ``loc`` (RFC 4918 §9.10.2)."""
        with self._writing(loc.space_id) as s:
            for token in tokens:
                try:
                    lock = self._own_lock(s, loc, token, actor)
                except locks.LockTokenMismatch:
                    continue
                lock.timeout = timeout
                lock.expires_at = utcnow() + timedelta(seconds=timeout)
                return locks.info(lock)
        raise locks.LockTokenMismatch("no submitted lock token applies to this resource")

    def unlock(
        self, loc: Location, token: str, *, actor: Principal, client: str | None = None
    ) -> None:
        with self._writing(loc.space_id) as s:
            lock = self._own_lock(s, loc, token, actor)
            s.delete(lock)
            self.audit.record(
                s,
                action="file.unlock",
                tenant_id=loc.tenant_id,
                actor=actor.login,
                client=client,
                target=self._target(loc),
            )

    def lock_state(self, loc: Location) -> tuple[str | None, set[str]]:
        """The etag (None if nothing is there) and the lock tokens that cover ``loc``."""
        with self.db.read() as s:
            node = self._node(s, loc.space_id, loc.path)
            return (node.etag if node else None), locks.tokens_on(s, loc.space_id, loc.path)

    def locks_for(self, loc: Location, names: Sequence[str]) -> dict[str, list[locks.LockInfo]]:
        """Active locks of a folder and its listed children (for lockdiscovery)."""
        with self.db.hot() as r, r.batch() as b:
            return locks.for_listing(b, loc.space_id, loc.path, names).get()

    # -- versions ----------------------------------------------------------

    def list_versions(self, loc: Location) -> list[VersionInfo]:
        with self.db.read() as s:
            node = self._need(s, loc)
            if node.is_dir:
                raise IsCollection()
            return [
                VersionInfo(v.id, v.size, v.sha256, v.mtime, v.created_at, v.author)
                for v in s.scalars(
                    select(Version).where(Version.node_id == node.id).order_by(Version.id.desc())
                )
            ]

    def restore_version(
        self,
        loc: Location,
        version_id: int,
        *,
        actor: Principal,
        client: str | None = None,
        tokens: Collection[str] = (),
    ) -> Entry:
        """Make an earlier version current; the current content becomes a version itself."""
        self._require_read(loc)
        self._require(loc, Perm.UPDATE)
        with self._writing(loc.space_id) as s:
            self._recheck(s, actor, loc, Perm.UPDATE)
            node = self._need(s, loc)
            self._require_unlocked(s, actor, loc, False, tokens)
            if node.is_dir:
                raise NotCollection()
            v = s.scalar(
                select(Version).where(Version.id == version_id, Version.node_id == node.id)
            )
            if v is None:
                raise NotFound("no such version")
            delta = v.size - node.size
            self._charge(s, loc.space_id, delta)
            self._set_content(s, node, v.blob_id, v.size, v.sha256, utcnow(), actor)
            s.delete(v)
            s.flush()
            self._touch_ancestors(s, loc.space_id, loc.path, delta)
            self.audit.record(
                s,
                action="file.restore-version",
                tenant_id=loc.tenant_id,
                actor=actor.login,
                client=client,
                target=self._target(loc),
                detail={"version": version_id},
            )
            return self._entry(node, loc, name=node.name)

    # -- search ------------------------------------------------------------

    def search(self, loc: Location, query: str, limit: int = 100) -> list[Entry]:
        """Files and folders below ``loc`` whose name contains ``query``, ignoring the case
        of ASCII letters (what both databases fold: names are in the "C" collation on
        PostgreSQL), in path order, at most ``limit``.

        The matches are one query: the subtree is a range of the materialised
        ``nodes.path`` in the live-path index (``space_id, path``), the name test runs
        on those rows. ``%``,
        ``_`` and ``\\`` in ``query`` match themselves. Mounts below the user's root
        are other spaces: the caller searches them with their own Locations.
        """
        # A drop (create without read) shows nothing, not even at its root.
        if not loc.perms & Perm.READ:
            raise NodeNotFound()
        query = query.strip()
        if not query:
            raise BadRequest("say what to search for")
        if "\x00" in query:  # PostgreSQL takes no NUL in text; no name holds one
            raise BadRequest("the search text must not contain NUL")
        if not 1 <= limit <= 1000:
            raise BadRequest("limit must be 1 to 1000")
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        lo, hi = paths.descendant_bounds(loc.path)
        with self.db.read() as s:
            self._need(s, loc)
            rows = s.scalars(
                select(Node)
                .where(
                    Node.space_id == loc.space_id,
                    Node.trashed_at.is_(None),
                    Node.path > lo,
                    Node.path < hi,
                    Node.name.ilike(pattern, escape="\\"),
                )
                .order_by(Node.path)
                .limit(limit)
            ).all()
            with self.db.reader(s).batch() as b:
                types = self.grants.share_types(b, [r.id for r in rows]).get()
            base = len(loc.path)
            return [
                self._entry(
                    r,
                    loc,
                    segments=(*loc.segments, *r.path[base + 1 :].split("/")),
                    share_types=types.get(r.id, ()),
                )
                for r in rows
            ]
