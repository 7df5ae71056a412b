"""Creating, suspending and deleting tenants; every change is audited in its transaction."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from thvc.audit import AuditLog
from thvc.db.engine import Database
from thvc.db.types import utcnow
from thvc.errors import AlreadyExists, BadRequest, NotFound
from thvc.tenants.models import Tenant, TenantKind, TenantState

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
PLATFORM_SLUG = "platform"


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
