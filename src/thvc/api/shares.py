"""``/shares``: files and folders shared with users and groups, given and received.

Every rule (who may share what with whom, the tenants' policies, that a re-share
never grants more than its sharer holds) is the sharing core's; the same core
serves the Nextcloud clients' OCS Share API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import Response

from thvc.api.auth import Me
from thvc.api.deps import Client, Svc
from thvc.api.etags import json_response
from thvc.api.fields import (
    FilePath,
    Id,
    ItemType,
    Line,
    LocalName,
    Login,
    Moment,
    Permission,
    Text,
    permission_names,
    to_perm,
)
from thvc.api.files import locate
from thvc.api.pagination import Cursor, Limit, Page, paginate
from thvc.api.problems import COMMON, responses
from thvc.sharing.models import ShareState
from thvc.sharing.services import TYPE_USER, ShareInfo

router = APIRouter(tags=["shares"], responses=COMMON)

Label = Annotated[Line, Field(max_length=200)]
Note = Annotated[Text, Field(max_length=10_000)]
Permissions = Annotated[
    list[Permission],
    Field(min_length=1, max_length=5, description="At least read; share lets them share on"),
]


class ShareItem(BaseModel):
    """A share of a file or folder with a user or a group."""

    id: int
    share_type: Literal["user", "group"]
    file_id: int
    name: str
    type: ItemType
    owner: str = Field(description="Whose the item is (a login, or a team space's name)")
    sharer: str
    recipient: str = Field(description="A login, or a group's name")
    recipient_display: str
    permissions: list[Permission]
    state: ShareState
    expires_at: datetime | None
    note: str
    label: str
    created_at: datetime
    tenant: str = Field(description="The tenant the item belongs to")


class ShareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: FilePath
    user: Login | None = Field(default=None, description="Share with this user (any tenant)")
    group: LocalName | None = Field(default=None, description="Or with a group of your tenant")
    permissions: Permissions = [Permission.READ, Permission.SHARE]
    expires_at: Moment | None = None
    note: Note = ""
    label: Label = ""

    @model_validator(mode="after")
    def _one_recipient(self) -> ShareRequest:
        if (self.user is None) == (self.group is None):
            raise ValueError("give either user or group")
        return self


class ShareChange(BaseModel):
    """What to change; what is not sent stays. ``expires_at: null`` removes the expiry."""

    model_config = ConfigDict(extra="forbid")

    permissions: Permissions | None = None
    expires_at: Moment | None = None
    note: Note | None = None
    label: Label | None = None


def share_item(info: ShareInfo) -> ShareItem:
    return ShareItem(
        id=info.id,
        share_type="user" if info.share_type == TYPE_USER else "group",
        file_id=info.node_id,
        name=info.name,
        type="folder" if info.is_dir else "file",
        owner=info.owner,
        sharer=info.sharer,
        recipient=info.recipient,
        recipient_display=info.recipient_display,
        permissions=permission_names(info.permissions),
        state=info.state,
        expires_at=info.expires_at,
        note=info.note,
        label=info.label,
        created_at=info.created_at,
        tenant=info.tenant_slug,
    )


def _page(infos: list[ShareInfo], scope: str, limit: int, cursor: str | None) -> Page[ShareItem]:
    page, nxt = paginate(
        infos, lambda i: (i.id,), scope=scope, kinds=(int,), limit=limit, cursor=cursor
    )
    return Page(items=[share_item(i) for i in page], next_cursor=nxt)


@router.get("/shares", response_model=Page[ShareItem])
def list_shares(
    svc: Svc,
    me: Me,
    path: Annotated[str | None, Query(max_length=65_536, description="Only this item's")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[ShareItem]:
    """What you shared, and what others shared of your files."""
    loc = locate(svc, me, path) if path is not None else None
    return _page(svc.sharing.shares_by(me, loc), "shares", limit, cursor)


@router.post("/shares", status_code=201, response_model=ShareItem, responses=responses(409))
def create_share(svc: Svc, me: Me, client: Client, body: ShareRequest) -> ShareItem:
    """Share a file or folder with a user or a group."""
    info = svc.sharing.share(
        me,
        locate(svc, me, body.path),
        user=body.user,
        group=body.group,
        permissions=to_perm(body.permissions),
        expires_at=body.expires_at,
        note=body.note,
        label=body.label,
        client=client,
    )
    return share_item(info)


@router.get("/shares/received", response_model=Page[ShareItem])
def list_received_shares(
    svc: Svc,
    me: Me,
    state: Literal["accepted", "pending"] = "accepted",
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[ShareItem]:
    """Shares with you (or your groups): accepted ones, or those waiting for an answer."""
    infos = svc.sharing.shared_with(me, pending=state == "pending")
    return _page(infos, f"received:{state}", limit, cursor)


@router.get("/shares/{share_id}", response_model=ShareItem, responses=responses(304))
def get_share(request: Request, svc: Svc, me: Me, share_id: Id) -> Response:
    """One share you made, received, or that is of your file."""
    return json_response(request, share_item(svc.sharing.get_share(me, share_id)))


@router.patch("/shares/{share_id}", response_model=ShareItem)
def change_share(svc: Svc, me: Me, client: Client, share_id: Id, change: ShareChange) -> ShareItem:
    """Change permissions, expiry, note or label; narrower permissions narrow re-shares."""
    sent = change.model_fields_set
    info = svc.sharing.update_share(
        me,
        share_id,
        permissions=to_perm(change.permissions) if change.permissions is not None else None,
        expires_at=change.expires_at if "expires_at" in sent else False,
        note=change.note,
        label=change.label,
        client=client,
    )
    return share_item(info)


@router.delete("/shares/{share_id}", status_code=204, response_class=Response)
def delete_share(svc: Svc, me: Me, client: Client, share_id: Id) -> None:
    """Revoke a share (sharer or owner), or leave it (recipient)."""
    svc.sharing.delete_share(me, share_id, client=client)


@router.post("/shares/{share_id}/accept", response_model=ShareItem)
def accept_share(svc: Svc, me: Me, client: Client, share_id: Id) -> ShareItem:
    """Accept a share with you: it appears in your root."""
    return share_item(svc.sharing.respond(me, share_id, accept=True, client=client))


@router.post("/shares/{share_id}/decline", response_model=ShareItem)
def decline_share(svc: Svc, me: Me, client: Client, share_id: Id) -> ShareItem:
    """Decline (or later leave) a share with you."""
    return share_item(svc.sharing.respond(me, share_id, accept=False, client=client))
