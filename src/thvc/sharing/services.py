"""Shares to users and groups, and public links, with the tenants' policies applied.

Every rule is decided here (or in the file service's permission check, which
reads what this module grants): who may share what with whom, that a re-share
never grants more than its sharer holds, which tenant's policy wins (the
stricter), and whether a link is still good. Adapters (OCS, the link pages,
public WebDAV) only translate.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from thvc.accounts.models import Group, GroupMember, Role, User, UserState
from thvc.accounts.passwords import hash_password, verify_password
from thvc.accounts.services import AccountService, Principal
from thvc.audit import AuditLog
from thvc.db.engine import Database
from thvc.db.hot import Batch, Later, Row, marks
from thvc.db.types import utcnow
from thvc.errors import (
    AlreadyExists,
    BadRequest,
    Forbidden,
    NotAuthenticated,
    NotFound,
    TooManyFailedLogins,
)
from thvc.files.models import Node, Space
from thvc.files.perms import Perm, describe
from thvc.files.services import FileService, Location, Mount, MountKind
from thvc.sharing.models import Link, LinkKind, Share, ShareState
from thvc.tenants.models import Tenant, TenantState
from thvc.tenants.services import Policy, policy_of

# Nextcloud's share type numbers, as the OCS API and oc:share-types use them.
TYPE_USER, TYPE_GROUP, TYPE_LINK, TYPE_EMAIL = 0, 1, 3, 4
FILE_PERMS = Perm.READ | Perm.UPDATE | Perm.SHARE
LINK_PERMS = {
    LinkKind.READ: Perm.READ,
    LinkKind.READ_WRITE: Perm.READ | Perm.UPDATE | Perm.CREATE | Perm.DELETE,
    LinkKind.DROP: Perm.CREATE,
}


class ShareNotFound(NotFound):
    default_message = "no such share"


class LinkGone(NotFound):
    """Expired, revoked, exhausted or never existed: one answer for all."""

    default_message = "this link does not exist or is no longer valid"


class PolicyForbids(Forbidden):
    pass


@dataclass(frozen=True)
class ShareInfo:
    id: int
    share_type: int  # TYPE_USER or TYPE_GROUP
    node_id: int
    is_dir: bool
    name: str
    # The path in the sharer's view is the adapter's business; this is the owner's.
    owner: str
    owner_display: str
    sharer: str
    sharer_display: str
    recipient: str  # a login or a group name
    recipient_display: str
    permissions: Perm
    state: ShareState
    expires_at: datetime | None
    note: str
    label: str
    created_at: datetime
    tenant_slug: str


@dataclass(frozen=True)
class LinkInfo:
    id: int
    node_id: int
    is_dir: bool
    name: str
    sharer: str
    kind: LinkKind
    has_password: bool
    expires_at: datetime | None
    max_downloads: int | None
    downloads: int
    note: str
    label: str
    created_at: datetime
    token: str  # unsealed for the owner's "copy link"

    @property
    def permissions(self) -> Perm:
        return LINK_PERMS[self.kind] | (Perm.SHARE if self.kind is LinkKind.READ else Perm.NONE)


@dataclass(frozen=True)
class LinkAccess:
    """A good link, opened: where it points, as a file service Location, and who acts."""

    link_id: int
    kind: LinkKind
    loc: Location
    actor: Principal
    name: str
    is_dir: bool
    has_password: bool
    sharer_display: str
    # Proof of a verified password (see SharingService.open_link); "" without one.
    ticket: str = ""


def _last_day_ends(start: datetime, days: int) -> datetime:
    """The end (UTC) of the ``days``-th day after ``start``: a lifetime is counted in
    calendar days, as the expiry dates clients send (end of that day) are."""
    day = (start + timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1) - timedelta(microseconds=1)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class SharingService:
    """``seal_key`` (32 bytes, derived from the master key) seals link tokens at rest."""

    def __init__(
        self,
        db: Database,
        *,
        audit: AuditLog,
        files: FileService,
        accounts: AccountService,
        seal_key: bytes,
    ) -> None:
        self.db = db
        self.audit = audit
        self.files = files
        self.accounts = accounts
        self._aead = AESGCM(seal_key)
        self._ticket_key = hmac.new(seal_key, b"thvc link tickets v1", hashlib.sha256).digest()

    # -- policy ------------------------------------------------------------

    @staticmethod
    def _tenant(s: Session, tenant_id: int) -> Tenant:
        return s.get_one(Tenant, tenant_id)

    def _check_cross_tenant(self, s: Session, from_id: int, to_id: int) -> None:
        """Both tenants' policies must allow it: the stricter wins."""
        if from_id == to_id:
            return
        a, b = self._tenant(s, from_id), self._tenant(s, to_id)
        if not policy_of(s, a.id).allows_sharing_with(b.slug, a.slug):
            raise PolicyForbids(f"the policy of {a.slug} does not allow sharing with {b.slug}")
        if not policy_of(s, b.id).allows_sharing_with(a.slug, b.slug):
            raise PolicyForbids(f"the policy of {b.slug} does not allow sharing from {a.slug}")

    def _link_policy(self, s: Session, actor: Principal, loc: Location) -> Policy:
        """The stricter of the sharer's tenant's and the owner's tenant's link rules."""
        mine = policy_of(s, actor.tenant_id)
        theirs = policy_of(s, loc.tenant_id) if loc.tenant_id != actor.tenant_id else mine
        days = [d for d in (mine.link_max_days, theirs.link_max_days) if d is not None]
        return Policy(
            links=mine.links and theirs.links,
            link_password_required=mine.link_password_required or theirs.link_password_required,
            link_max_days=min(days) if days else None,
        )

    def may_share_with(self, actor: Principal) -> list[str]:
        """Tenant slugs whose users ``actor`` may share with (for the sharee search)."""
        with self.db.read() as s:
            mine = self._tenant(s, actor.tenant_id)
            out = []
            for t in s.scalars(select(Tenant).where(Tenant.state == TenantState.ACTIVE)):
                try:
                    self._check_cross_tenant(s, mine.id, t.id)
                except PolicyForbids:
                    continue
                out.append(t.slug)
            return out

    # -- shares ------------------------------------------------------------

    def _node_at(self, s: Session, loc: Location) -> Node:
        node = s.scalar(
            select(Node).where(
                Node.space_id == loc.space_id, Node.path == loc.path, Node.trashed_at.is_(None)
            )
        )
        if node is None:
            raise NotFound("no such file or folder")
        return node

    @staticmethod
    def _grantable(loc: Location, node: Node, wanted: Perm) -> Perm:
        if loc.is_user_root or loc.path == "":
            raise Forbidden("a root folder cannot be shared")
        if Perm.SHARE not in loc.perms:
            raise Forbidden("you may not share this")
        if not node.is_dir:
            wanted &= FILE_PERMS
        if Perm.READ not in wanted:
            raise BadRequest("a share must at least allow reading")
        beyond = wanted & ~loc.perms
        if beyond:
            raise Forbidden(f"you cannot grant more than you hold ({describe(beyond)})")
        return wanted

    def share(
        self,
        actor: Principal,
        loc: Location,
        *,
        user: str | None = None,
        group: str | None = None,
        permissions: Perm = Perm.READ | Perm.SHARE,
        expires_at: datetime | None = None,
        note: str = "",
        label: str = "",
        client: str | None = None,
    ) -> ShareInfo:
        """Share the file or folder at ``loc`` with a user (any tenant) or a group (own)."""
        if (user is None) == (group is None):
            raise BadRequest("share with either a user or a group")
        if expires_at is not None and expires_at <= utcnow():
            raise BadRequest("the expiry date is in the past")
        with self.db.write() as s:
            node = self._node_at(s, loc)
            perms = self._grantable(loc, node, permissions)
            recipient_user: User | None = None
            recipient_group: Group | None = None
            if user is not None:
                recipient_user = s.scalar(select(User).where(User.login == user.strip().lower()))
                if recipient_user is None or recipient_user.state is not UserState.ACTIVE:
                    raise NotFound(f"no user {user!r}")
                if recipient_user.id == actor.user_id:
                    raise BadRequest("you cannot share with yourself")
                self._check_cross_tenant(s, actor.tenant_id, recipient_user.tenant_id)
                # An item of another tenant (received through a share) goes on only where
                # its owner's tenant allows too.
                self._check_cross_tenant(s, loc.tenant_id, recipient_user.tenant_id)
                target_tenant = recipient_user.tenant_id
            else:
                recipient_group = s.scalar(
                    select(Group).where(Group.name == group, Group.tenant_id == actor.tenant_id)
                )
                if recipient_group is None:
                    raise NotFound(f"no group {group!r} in your organisation")
                self._check_cross_tenant(s, loc.tenant_id, actor.tenant_id)
                target_tenant = actor.tenant_id
            same = select(Share.id).where(
                Share.node_id == node.id, Share.sharer_id == actor.user_id
            )
            if recipient_user is not None:
                same = same.where(Share.recipient_user_id == recipient_user.id)
            elif recipient_group is not None:
                same = same.where(Share.recipient_group_id == recipient_group.id)
            dup = s.scalar(same.with_only_columns(Share))
            if dup is not None and dup.state is not ShareState.DECLINED:
                raise AlreadyExists("this is already shared with them; change that share")
            # They left it once: sharing again offers the same share anew, as asked now.
            via = loc.mount.share_id if loc.mount is not None else None
            auto = policy_of(s, target_tenant).auto_accept or recipient_group is not None
            row = dup if dup is not None else Share(node_id=node.id)
            row.space_id = loc.space_id
            row.sharer_id = actor.user_id
            row.recipient_user_id = recipient_user.id if recipient_user else None
            row.recipient_group_id = recipient_group.id if recipient_group else None
            row.via_share_id = via
            row.permissions = int(perms)
            row.state = ShareState.ACCEPTED if auto else ShareState.PENDING
            row.expires_at = expires_at
            row.note = note
            row.label = label
            row.created_at = utcnow()
            s.add(row)
            s.flush()
            self.audit.record(
                s,
                action="share.create",
                tenant_id=loc.tenant_id,
                actor=actor.login,
                client=client,
                target=f"{loc.login}:{loc.path}",
                detail={
                    "share_id": row.id,
                    "file_id": node.id,
                    "with": user or f"group:{group}",
                    "permissions": int(perms),
                    "expires_at": expires_at.isoformat() if expires_at else None,
                },
            )
            return self._info(s, row)

    def _info(self, s: Session, row: Share) -> ShareInfo:
        node = s.get_one(Node, row.node_id)
        space = s.get_one(Space, row.space_id)
        owner = s.get(User, space.owner_id) if space.owner_id is not None else None
        sharer = s.get_one(User, row.sharer_id)
        if row.recipient_user_id is not None:
            r = s.get_one(User, row.recipient_user_id)
            recipient, recipient_display, kind = r.login, r.display_name or r.login, TYPE_USER
        else:
            g = s.get_one(Group, row.recipient_group_id)
            recipient, recipient_display, kind = g.name, g.display_name or g.name, TYPE_GROUP
        return ShareInfo(
            id=row.id,
            share_type=kind,
            node_id=row.node_id,
            is_dir=node.is_dir,
            name=node.name,
            owner=owner.login if owner else space.name,
            owner_display=(owner.display_name or owner.login) if owner else space.name,
            sharer=sharer.login,
            sharer_display=sharer.display_name or sharer.login,
            recipient=recipient,
            recipient_display=recipient_display,
            permissions=Perm(row.permissions),
            state=row.state,
            expires_at=row.expires_at,
            note=row.note,
            label=row.label,
            created_at=row.created_at,
            tenant_slug=self._tenant(s, space.tenant_id).slug,
        )

    def _own_share(self, s: Session, actor: Principal, share_id: int) -> Share:
        """A share the actor may change: they made it, or they own what it shares."""
        row = s.get(Share, share_id)
        if row is None:
            raise ShareNotFound()
        if row.sharer_id != actor.user_id:
            owner = s.scalar(select(Space.owner_id).where(Space.id == row.space_id))
            if owner != actor.user_id:
                raise ShareNotFound()
        return row

    def get_share(self, actor: Principal, share_id: int) -> ShareInfo:
        with self.db.read() as s:
            row = s.get(Share, share_id)
            if row is None or actor.user_id not in (
                row.sharer_id,
                row.recipient_user_id,
                s.scalar(select(Space.owner_id).where(Space.id == row.space_id)),
            ):
                raise ShareNotFound()
            return self._info(s, row)

    def update_share(
        self,
        actor: Principal,
        share_id: int,
        *,
        permissions: Perm | None = None,
        expires_at: datetime | bool | None = False,
        note: str | None = None,
        label: str | None = None,
        client: str | None = None,
    ) -> ShareInfo:
        """Change a share; ``expires_at=None`` removes the expiry, False leaves it.

        Narrowed permissions narrow every re-share made through it at once.
        """
        with self.db.write() as s:
            row = self._own_share(s, actor, share_id)
            changes: dict[str, object] = {}
            if permissions is not None:
                node = s.get_one(Node, row.node_id)
                wanted = permissions if node.is_dir else permissions & FILE_PERMS
                if Perm.READ not in wanted:
                    raise BadRequest("a share must at least allow reading")
                if row.via_share_id is not None:
                    held = Perm(s.get_one(Share, row.via_share_id).permissions)
                    if wanted & ~held:
                        raise Forbidden(
                            f"you cannot grant more than you hold ({describe(wanted & ~held)})"
                        )
                row.permissions = int(wanted)
                changes["permissions"] = int(wanted)
                self._narrow_reshares(s, row.id, wanted)
            if expires_at is not False:
                assert expires_at is None or isinstance(expires_at, datetime)
                if expires_at is not None and expires_at <= utcnow():
                    raise BadRequest("the expiry date is in the past")
                row.expires_at = expires_at
                changes["expires_at"] = expires_at.isoformat() if expires_at else None
            if note is not None:
                row.note = changes["note"] = note
            if label is not None:
                row.label = changes["label"] = label
            s.flush()
            self.audit.record(
                s,
                action="share.update",
                tenant_id=s.get_one(Space, row.space_id).tenant_id,
                actor=actor.login,
                client=client,
                detail={"share_id": row.id, **changes},
            )
            return self._info(s, row)

    def _narrow_reshares(self, s: Session, share_id: int, held: Perm) -> None:
        children = s.scalars(select(Share).where(Share.via_share_id == share_id)).all()
        for child in children:
            narrowed = Perm(child.permissions) & held
            if narrowed != child.permissions:
                child.permissions = int(narrowed)
                self._narrow_reshares(s, child.id, narrowed)
        # Links made through a share are capped by it when they are opened.

    def delete_share(self, actor: Principal, share_id: int, *, client: str | None = None) -> None:
        """Revoke (sharer or owner) or, for the recipient, leave the share."""
        with self.db.write() as s:
            row = s.get(Share, share_id)
            if row is None:
                raise ShareNotFound()
            if row.recipient_user_id == actor.user_id:
                row.state = ShareState.DECLINED
                action = "share.decline"
            else:
                row = self._own_share(s, actor, share_id)
                s.delete(row)
                action = "share.revoke"
            self.audit.record(
                s,
                action=action,
                tenant_id=s.get_one(Space, row.space_id).tenant_id,
                actor=actor.login,
                client=client,
                detail={"share_id": share_id},
            )

    def respond(
        self, actor: Principal, share_id: int, *, accept: bool, client: str | None = None
    ) -> ShareInfo:
        with self.db.write() as s:
            row = s.get(Share, share_id)
            if row is None or row.recipient_user_id != actor.user_id:
                raise ShareNotFound()
            row.state = ShareState.ACCEPTED if accept else ShareState.DECLINED
            self.audit.record(
                s,
                action="share.accept" if accept else "share.decline",
                tenant_id=s.get_one(Space, row.space_id).tenant_id,
                actor=actor.login,
                client=client,
                detail={"share_id": share_id},
            )
            return self._info(s, row)

    def shares_by(self, actor: Principal, loc: Location | None = None) -> list[ShareInfo]:
        """What ``actor`` has shared (optionally only the item at ``loc``), and what others
        have shared of ``actor``'s own files."""
        with self.db.read() as s:
            stmt = select(Share).join(Space, Space.id == Share.space_id)
            stmt = stmt.where(
                or_(Share.sharer_id == actor.user_id, Space.owner_id == actor.user_id)
            )
            if loc is not None:
                stmt = stmt.where(Share.node_id == self._node_at(s, loc).id)
            return [self._info(s, r) for r in s.scalars(stmt.order_by(Share.id))]

    def shared_with(self, actor: Principal, *, pending: bool = False) -> list[ShareInfo]:
        with self.db.read() as s:
            rows = s.scalars(self._received(actor, pending=pending).order_by(Share.id)).all()
            return [self._info(s, r) for r in rows]

    @staticmethod
    def _received(actor: Principal, *, pending: bool = False) -> Select[Share]:
        groups = select(GroupMember.group_id).where(GroupMember.user_id == actor.user_id)
        now = utcnow()
        return select(Share).where(
            or_(Share.recipient_user_id == actor.user_id, Share.recipient_group_id.in_(groups)),
            Share.sharer_id != actor.user_id,
            Share.state == (ShareState.PENDING if pending else ShareState.ACCEPTED),
            or_(Share.expires_at.is_(None), Share.expires_at > now),
        )

    # -- links -------------------------------------------------------------

    def _seal(self, token: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, token.encode(), b"thvc link token")

    def _unseal(self, sealed: bytes) -> str:
        return self._aead.decrypt(sealed[:12], sealed[12:], b"thvc link token").decode()

    def create_link(
        self,
        actor: Principal,
        loc: Location,
        *,
        kind: LinkKind = LinkKind.READ,
        password: str | None = None,
        expires_at: datetime | None = None,
        max_downloads: int | None = None,
        note: str = "",
        label: str = "",
        client: str | None = None,
    ) -> LinkInfo:
        if max_downloads is not None and max_downloads < 1:
            raise BadRequest("a download limit must be 1 or more")
        now = utcnow()
        if expires_at is not None and expires_at <= now:
            raise BadRequest("the expiry date is in the past")
        token = secrets.token_urlsafe(24)  # 192 bits
        password_hash = hash_password(password) if password else None
        with self.db.write() as s:
            node = self._node_at(s, loc)
            need = LINK_PERMS[kind] | Perm.READ if kind is not LinkKind.DROP else Perm.CREATE
            self._grantable(loc, node, Perm.READ | (need & ~Perm.READ))
            if kind is not LinkKind.READ and not node.is_dir:
                raise BadRequest("only a folder can take uploads")
            policy = self._link_policy(s, actor, loc)
            if not policy.links:
                raise PolicyForbids("your organisation's policy does not allow public links")
            if policy.link_password_required and not password:
                raise PolicyForbids("your organisation's policy requires a password for links")
            if policy.link_max_days is not None:
                latest = _last_day_ends(now, policy.link_max_days)
                if expires_at is None or expires_at > latest:
                    if expires_at is None:
                        expires_at = latest
                    else:
                        raise PolicyForbids(
                            "your organisation's policy allows links for at most "
                            f"{policy.link_max_days} days"
                        )
            row = Link(
                token_hash=_digest(token),
                token_sealed=self._seal(token),
                token_hint=token[:6],
                node_id=node.id,
                space_id=loc.space_id,
                sharer_id=actor.user_id,
                via_share_id=loc.mount.share_id if loc.mount is not None else None,
                kind=kind,
                password_hash=password_hash,
                expires_at=expires_at,
                max_downloads=max_downloads,
                downloads=0,
                note=note,
                label=label,
                created_at=now,
            )
            s.add(row)
            s.flush()
            self.audit.record(
                s,
                action="link.create",
                tenant_id=loc.tenant_id,
                actor=actor.login,
                client=client,
                target=f"{loc.login}:{loc.path}",
                detail={
                    "link_id": row.id,
                    "token": token[:6] + "…",
                    "kind": kind.value,
                    "password": bool(password),
                    "expires_at": expires_at.isoformat() if expires_at else None,
                },
            )
            return self._link_info(s, row)

    def _link_info(self, s: Session, row: Link) -> LinkInfo:
        node = s.get_one(Node, row.node_id)
        return LinkInfo(
            id=row.id,
            node_id=row.node_id,
            is_dir=node.is_dir,
            name=node.name,
            sharer=s.get_one(User, row.sharer_id).login,
            kind=row.kind,
            has_password=row.password_hash is not None,
            expires_at=row.expires_at,
            max_downloads=row.max_downloads,
            downloads=row.downloads,
            note=row.note,
            label=row.label,
            created_at=row.created_at,
            token=self._unseal(row.token_sealed),
        )

    def _own_link(self, s: Session, actor: Principal, link_id: int) -> Link:
        row = s.get(Link, link_id)
        if row is None:
            raise LinkGone()
        if row.sharer_id != actor.user_id:
            owner = s.scalar(select(Space.owner_id).where(Space.id == row.space_id))
            if owner != actor.user_id:
                raise LinkGone()
        return row

    def links_by(self, actor: Principal, loc: Location | None = None) -> list[LinkInfo]:
        with self.db.read() as s:
            stmt = select(Link).join(Space, Space.id == Link.space_id)
            stmt = stmt.where(or_(Link.sharer_id == actor.user_id, Space.owner_id == actor.user_id))
            if loc is not None:
                stmt = stmt.where(Link.node_id == self._node_at(s, loc).id)
            return [self._link_info(s, r) for r in s.scalars(stmt.order_by(Link.id))]

    def get_link(self, actor: Principal, link_id: int) -> LinkInfo:
        with self.db.read() as s:
            return self._link_info(s, self._own_link(s, actor, link_id))

    def update_link(
        self,
        actor: Principal,
        link_id: int,
        *,
        password: str | bool | None = False,
        expires_at: datetime | bool | None = False,
        max_downloads: int | bool | None = False,
        kind: LinkKind | None = None,
        note: str | None = None,
        label: str | None = None,
        client: str | None = None,
    ) -> LinkInfo:
        """Change a link; for each of password, expires_at and max_downloads, None removes
        it and False leaves it as it is. The tenants' link policy applies again."""
        with self.db.write() as s:
            row = self._own_link(s, actor, link_id)
            space = s.get_one(Space, row.space_id)
            policy = self._link_policy(
                s,
                actor,
                Location(actor.login, (), row.space_id, space.tenant_id, "", Perm.NONE),
            )
            changes: dict[str, object] = {}
            if password is not False:
                assert password is None or isinstance(password, str)
                if not password and policy.link_password_required:
                    raise PolicyForbids("your organisation's policy requires a password for links")
                row.password_hash = hash_password(password) if password else None
                changes["password"] = bool(password)
            if expires_at is not False:
                assert expires_at is None or isinstance(expires_at, datetime)
                if expires_at is not None and expires_at <= utcnow():
                    raise BadRequest("the expiry date is in the past")
                if policy.link_max_days is not None and (
                    expires_at is None
                    or expires_at > _last_day_ends(row.created_at, policy.link_max_days)
                ):
                    raise PolicyForbids(
                        "your organisation's policy allows links for at most "
                        f"{policy.link_max_days} days"
                    )
                row.expires_at = expires_at
                changes["expires_at"] = expires_at.isoformat() if expires_at else None
            if max_downloads is not False:
                assert max_downloads is None or isinstance(max_downloads, int)
                if max_downloads is not None and max_downloads < 1:
                    raise BadRequest("a download limit must be 1 or more")
                row.max_downloads = changes["max_downloads"] = max_downloads
            if kind is not None and kind is not row.kind:
                node = s.get_one(Node, row.node_id)
                if kind is not LinkKind.READ and not node.is_dir:
                    raise BadRequest("only a folder can take uploads")
                row.kind = kind
                changes["kind"] = kind.value
            if note is not None:
                row.note = changes["note"] = note
            if label is not None:
                row.label = changes["label"] = label
            s.flush()
            self.audit.record(
                s,
                action="link.update",
                tenant_id=space.tenant_id,
                actor=actor.login,
                client=client,
                detail={"link_id": row.id, **changes},
            )
            return self._link_info(s, row)

    def delete_link(self, actor: Principal, link_id: int, *, client: str | None = None) -> None:
        with self.db.write() as s:
            row = self._own_link(s, actor, link_id)
            tenant_id = s.get_one(Space, row.space_id).tenant_id
            s.delete(row)
            self.audit.record(
                s,
                action="link.revoke",
                tenant_id=tenant_id,
                actor=actor.login,
                client=client,
                detail={"link_id": link_id},
            )

    def _ticket(self, row: Link) -> str:
        """Bound to the link and its password hash: a new password voids it."""
        msg = f"{row.id}|{row.password_hash}".encode()
        return hmac.new(self._ticket_key, msg, hashlib.sha256).hexdigest()

    def open_link(
        self,
        token: str,
        password: str | None,
        *,
        client: str | None = None,
        ticket: str | None = None,
    ) -> LinkAccess:
        """A visitor's access through a link, or LinkGone (404) / NotAuthenticated.

        Wrong passwords are throttled per link and per client address (429 with the
        wait); a link that is expired, revoked, exhausted or never existed is one
        and the same 404.
        """
        digest = _digest(token)
        keys = [f"link:{digest}", f"linkaddr:{_digest(client or '-')}"]
        wait = self.accounts.throttle_wait(keys)
        if wait:
            raise TooManyFailedLogins(wait)
        now = utcnow()
        with self.db.read() as s:
            row = s.scalar(select(Link).where(Link.token_hash == digest))
            found = self._usable(s, row, now) if row is not None else None
        if row is None or found is None:
            raise LinkGone()
        node, space, sharer = found
        # A ticket proves the password was verified before (a web session): no argon2
        # again. A wrong or stale one (the password changed) is no attempt either.
        verified = bool(
            row.password_hash is not None
            and ticket
            and hmac.compare_digest(ticket, self._ticket(row))
        )
        if row.password_hash is not None and not password and not verified:
            # Not an attempt: a first page view, or a client that has not sent it yet.
            raise NotAuthenticated("this link needs its password")
        if row.password_hash is not None and not verified:
            ok = password is not None and verify_password(row.password_hash, password)
            if not ok:
                with self.db.write() as s:
                    self.accounts.throttle_failure(s, keys)
                    self.audit.record(
                        s,
                        action="link.access",
                        outcome="failure",
                        tenant_id=space.tenant_id,
                        actor=f"link:{row.token_hint}",
                        client=client,
                        detail={"link_id": row.id, "reason": "wrong password"},
                    )
                raise NotAuthenticated("this link needs its password")
            # The right password: recorded once per visit (a ticket spares the next ones).
            with self.db.write() as s:
                self.audit.record(
                    s,
                    action="link.access",
                    tenant_id=space.tenant_id,
                    actor=f"link:{row.token_hint}",
                    client=client,
                    detail={"link_id": row.id, "password": True},
                )
        perms = LINK_PERMS[row.kind]
        if row.via_share_id is not None:
            with self.db.read() as s:
                via = s.get(Share, row.via_share_id)
                perms &= Perm(via.permissions) if via is not None else Perm.NONE
            if not perms:
                raise LinkGone()
        owner_login = sharer.login
        mount = Mount(
            name=node.name,
            space_id=space.id,
            tenant_id=space.tenant_id,
            perms=perms,
            kind=MountKind.SHARED,
            base=node.path,
            owner=owner_login,
        )
        actor = Principal(
            sharer.id,
            f"link:{row.token_hint}",
            space.tenant_id,
            Role.GUEST,
            "public link",
        )
        loc = Location(actor.login, (), space.id, space.tenant_id, node.path, perms, mount=mount)
        return LinkAccess(
            link_id=row.id,
            kind=row.kind,
            loc=loc,
            actor=actor,
            name=node.name,
            is_dir=node.is_dir,
            has_password=row.password_hash is not None,
            sharer_display=sharer.display_name or sharer.login,
            ticket=self._ticket(row) if row.password_hash is not None else "",
        )

    @staticmethod
    def _usable(s: Session, row: Link, now: datetime) -> tuple[Node, Space, User] | None:
        if row.expires_at is not None and row.expires_at <= now:
            return None
        if row.max_downloads is not None and row.downloads >= row.max_downloads:
            return None
        node = s.get(Node, row.node_id)
        if node is None or node.trashed_at is not None:
            return None
        space = s.get_one(Space, row.space_id)
        tenant = s.get_one(Tenant, space.tenant_id)
        sharer = s.get_one(User, row.sharer_id)
        if tenant.state is not TenantState.ACTIVE or sharer.state is not UserState.ACTIVE:
            return None
        return node, space, sharer

    def count_download(self, access: LinkAccess, *, client: str | None = None) -> None:
        """One download through a link: counted against its limit (LinkGone when used up),
        and audited in the owner's tenant."""
        with self.db.write() as s:
            row = s.get(Link, access.link_id, with_for_update=True)
            if row is None or (
                row.max_downloads is not None and row.downloads >= row.max_downloads
            ):
                raise LinkGone()
            row.downloads += 1
            self.audit.record(
                s,
                action="link.download",
                tenant_id=access.loc.tenant_id,
                actor=access.actor.login,
                client=client,
                detail={"link_id": row.id, "downloads": row.downloads},
            )

    def record_drop(
        self,
        access: LinkAccess,
        name: str,
        size: int,
        *,
        uploader: str | None = None,
        client: str | None = None,
    ) -> None:
        """The owner sees who (the name the visitor gave, if any) dropped what, and when."""
        with self.db.write() as s:
            self.audit.record(
                s,
                action="link.drop",
                tenant_id=access.loc.tenant_id,
                actor=access.actor.login,
                client=client,
                target=f"{access.loc.path}/{name}",
                detail={"link_id": access.link_id, "size": size, "uploader": uploader or ""},
            )


class ShareGrants:
    """The file service's view of shares (:class:`thvc.files.services.Grants`)."""

    def mounts(self, b: Batch, actor: Principal) -> Later[list[Mount]]:
        # The same shares as SharingService._received: accepted, not expired, not one's own.
        return b.all(
            "SELECT sh.id, sh.node_id, sh.space_id, sh.permissions, n.name, n.path,"
            " sp.tenant_id, u.login FROM shares sh JOIN nodes n ON n.id = sh.node_id"
            " JOIN spaces sp ON sp.id = sh.space_id JOIN users u ON u.id = sh.sharer_id"
            " WHERE n.trashed_at IS NULL AND (sh.recipient_user_id = ?"
            " OR sh.recipient_group_id IN (SELECT group_id FROM group_members WHERE user_id = ?))"
            " AND sh.sharer_id <> ? AND sh.state = ?"
            " AND (sh.expires_at IS NULL OR sh.expires_at > ?)",
            actor.user_id,
            actor.user_id,
            actor.user_id,
            ShareState.ACCEPTED.value,
            b.reader.bind_ts(utcnow()),
        ).then(self._mounts)

    @staticmethod
    def _mounts(rows: list[Row]) -> list[Mount]:
        best: dict[int, Mount] = {}
        for share_id, node_id, space_id, permissions, name, path, tenant_id, sharer in rows:
            m = Mount(
                name=name,
                space_id=space_id,
                tenant_id=tenant_id,
                perms=Perm(permissions),
                kind=MountKind.SHARED,
                base=path,
                owner=sharer,
                share_id=share_id,
            )
            # Shared twice (to the user and to a group): one mount, the wider grant.
            prev = best.get(node_id)
            if prev is None or m.perms | prev.perms != prev.perms:
                best[node_id] = (
                    m if prev is None else dataclasses.replace(m, perms=m.perms | prev.perms)
                )
        return list(best.values())

    def current(self, s: Session, share_id: int, actor: Principal) -> Perm:
        row = s.scalar(SharingService._received(actor).where(Share.id == share_id))
        return Perm(row.permissions) if row is not None else Perm.NONE

    def leave(self, s: Session, share_id: int, actor: Principal) -> None:
        row = s.get(Share, share_id)
        if row is None:
            raise ShareNotFound()
        if row.recipient_user_id == actor.user_id:
            row.state = ShareState.DECLINED
        else:
            # A group share: only this member leaves it. Without a per-member row that is
            # not recorded yet, so it is refused rather than taken from the whole group.
            raise Forbidden("a share with your group can only be revoked by its sharer")

    def share_types(self, b: Batch, node_ids: Collection[int]) -> Later[dict[int, tuple[int, ...]]]:
        ids = list(node_ids)
        parts: list[Later[list[Row]]] = []
        # In parts: SQLite allows some thousands of parameters per statement.
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = marks(len(part))
            # Type 0 (user) or 1 (group) per share, 3 per link: one statement.
            parts.append(
                b.all(
                    f"SELECT node_id, CASE WHEN recipient_user_id IS NULL THEN {TYPE_GROUP}"
                    f" ELSE {TYPE_USER} END FROM shares WHERE node_id IN ({q})"
                    f" UNION ALL SELECT node_id, {TYPE_LINK} FROM links WHERE node_id IN ({q})",
                    *part,
                    *part,
                )
            )

        def collect() -> dict[int, tuple[int, ...]]:
            out: dict[int, set[int]] = {}
            for later in parts:
                for node_id, kind in later.get():
                    out.setdefault(node_id, set()).add(int(kind))
            return {k: tuple(sorted(v)) for k, v in out.items()}

        return Later(b, collect)
