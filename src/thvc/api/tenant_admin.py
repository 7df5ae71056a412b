"""``/tenants/{slug}/…``: a tenant's administration, by its admins (and the operator).

The account and tenant services record who acted but do not ask who calls;
``thvc.accounts.authz`` (the checks the web console calls too) decides who may,
before each change: the operator any tenant, a tenant admin their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from thvc.accounts import authz
from thvc.accounts.models import Role, UserState
from thvc.accounts.services import Principal
from thvc.api.auth import Me
from thvc.api.deps import Svc
from thvc.api.etags import json_response
from thvc.api.fields import Bytes, Line, LocalName, Slug, Text
from thvc.api.pagination import Cursor, Limit, Page, paginate
from thvc.api.problems import COMMON, responses
from thvc.services import Services
from thvc.tenants.models import ShareScope, TenantKind, TenantState
from thvc.tenants.services import Policy

router = APIRouter(tags=["tenant administration"], responses=COMMON)

SlugPath = Annotated[
    str,
    Path(
        max_length=63,
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
        description="A tenant's slug",
        examples=["lauscha"],
    ),
]
NamePath = Annotated[
    str,
    Path(
        max_length=64,
        pattern=r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$",
        description="An account's or group's name in the tenant (without @tenant)",
        examples=["anna"],
    ),
]
Password = Annotated[Text, Field(min_length=1, max_length=1024)]


class TenantItem(BaseModel):
    slug: str
    name: str
    kind: TenantKind
    state: TenantState
    quota_bytes: int | None
    used_bytes: int
    created_at: datetime
    delete_after: datetime | None = Field(description="A deleted tenant's data is shredded then")


class TenantUsageItem(BaseModel):
    slug: str
    name: str
    state: TenantState
    quota_bytes: int | None
    used_bytes: int
    users: int = Field(description="Active accounts")
    bytes_in: int = Field(description="Uploaded, all time")
    bytes_out: int = Field(description="Downloaded, all time")
    bytes_in_30d: int
    bytes_out_30d: int


class UserItem(BaseModel):
    login: str
    display_name: str
    email: str | None
    role: Role
    state: UserState
    quota_bytes: int | None
    expires_at: datetime | None
    created_at: datetime


class UserRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: LocalName = Field(description="The part before @tenant")
    password: Password | None = Field(default=None, description="None: set one later")
    role: Role = Role.MEMBER
    quota_bytes: Bytes | None = None
    display_name: Annotated[Line, Field(max_length=200)] = ""
    email: Annotated[Line, Field(max_length=320)] | None = None


class PasswordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: Password


class GroupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: LocalName


class GroupCreated(BaseModel):
    name: str
    tenant: str


ShareWith = Literal["all", "none"] | Annotated[list[Slug], Field(min_length=1, max_length=1000)]


class PolicyItem(BaseModel):
    share_with: Literal["all", "none"] | list[str] = Field(
        description='Tenants whose users may be shared with: "all", "none" or a list of slugs'
    )
    links: bool = Field(description="Public links allowed")
    link_password_required: bool
    link_max_days: int | None = Field(description="Longest link lifetime; null: no limit")
    auto_accept: bool = Field(description="Received shares appear without being accepted")
    members_invite: bool = Field(description="Members (not only admins) may invite guests")


class PolicyChange(BaseModel):
    """What to change; what is not sent stays. ``link_max_days: null`` removes the limit."""

    model_config = ConfigDict(extra="forbid")

    share_with: ShareWith | None = None
    links: bool | None = None
    link_password_required: bool | None = None
    link_max_days: Annotated[int, Field(ge=1, le=36_500)] | None = None
    auto_accept: bool | None = None
    members_invite: bool | None = None


def tenant_id_of(svc: Services, slug: str) -> int:
    with svc.db.read() as s:
        return svc.tenants.get(s, slug).id


def tenant_item(svc: Services, slug: str) -> TenantItem:
    with svc.db.read() as s:
        t = svc.tenants.get(s, slug)
        return TenantItem(
            slug=t.slug,
            name=t.name,
            kind=t.kind,
            state=t.state,
            quota_bytes=t.quota_bytes,
            used_bytes=t.used_bytes,
            created_at=t.created_at,
            delete_after=t.delete_after,
        )


def usage_items(svc: Services, slug: str | None = None) -> list[TenantUsageItem]:
    ids = {t.slug: t.id for t in svc.tenants.all()}
    counts = svc.accounts.user_counts()
    return [
        TenantUsageItem(
            slug=u.slug,
            name=u.name,
            state=u.state,
            quota_bytes=u.quota_bytes,
            used_bytes=u.used_bytes,
            users=counts.get(ids.get(u.slug, 0), 0),
            bytes_in=u.bytes_in,
            bytes_out=u.bytes_out,
            bytes_in_30d=u.bytes_in_recent,
            bytes_out_30d=u.bytes_out_recent,
        )
        for u in svc.tenants.usage()
        if slug is None or u.slug == slug
    ]


def policy_item(p: Policy) -> PolicyItem:
    share_with: Literal["all", "none"] | list[str] = (
        "all"
        if p.share_scope is ShareScope.ALL
        else "none"
        if p.share_scope is ShareScope.NONE
        else list(p.share_with)
    )
    return PolicyItem(
        share_with=share_with,
        links=p.links,
        link_password_required=p.link_password_required,
        link_max_days=p.link_max_days,
        auto_accept=p.auto_accept,
        members_invite=p.members_invite,
    )


def user_item(u: object) -> UserItem:
    return UserItem.model_validate(u, from_attributes=True)


@router.get("/tenants/{slug}", response_model=TenantItem, responses=responses(304))
def get_tenant(request: Request, svc: Svc, me: Me, slug: SlugPath) -> Response:
    """A tenant: its kind, state and quota."""
    authz.require_tenant_admin(me, slug)
    return json_response(request, tenant_item(svc, slug))


@router.get("/tenants/{slug}/usage", response_model=TenantUsageItem)
def get_tenant_usage(svc: Svc, me: Me, slug: SlugPath) -> TenantUsageItem:
    """Storage used against the quota, accounts, and traffic."""
    authz.require_tenant_admin(me, slug)
    found = usage_items(svc, slug)
    if not found:
        tenant_item(svc, slug)  # NotFound (404), in the core's words
    return found[0]


@router.get("/tenants/{slug}/users", response_model=Page[UserItem])
def list_users(
    svc: Svc, me: Me, slug: SlugPath, limit: Limit = 100, cursor: Cursor = None
) -> Page[UserItem]:
    """The tenant's accounts (guests too), by login."""
    authz.require_tenant_admin(me, slug)
    users = [u for u, _ in svc.accounts.list_users(slug)]
    page, nxt = paginate(
        users, lambda u: (u.login,), scope="users", kinds=(str,), limit=limit, cursor=cursor
    )
    return Page(items=[user_item(u) for u in page], next_cursor=nxt)


@router.post(
    "/tenants/{slug}/users", status_code=201, response_model=UserItem, responses=responses(409)
)
def create_user(svc: Svc, me: Me, slug: SlugPath, body: UserRequest) -> UserItem:
    """Create an account ``name@slug``."""
    authz.require_tenant_admin(me, slug)
    authz.require_may_grant(me, body.role)
    user = svc.accounts.create_user(
        f"{body.name}@{slug}",
        body.password,
        role=body.role,
        quota_bytes=body.quota_bytes,
        display_name=body.display_name,
        email=body.email,
        actor=me.login,
    )
    return user_item(user)


def _set_state(svc: Services, me: Principal, slug: str, name: str, state: UserState) -> UserItem:
    login = f"{name}@{slug}"
    authz.require_user_admin(me, login, not_self=state is UserState.DISABLED)
    return user_item(svc.accounts.set_state(login, state, actor=me.login))


@router.post("/tenants/{slug}/users/{name}/disable", response_model=UserItem)
def disable_user(svc: Svc, me: Me, slug: SlugPath, name: NamePath) -> UserItem:
    """Disable an account: it can no longer log in (its files stay)."""
    return _set_state(svc, me, slug, name, UserState.DISABLED)


@router.post("/tenants/{slug}/users/{name}/enable", response_model=UserItem)
def enable_user(svc: Svc, me: Me, slug: SlugPath, name: NamePath) -> UserItem:
    """Enable a disabled account again."""
    return _set_state(svc, me, slug, name, UserState.ACTIVE)


@router.put("/tenants/{slug}/users/{name}/password", status_code=204, response_class=Response)
def set_user_password(
    svc: Svc, me: Me, slug: SlugPath, name: NamePath, body: PasswordRequest
) -> None:
    """Set an account's password (your own: POST /me/password)."""
    login = f"{name}@{slug}"
    authz.require_user_admin(me, login, not_self=True)
    svc.accounts.set_password(login, body.password, actor=me.login)


@router.delete("/tenants/{slug}/users/{name}", status_code=204, response_class=Response)
def delete_user(svc: Svc, me: Me, slug: SlugPath, name: NamePath) -> None:
    """Delete an account."""
    login = f"{name}@{slug}"
    authz.require_user_admin(me, login, not_self=True)
    svc.accounts.delete_user(login, actor=me.login)


class GroupItem(BaseModel):
    name: str
    members: list[str] = Field(description="Logins of the members")


@router.get("/tenants/{slug}/groups", response_model=list[GroupItem])
def list_groups(svc: Svc, me: Me, slug: SlugPath) -> list[GroupItem]:
    """The tenant's groups and their members."""
    authz.require_tenant_admin(me, slug)
    tenant_id = tenant_id_of(svc, slug)
    return [GroupItem(name=g.name, members=list(g.members)) for g in svc.accounts.groups(tenant_id)]


@router.delete("/tenants/{slug}/groups/{group}", status_code=204, response_class=Response)
def delete_group(svc: Svc, me: Me, slug: SlugPath, group: NamePath) -> None:
    """Delete a group; shares to it end."""
    authz.require_tenant_admin(me, slug)
    svc.accounts.delete_group(slug, group, actor=me.login)


@router.post(
    "/tenants/{slug}/groups", status_code=201, response_model=GroupCreated, responses=responses(409)
)
def create_group(svc: Svc, me: Me, slug: SlugPath, body: GroupRequest) -> GroupCreated:
    """Create a group (to share with, and to make members of team spaces)."""
    authz.require_tenant_admin(me, slug)
    svc.accounts.create_group(slug, body.name, actor=me.login)
    return GroupCreated(name=body.name, tenant=slug)


@router.put(
    "/tenants/{slug}/groups/{group}/members/{name}", status_code=204, response_class=Response
)
def add_group_member(svc: Svc, me: Me, slug: SlugPath, group: NamePath, name: NamePath) -> None:
    """Add the account ``name@slug`` to a group (nothing changes if it is in already)."""
    authz.require_tenant_admin(me, slug)
    svc.accounts.add_to_group(group, f"{name}@{slug}", actor=me.login)


@router.delete(
    "/tenants/{slug}/groups/{group}/members/{name}", status_code=204, response_class=Response
)
def remove_group_member(svc: Svc, me: Me, slug: SlugPath, group: NamePath, name: NamePath) -> None:
    """Take the account ``name@slug`` out of a group."""
    authz.require_tenant_admin(me, slug)
    svc.accounts.remove_from_group(group, f"{name}@{slug}", actor=me.login)


@router.get("/tenants/{slug}/policy", response_model=PolicyItem, responses=responses(304))
def get_policy(request: Request, svc: Svc, me: Me, slug: SlugPath) -> Response:
    """What the tenant's users may share, and how."""
    authz.require_tenant_admin(me, slug)
    return json_response(request, policy_item(svc.tenants.policy(slug)))


@router.patch("/tenants/{slug}/policy", response_model=PolicyItem)
def change_policy(svc: Svc, me: Me, slug: SlugPath, change: PolicyChange) -> PolicyItem:
    """Change the sharing policy."""
    authz.require_tenant_admin(me, slug)
    share_with = change.share_with
    policy = svc.tenants.set_policy(
        slug,
        share_with=",".join(share_with) if isinstance(share_with, list) else share_with,
        links=change.links,
        link_password_required=change.link_password_required,
        link_max_days=change.link_max_days
        if "link_max_days" in change.model_fields_set
        else "unset",
        auto_accept=change.auto_accept,
        members_invite=change.members_invite,
        actor=me.login,
    )
    return policy_item(policy)
