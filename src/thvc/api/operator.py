"""The platform operator's resources: tenants and their life cycle, usage of all.

``TenantService`` records who acted but does not ask who calls; every operation
here is the operator's alone (``thvc.accounts.authz.require_operator``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from thvc.accounts import authz
from thvc.api.auth import Me
from thvc.api.deps import Svc
from thvc.api.fields import Bytes, Line, Slug
from thvc.api.pagination import Cursor, Limit, Page, paginate
from thvc.api.problems import COMMON, responses
from thvc.api.tenant_admin import SlugPath, TenantItem, TenantUsageItem, tenant_item, usage_items
from thvc.tenants.models import TenantKind

router = APIRouter(tags=["operator"], responses=COMMON)


class TenantRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug
    name: Annotated[Line, Field(min_length=1, max_length=200)]
    kind: TenantKind = TenantKind.MUNICIPALITY
    quota_bytes: Bytes | None = None


class TenantChange(BaseModel):
    """What to change; ``quota_bytes: null`` removes the quota."""

    model_config = ConfigDict(extra="forbid")

    quota_bytes: Bytes | None = None


@router.get("/tenants", response_model=Page[TenantItem])
def list_tenants(svc: Svc, me: Me, limit: Limit = 100, cursor: Cursor = None) -> Page[TenantItem]:
    """Every tenant, by slug."""
    authz.require_operator(me)
    page, nxt = paginate(
        svc.tenants.all(),
        lambda t: (t.slug,),
        scope="tenants",
        kinds=(str,),
        limit=limit,
        cursor=cursor,
    )
    return Page(
        items=[TenantItem.model_validate(t, from_attributes=True) for t in page], next_cursor=nxt
    )


@router.post("/tenants", status_code=201, response_model=TenantItem, responses=responses(409))
def create_tenant(svc: Svc, me: Me, body: TenantRequest) -> TenantItem:
    """Create a tenant (a state agency, a municipality, an external organisation)."""
    authz.require_operator(me)
    svc.tenants.create(
        body.slug, body.name, kind=body.kind, quota_bytes=body.quota_bytes, actor=me.login
    )
    return tenant_item(svc, body.slug)


@router.patch("/tenants/{slug}", response_model=TenantItem)
def change_tenant(svc: Svc, me: Me, slug: SlugPath, change: TenantChange) -> TenantItem:
    """Change a tenant's quota."""
    authz.require_operator(me)
    if "quota_bytes" in change.model_fields_set:
        svc.tenants.set_quota(slug, change.quota_bytes, actor=me.login)
    return tenant_item(svc, slug)


@router.post("/tenants/{slug}/suspend", response_model=TenantItem)
def suspend_tenant(svc: Svc, me: Me, slug: SlugPath) -> TenantItem:
    """Suspend a tenant: its users can no longer log in; nothing is deleted."""
    authz.require_operator(me)
    svc.tenants.suspend(slug, actor=me.login)
    return tenant_item(svc, slug)


@router.post("/tenants/{slug}/resume", response_model=TenantItem)
def resume_tenant(svc: Svc, me: Me, slug: SlugPath) -> TenantItem:
    """Let a suspended tenant's users in again."""
    authz.require_operator(me)
    svc.tenants.resume(slug, actor=me.login)
    return tenant_item(svc, slug)


@router.delete("/tenants/{slug}", response_model=TenantItem)
def delete_tenant(svc: Svc, me: Me, slug: SlugPath) -> TenantItem:
    """Delete a tenant: blocked now, its data key shredded after the grace period."""
    authz.require_operator(me)
    svc.tenants.delete(slug, actor=me.login)
    return tenant_item(svc, slug)


@router.get("/usage", response_model=Page[TenantUsageItem])
def list_usage(
    svc: Svc, me: Me, limit: Limit = 100, cursor: Cursor = None
) -> Page[TenantUsageItem]:
    """Every tenant's storage, accounts and traffic: the basis of cost allocation."""
    authz.require_operator(me)
    page, nxt = paginate(
        usage_items(svc),
        lambda u: (u.slug,),
        scope="usage",
        kinds=(str,),
        limit=limit,
        cursor=cursor,
    )
    return Page(items=page, next_cursor=nxt)
