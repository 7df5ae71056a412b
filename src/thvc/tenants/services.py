"""Creating, suspending and deleting tenants; every change is audited in its transaction."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from thvc.audit import AuditLog
from thvc.db.engine import Database
from thvc.db.types import utcnow
from thvc.errors import AlreadyExists, BadRequest, NotFound
from thvc.tenants.models import (
    ShareScope,
    Tenant,
    TenantKind,
    TenantPolicy,
    TenantState,
    TenantTraffic,
)

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
PLATFORM_SLUG = "platform"


@dataclass(frozen=True)
class TenantUsage:
    slug: str
    name: str
    state: TenantState
    quota_bytes: int | None
    used_bytes: int
    bytes_in: int
    bytes_out: int
    bytes_in_recent: int
    bytes_out_recent: int


class TenantService:
    """Tenants and their life cycle.

    ``new_wrapped_key(tenant_id)`` returns a fresh data key wrapped by the
    master key; it is injected so that this package knows nothing of crypto.
    """

    def __init__(
        self,
        db: Database,
        *,
        audit: AuditLog,
        new_wrapped_key: Callable[[int], bytes],
        grace_days: int = 30,
    ) -> None:
        self.db = db
        self.audit = audit
        self.new_wrapped_key = new_wrapped_key
        self.grace = timedelta(days=grace_days)

    def create(
        self,
        slug: str,
        name: str,
        *,
        kind: TenantKind = TenantKind.MUNICIPALITY,
        quota_bytes: int | None = None,
        actor: str = "system",
    ) -> Tenant:
        if not SLUG.fullmatch(slug):
            raise BadRequest(
                f"invalid tenant slug {slug!r}: use 1-63 lowercase letters, digits and '-'"
            )
        if not name.strip():
            raise BadRequest("the tenant needs a display name")
        if quota_bytes is not None and quota_bytes < 0:
            raise BadRequest("quota must not be negative")
        with self.db.write() as s:
            if s.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
                raise AlreadyExists(f"tenant {slug!r} exists already")
            tenant = Tenant(slug=slug, name=name.strip(), kind=kind, quota_bytes=quota_bytes)
            s.add(tenant)
            s.flush()
            tenant.wrapped_key = self.new_wrapped_key(tenant.id)
            self.audit.record(
                s,
                action="tenant.create",
                tenant_id=tenant.id,
                actor=actor,
                target=slug,
                detail={"kind": kind.value, "quota": quota_bytes},
            )
            return tenant

    def get(self, session: Session, slug: str) -> Tenant:
        tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            raise NotFound(f"no tenant {slug!r}")
        return tenant

    def all(self) -> Sequence[Tenant]:
        with self.db.read() as s:
            return s.scalars(select(Tenant).order_by(Tenant.slug)).all()

    def usage(self, *, days: int = 30) -> list[TenantUsage]:
        """Every tenant's storage and traffic (all time and the last ``days`` days), the
        basis for allocating the platform's costs. Traffic is written every few seconds
        by each process (tenants/traffic.py), so the newest seconds may be missing."""
        since = utcnow().date() - timedelta(days=days)
        with self.db.read() as s:
            totals = {
                int(tid): (int(i or 0), int(o or 0), int(ri or 0), int(ro or 0))
                for tid, i, o, ri, ro in s.execute(
                    select(
                        TenantTraffic.tenant_id,
                        func.sum(TenantTraffic.bytes_in),
                        func.sum(TenantTraffic.bytes_out),
                        func.sum(case((TenantTraffic.day > since, TenantTraffic.bytes_in))),
                        func.sum(case((TenantTraffic.day > since, TenantTraffic.bytes_out))),
                    ).group_by(TenantTraffic.tenant_id)
                )
            }
            return [
                TenantUsage(
                    t.slug,
                    t.name,
                    t.state,
                    t.quota_bytes,
                    t.used_bytes,
                    *totals.get(t.id, (0, 0, 0, 0)),
                )
                for t in s.scalars(select(Tenant).order_by(Tenant.slug))
            ]

    def _set_state(self, slug: str, state: TenantState, action: str, actor: str) -> Tenant:
        with self.db.write() as s:
            tenant = self.get(s, slug)
            if tenant.kind is TenantKind.PLATFORM:
                raise BadRequest("the platform tenant cannot be suspended or deleted")
            if tenant.state is TenantState.DELETED and state is not TenantState.DELETED:
                raise BadRequest(f"tenant {slug!r} is deleted")
            tenant.state = state
            tenant.delete_after = utcnow() + self.grace if state is TenantState.DELETED else None
            self.audit.record(s, action=action, tenant_id=tenant.id, actor=actor, target=slug)
            return tenant

    def suspend(self, slug: str, *, actor: str = "system") -> Tenant:
        return self._set_state(slug, TenantState.SUSPENDED, "tenant.suspend", actor)

    def resume(self, slug: str, *, actor: str = "system") -> Tenant:
        return self._set_state(slug, TenantState.ACTIVE, "tenant.resume", actor)

    def delete(self, slug: str, *, actor: str = "system") -> Tenant:
        """Block the tenant now; its key is destroyed by :meth:`shred_due` after the grace."""
        return self._set_state(slug, TenantState.DELETED, "tenant.delete", actor)

    def set_quota(self, slug: str, quota_bytes: int | None, *, actor: str = "system") -> Tenant:
        with self.db.write() as s:
            tenant = self.get(s, slug)
            tenant.quota_bytes = quota_bytes
            self.audit.record(
                s,
                action="tenant.quota",
                tenant_id=tenant.id,
                actor=actor,
                target=slug,
                detail={"quota": quota_bytes},
            )
            return tenant

    def policy(self, slug: str) -> Policy:
        with self.db.read() as s:
            return policy_of(s, self.get(s, slug).id)

    def set_policy(
        self,
        slug: str,
        *,
        share_with: str | None = None,
        links: bool | None = None,
        link_password_required: bool | None = None,
        link_max_days: int | Literal["unset"] | None = "unset",
        auto_accept: bool | None = None,
        members_invite: bool | None = None,
        actor: str = "system",
    ) -> Policy:
        """Change what is given; ``share_with`` is ``all``, ``none`` or tenant slugs,
        comma-separated; ``link_max_days`` None removes the limit."""
        with self.db.write() as s:
            tenant = self.get(s, slug)
            row = s.get(TenantPolicy, tenant.id)
            if row is None:
                row = TenantPolicy(
                    tenant_id=tenant.id,
                    share_scope=ShareScope.ALL,
                    share_with="",
                    links=True,
                    link_password_required=False,
                    link_max_days=None,
                    auto_accept=True,
                    members_invite=True,
                )
                s.add(row)
            changes: dict[str, object] = {}
            if share_with is not None:
                value = share_with.strip().lower()
                if value in ("all", "none"):
                    row.share_scope, row.share_with = ShareScope(value), ""
                else:
                    slugs = sorted({x.strip() for x in value.split(",") if x.strip()})
                    if not slugs:
                        raise BadRequest("--share-with takes all, none or tenant slugs")
                    known = set(s.scalars(select(Tenant.slug).where(Tenant.slug.in_(slugs))))
                    unknown = [x for x in slugs if x not in known]
                    if unknown:
                        raise NotFound(f"no tenant {', '.join(unknown)}")
                    row.share_scope, row.share_with = ShareScope.LIST, ",".join(slugs)
                changes["share_with"] = value
            if links is not None:
                row.links = changes["links"] = links
            if link_password_required is not None:
                row.link_password_required = link_password_required
                changes["link_password_required"] = link_password_required
            if link_max_days != "unset":
                if link_max_days is not None and link_max_days < 1:
                    raise BadRequest("--link-max-days must be 1 or more")
                row.link_max_days = changes["link_max_days"] = link_max_days
            if auto_accept is not None:
                row.auto_accept = changes["auto_accept"] = auto_accept
            if members_invite is not None:
                row.members_invite = changes["members_invite"] = members_invite
            s.flush()
            self.audit.record(
                s,
                action="tenant.policy",
                tenant_id=tenant.id,
                actor=actor,
                target=slug,
                detail=changes,
            )
            return policy_of(s, tenant.id)

    def shred_due(
        self, *, now_offset: timedelta = timedelta(0), actor: str = "system"
    ) -> list[int]:
        """Destroy the data keys of tenants whose grace period is over; return their ids.

        Without the key every blob of the tenant is unreadable (crypto-shredding);
        the caller then removes the rows and blobs at leisure.
        """
        limit = utcnow() + now_offset
        with self.db.write() as s:
            due = s.scalars(
                select(Tenant).where(
                    Tenant.state == TenantState.DELETED,
                    Tenant.delete_after <= limit,
                    Tenant.wrapped_key.is_not(None),
                )
            ).all()
            for tenant in due:
                tenant.wrapped_key = None
                self.audit.record(
                    s, action="tenant.shred", tenant_id=tenant.id, actor=actor, target=tenant.slug
                )
            return [t.id for t in due]


@dataclass(frozen=True)
class Policy:
    """A tenant's sharing policy, as the sharing core applies it."""

    share_scope: ShareScope = ShareScope.ALL
    share_with: tuple[str, ...] = ()
    links: bool = True
    link_password_required: bool = False
    link_max_days: int | None = None
    auto_accept: bool = True
    members_invite: bool = True

    def allows_sharing_with(self, slug: str, own_slug: str) -> bool:
        if slug == own_slug:
            return True
        if self.share_scope is ShareScope.ALL:
            return True
        return self.share_scope is ShareScope.LIST and slug in self.share_with


def policy_of(s: Session, tenant_id: int) -> Policy:
    row = s.get(TenantPolicy, tenant_id)
    if row is None:
        return Policy()
    return Policy(
        share_scope=row.share_scope,
        share_with=tuple(x for x in row.share_with.split(",") if x),
        links=row.links,
        link_password_required=row.link_password_required,
        link_max_days=row.link_max_days,
        auto_accept=row.auto_accept,
        members_invite=row.members_invite,
    )
