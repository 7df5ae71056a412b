"""``/links``: public links to files and folders (read, read-write, or a file drop).

The tenants' link policy (allowed at all, password required, longest lifetime)
is applied by the sharing core. A link's token is in its answers (the owner's
"copy link"), its password never.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from thvc.api.auth import Me
from thvc.api.deps import Client, Config, Svc
from thvc.api.etags import json_response
from thvc.api.fields import (
    ID_MAX,
    FilePath,
    Id,
    ItemType,
    Moment,
    Permission,
    Text,
    permission_names,
)
from thvc.api.files import locate
from thvc.api.pagination import Cursor, Limit, Page, paginate
from thvc.api.problems import COMMON, responses
from thvc.api.shares import Label, Note
from thvc.settings import Settings
from thvc.sharing.models import LinkKind
from thvc.sharing.services import LinkInfo

router = APIRouter(tags=["links"], responses=COMMON)

# Where the link pages are (thvc.web.links serves them; adapters do not import each other).
LINK_PATH = "/s/"
LinkPassword = Annotated[Text, Field(min_length=1, max_length=1024)]
MaxDownloads = Annotated[int, Field(ge=1, le=ID_MAX)]


class LinkItem(BaseModel):
    """A public link."""

    id: int
    file_id: int
    name: str
    type: ItemType
    kind: LinkKind = Field(description="read; read-write (folders); drop: upload only (folders)")
    url: str = Field(description="The link as visitors open it")
    token: str
    permissions: list[Permission] = Field(description="What a visitor may do")
    has_password: bool
    expires_at: datetime | None
    max_downloads: int | None
    downloads: int
    note: str
    label: str
    created_at: datetime
    sharer: str


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: FilePath
    kind: LinkKind = LinkKind.READ
    password: LinkPassword | None = None
    expires_at: Moment | None = None
    max_downloads: MaxDownloads | None = None
    note: Note = ""
    label: Label = ""


class LinkChange(BaseModel):
    """What to change; what is not sent stays. ``null`` removes a password, an expiry or
    a download limit."""

    model_config = ConfigDict(extra="forbid")

    kind: LinkKind | None = None
    password: LinkPassword | None = None
    expires_at: Moment | None = None
    max_downloads: MaxDownloads | None = None
    note: Note | None = None
    label: Label | None = None


def base_url(request: Request, settings: Settings) -> str:
    """The configured public address, or (without one) the address this request came to."""
    if "base_url" in settings.model_fields_set:
        return settings.base_url.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"


def link_item(info: LinkInfo, base: str) -> LinkItem:
    return LinkItem(
        id=info.id,
        file_id=info.node_id,
        name=info.name,
        type="folder" if info.is_dir else "file",
        kind=info.kind,
        url=f"{base}{LINK_PATH}{info.token}",
        token=info.token,
        permissions=permission_names(info.permissions),
        has_password=info.has_password,
        expires_at=info.expires_at,
        max_downloads=info.max_downloads,
        downloads=info.downloads,
        note=info.note,
        label=info.label,
        created_at=info.created_at,
        sharer=info.sharer,
    )


@router.get("/links", response_model=Page[LinkItem])
def list_links(
    request: Request,
    svc: Svc,
    settings: Config,
    me: Me,
    path: Annotated[str | None, Query(max_length=65_536, description="Only this item's")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[LinkItem]:
    """Your links, and links others made to your files."""
    loc = locate(svc, me, path) if path is not None else None
    page, nxt = paginate(
        svc.sharing.links_by(me, loc),
        lambda i: (i.id,),
        scope="links",
        kinds=(int,),
        limit=limit,
        cursor=cursor,
    )
    base = base_url(request, settings)
    return Page(items=[link_item(i, base) for i in page], next_cursor=nxt)


@router.post("/links", status_code=201, response_model=LinkItem)
def create_link(
    request: Request, svc: Svc, settings: Config, me: Me, client: Client, body: LinkRequest
) -> LinkItem:
    """Make a public link to a file or folder."""
    info = svc.sharing.create_link(
        me,
        locate(svc, me, body.path),
        kind=body.kind,
        password=body.password,
        expires_at=body.expires_at,
        max_downloads=body.max_downloads,
        note=body.note,
        label=body.label,
        client=client,
    )
    return link_item(info, base_url(request, settings))


@router.get("/links/{link_id}", response_model=LinkItem, responses=responses(304))
def get_link(request: Request, svc: Svc, settings: Config, me: Me, link_id: Id) -> Response:
    """One of your links."""
    info = svc.sharing.get_link(me, link_id)
    return json_response(request, link_item(info, base_url(request, settings)))


@router.patch("/links/{link_id}", response_model=LinkItem)
def change_link(
    request: Request,
    svc: Svc,
    settings: Config,
    me: Me,
    client: Client,
    link_id: Id,
    change: LinkChange,
) -> LinkItem:
    """Change a link; the tenants' link policy applies again."""
    sent = change.model_fields_set
    info = svc.sharing.update_link(
        me,
        link_id,
        password=change.password if "password" in sent else False,
        expires_at=change.expires_at if "expires_at" in sent else False,
        max_downloads=change.max_downloads if "max_downloads" in sent else False,
        kind=change.kind,
        note=change.note,
        label=change.label,
        client=client,
    )
    return link_item(info, base_url(request, settings))


@router.delete("/links/{link_id}", status_code=204, response_class=Response)
def delete_link(svc: Svc, me: Me, client: Client, link_id: Id) -> None:
    """Revoke a link: it stops working at once."""
    svc.sharing.delete_link(me, link_id, client=client)
