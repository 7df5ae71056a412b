"""``/spaces``: team spaces, folders a tenant's members share by role.

Creating a space and choosing its members are administrative changes: the
file core performs them without asking who calls, so ``thvc.accounts.authz``
(the check the web console calls too) says who may, first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response

from thvc.accounts import authz
from thvc.accounts.services import Principal
from thvc.api.auth import Me
from thvc.api.deps import Svc
from thvc.api.fields import Bytes, Line, LocalName, Login, Permission, Slug, permission_names
from thvc.api.pagination import Cursor, Limit, Page, paginate
from thvc.api.problems import COMMON, responses
from thvc.files.models import SpaceRole
from thvc.files.services import MountKind

router = APIRouter(tags=["spaces"], responses=COMMON)

SpaceName = Annotated[Line, Field(min_length=1, max_length=255)]
SpacePath = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]


class SpaceItem(BaseModel):
    """A team space you are a member of (directly or through a group)."""

    name: str
    path: str = Field(description="Where it is in your tree")
    permissions: list[Permission] = Field(description="What your role lets you do in it")
    used_bytes: int
    available_bytes: int | None = Field(description="null: no limit")


class SpaceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SpaceName
    quota_bytes: Bytes | None = None
    tenant: Slug | None = Field(default=None, description="Default: your tenant")


class SpaceCreated(BaseModel):
    name: str
    tenant: str
    quota_bytes: int | None


class MemberRequest(BaseModel):
    """A user or a group of the space's tenant, and the role they get (or now have)."""

    model_config = ConfigDict(extra="forbid")

    user: Login | None = None
    group: LocalName | None = None
    role: SpaceRole
    tenant: Slug | None = Field(default=None, description="The space's tenant; default: yours")

    @model_validator(mode="after")
    def _one_member(self) -> MemberRequest:
        if (self.user is None) == (self.group is None):
            raise ValueError("give either user or group")
        return self


def _tenant(me: Principal, slug: str | None) -> str:
    """The tenant the request is about, once the caller may administer it."""
    slug = slug or authz.tenant_slug_of(me)
    authz.require_tenant_admin(me, slug)
    return slug


@router.get("/spaces", response_model=Page[SpaceItem])
def list_spaces(svc: Svc, me: Me, limit: Limit = 100, cursor: Cursor = None) -> Page[SpaceItem]:
    """Your team spaces, as they appear in your root."""
    root = svc.files.locate(me, me.login, [])
    teams = [m for m in root.mounts if m.kind is MountKind.GROUP]
    page, nxt = paginate(
        teams, lambda m: (m.name,), scope="spaces", kinds=(str,), limit=limit, cursor=cursor
    )
    items = []
    for m in page:
        used, available = svc.files.quota(svc.files.locate(me, me.login, [m.name]))
        items.append(
            SpaceItem(
                name=m.name,
                path="/" + m.name,
                permissions=permission_names(m.perms),
                used_bytes=used,
                available_bytes=available,
            )
        )
    return Page(items=items, next_cursor=nxt)


@router.post("/spaces", status_code=201, response_model=SpaceCreated, responses=responses(409))
def create_space(svc: Svc, me: Me, body: SpaceRequest) -> SpaceCreated:
    """Create a team space (tenant admins; the operator in any tenant). It has no members
    yet: add them with PUT /spaces/{name}/members."""
    slug = _tenant(me, body.tenant)
    space = svc.files.create_team_space(
        slug, body.name, quota_bytes=body.quota_bytes, actor=me.login
    )
    return SpaceCreated(name=space.name, tenant=slug, quota_bytes=space.quota_bytes)


@router.put("/spaces/{name}/members", status_code=204, response_class=Response)
def set_space_member(svc: Svc, me: Me, name: SpacePath, body: MemberRequest) -> None:
    """Make a user or group a member of a team space, or change their role."""
    slug = _tenant(me, body.tenant)
    svc.files.set_space_member(
        slug, name, role=body.role, user_login=body.user, group=body.group, actor=me.login
    )
