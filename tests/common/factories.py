"""Tenants, users and files for tests, made through the real services."""

from __future__ import annotations

from thvc.accounts.models import Role
from thvc.accounts.services import Principal, principal_of
from thvc.files import paths
from thvc.files.services import Entry, Location
from thvc.services import Services
from thvc.tenants.models import TenantKind

PASSWORD = "correct-horse-battery"


def tenant(
    svc: Services,
    slug: str,
    *,
    quota: int | None = None,
    kind: TenantKind = TenantKind.MUNICIPALITY,
) -> int:
    return svc.tenants.create(slug, slug.title(), kind=kind, quota_bytes=quota).id


def user(
    svc: Services,
    login: str,
    *,
    password: str = PASSWORD,
    role: Role = Role.MEMBER,
    quota: int | None = None,
) -> Principal:
    slug = login.rpartition("@")[2]
    with svc.db.read() as s:
        from thvc.tenants.models import Tenant

        exists = s.query(Tenant.id).filter(Tenant.slug == slug).first() is not None
    if not exists:
        tenant(svc, slug)
    return principal_of(svc.accounts.create_user(login, password, role=role, quota_bytes=quota))


def loc(svc: Services, who: Principal, path: str = "/") -> Location:
    return svc.files.locate(who, who.login, [p for p in path.split("/") if p])


def put(svc: Services, who: Principal, path: str, data: bytes, **kw: object) -> Entry:
    where = loc(svc, who, path)
    up = svc.files.begin_put(where, length=len(data))
    try:
        if data:
            up.write(data)
        entry, _ = svc.files.finish_put(up, actor=who, **kw)  # type: ignore[arg-type]
    except BaseException:
        svc.files.abort_put(up)
        raise
    return entry


def mkdir(svc: Services, who: Principal, path: str) -> Entry:
    return svc.files.mkcol(loc(svc, who, path), actor=who)


def read(svc: Services, who: Principal, path: str) -> bytes:
    h = svc.files.open_read(loc(svc, who, path))
    return b"".join(svc.files.read(h))


__all__ = ["PASSWORD", "loc", "mkdir", "paths", "put", "read", "tenant", "user"]
