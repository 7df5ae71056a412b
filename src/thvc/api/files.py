"""``/files``: folders and files by their path in the caller's tree, and their versions.

The tree is the one WebDAV shows under ``/dav/files/{login}/``: the caller's own
space, with their team spaces and the items shared with them mounted in the
root. Paths are given in a ``path`` parameter (``/Akten/Plan.pdf``), so that any
name a file may have is addressable without escaping rules of our own.
"""

from __future__ import annotations

import string
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from thvc.accounts.services import Principal
from thvc.api.auth import Me
from thvc.api.deps import Client, Svc
from thvc.api.etags import if_match, json_response
from thvc.api.fields import FilePath, Id, ItemType, Line, Permission, permission_names
from thvc.api.pagination import Cursor, Limit, Page, micros, paginate
from thvc.api.problems import COMMON, responses
from thvc.errors import AlreadyExists, InvalidName, PreconditionFailed
from thvc.files import paths
from thvc.files.errors import NodeNotFound, NotCollection
from thvc.files.services import Entry, Location, MountKind
from thvc.services import Services
from thvc.sharing.services import TYPE_EMAIL, TYPE_GROUP, TYPE_LINK, TYPE_USER

router = APIRouter(tags=["files"], responses=COMMON)

PathQuery = Annotated[
    str,
    Query(
        max_length=65_536,
        description='A path in your tree, e.g. "/Akten/Plan.pdf"',
        examples=["/Akten"],
    ),
]
SHARE_TYPES: dict[int, Literal["user", "group", "link", "email"]] = {
    TYPE_USER: "user",
    TYPE_GROUP: "group",
    TYPE_LINK: "link",
    TYPE_EMAIL: "email",
}
ORIGINS: dict[MountKind, Literal["own", "team-space", "shared-with-me"]] = {
    MountKind.NONE: "own",
    MountKind.GROUP: "team-space",
    MountKind.SHARED: "shared-with-me",
}


class FileItem(BaseModel):
    """A file or folder as the caller sees it."""

    id: int = Field(description="The file id: stays the same across renames and moves")
    name: str = Field(description='The last segment of the path ("" for your root)')
    path: str
    type: ItemType
    size: int = Field(description="Bytes; for a folder, everything below it")
    modified: datetime
    created: datetime
    etag: str = Field(description="Changes with the content (a folder's: with anything below)")
    content_type: str | None
    sha256: str | None
    permissions: list[Permission] = Field(description="What you may do with it")
    owner: str = Field(description="Whose it is: a login, or a team space's name")
    origin: Literal["own", "team-space", "shared-with-me"] = Field(
        description="Where it lives: your space, a team space, or an item shared with you"
    )
    is_mount: bool = Field(
        description="The top of a team space or of a share in your root (not movable)"
    )
    shared_by_me: list[Literal["user", "group", "link", "email"]] = Field(
        description="How it is shared with others"
    )


class FolderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: FilePath


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: FilePath = Field(alias="from")
    target: FilePath = Field(alias="to")
    overwrite: bool = Field(
        default=False, description="Replace what is at `to` (it goes to the trash)"
    )


class SearchResult(BaseModel):
    items: list[FileItem]
    truncated: bool = Field(description="More matched than `limit`: narrow the search")


class VersionItem(BaseModel):
    """An earlier content of a file."""

    id: int
    size: int
    sha256: str
    modified: datetime = Field(description="The content's modification time")
    created: datetime = Field(description="When it stopped being the current content")
    author: str | None = Field(description="Who replaced it")


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _fold(text: str) -> str:
    """What the core's search ignores: the case of ASCII letters."""
    return text.translate(_ASCII_LOWER)


def segments_of(path: str) -> list[str]:
    """``/a/b`` -> ``["a", "b"]``, each name checked (InvalidName, a 400, if not allowed)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) > paths.MAX_DEPTH:
        raise InvalidName("the path is too deep")
    return [paths.check_name(p) for p in parts]


def locate(svc: Services, me: Principal, path: str) -> Location:
    return svc.files.locate(me, me.login, segments_of(path))


def item(e: Entry) -> FileItem:
    return FileItem(
        id=e.id,
        name=e.name,
        path="/" + "/".join(e.segments),
        type="folder" if e.is_dir else "file",
        size=e.size,
        modified=e.mtime,
        created=e.created_at,
        etag=e.etag,
        content_type=e.content_type,
        sha256=e.sha256,
        permissions=permission_names(e.perms),
        owner=e.owner,
        origin=ORIGINS[e.mount_type],
        is_mount=e.is_mount,
        shared_by_me=[SHARE_TYPES[t] for t in e.share_types if t in SHARE_TYPES],
    )


SORT_KEYS = {
    # The name again after each key: keys must be unique, and names are in a folder.
    "name": lambda e: (e.name.casefold(), e.name),
    "size": lambda e: (e.size, e.name),
    "modified": lambda e: (micros(e.mtime), e.name),
}
SORT_KINDS = {"name": (str, str), "size": (int, str), "modified": (int, str)}


@router.get("/files", response_model=Page[FileItem], responses=responses(409))
def list_folder(
    svc: Svc,
    me: Me,
    path: PathQuery = "/",
    sort: Literal["name", "size", "modified"] = "name",
    order: Literal["asc", "desc"] = "asc",
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[FileItem]:
    """The entries of a folder (your root by default), a page at a time."""
    folder, kids = svc.files.listing(locate(svc, me, path))
    if not folder.is_dir:
        raise NotCollection("this is a file: GET /files/meta describes it")
    page, nxt = paginate(
        kids,
        SORT_KEYS[sort],
        scope=f"files:{sort}:{order}",
        kinds=SORT_KINDS[sort],
        limit=limit,
        cursor=cursor,
        descending=order == "desc",
    )
    return Page(items=[item(e) for e in page], next_cursor=nxt)


@router.get("/files/meta", response_model=FileItem, responses=responses(304))
def get_file_meta(request: Request, svc: Svc, me: Me, path: PathQuery) -> Response:
    """One file or folder; its ETag is the item's etag."""
    entry = svc.files.stat(locate(svc, me, path))
    return json_response(request, item(entry), etag=entry.etag)


@router.post(
    "/files/folders", status_code=201, response_model=FileItem, responses=responses(409, 423)
)
def create_folder(svc: Svc, me: Me, client: Client, body: FolderRequest) -> FileItem:
    """Create a folder; its parent must exist (409 if not, 409 if the name is taken)."""
    return item(svc.files.mkcol(locate(svc, me, body.path), actor=me, client=client))


def _transfer(
    svc: Services, me: Principal, client: str | None, body: TransferRequest, *, copy: bool
) -> FileItem:
    src, dst = locate(svc, me, body.source), locate(svc, me, body.target)
    try:
        if copy:
            svc.files.copy(src, dst, actor=me, overwrite=body.overwrite, client=client)
        else:
            svc.files.move(src, dst, actor=me, overwrite=body.overwrite, client=client)
    except PreconditionFailed:
        # The core speaks WebDAV's "Overwrite: F" here; for this API it is a plain 409.
        raise AlreadyExists(
            "something is at the destination already; send overwrite: true"
        ) from None
    return item(svc.files.stat(dst))


@router.post("/files/move", response_model=FileItem, responses=responses(409, 423, 507))
def move_item(svc: Svc, me: Me, client: Client, body: TransferRequest) -> FileItem:
    """Move or rename; the file id stays. Answers the item at its new path."""
    return _transfer(svc, me, client, body, copy=False)


@router.post("/files/copy", response_model=FileItem, responses=responses(409, 423, 507))
def copy_item(svc: Svc, me: Me, client: Client, body: TransferRequest) -> FileItem:
    """Copy a file or a folder with everything in it."""
    return _transfer(svc, me, client, body, copy=True)


@router.delete("/files", status_code=204, response_class=Response, responses=responses(412, 423))
def delete_item(request: Request, svc: Svc, me: Me, client: Client, path: PathQuery) -> None:
    """Move a file or folder to the trash (``If-Match: "<etag>"`` guards against changes).
    On a share in your root: leave the share."""
    svc.files.delete(locate(svc, me, path), actor=me, if_match=if_match(request), client=client)


@router.get("/files/search", response_model=SearchResult)
def search_files(
    svc: Svc,
    me: Me,
    q: Annotated[Line, Query(min_length=1, max_length=255, description="Part of a name")],
    path: PathQuery = "/",
    limit: Limit = 100,
) -> SearchResult:
    """Files and folders below ``path`` whose name contains ``q`` (ASCII case ignored).
    From your root, team spaces and shares are searched too."""
    loc = locate(svc, me, path)
    found = svc.files.search(loc, q, limit + 1)
    if loc.is_user_root:
        mounted = {m.name for m in loc.mounts}
        # An own folder a team space hides is not reachable by its path: leave it out.
        found = [e for e in found if e.segments[0] not in mounted]
        for m in loc.mounts:
            try:
                top = locate(svc, me, "/" + m.name)
                found += svc.files.search(top, q, limit + 1)
                if _fold(q.strip()) in _fold(m.name):
                    found.append(svc.files.stat(top))
            except NodeNotFound:
                continue  # the shared item is in its owner's trash
        found.sort(key=lambda e: e.segments)
    return SearchResult(items=[item(e) for e in found[:limit]], truncated=len(found) > limit)


@router.get("/files/versions", response_model=Page[VersionItem], responses=responses(409))
def list_versions(
    svc: Svc, me: Me, path: PathQuery, limit: Limit = 100, cursor: Cursor = None
) -> Page[VersionItem]:
    """The earlier contents of a file, newest first."""
    versions = svc.files.list_versions(locate(svc, me, path))
    page, nxt = paginate(
        versions,
        lambda v: (v.id,),
        scope="versions",
        kinds=(int,),
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return Page(
        items=[
            VersionItem(
                id=v.id,
                size=v.size,
                sha256=v.sha256,
                modified=v.mtime,
                created=v.created_at,
                author=v.author,
            )
            for v in page
        ],
        next_cursor=nxt,
    )


@router.post(
    "/files/versions/{version_id}/restore",
    response_model=FileItem,
    responses=responses(409, 423, 507),
)
def restore_version(svc: Svc, me: Me, client: Client, version_id: Id, path: PathQuery) -> FileItem:
    """Make an earlier version current; the current content becomes a version."""
    return item(
        svc.files.restore_version(locate(svc, me, path), version_id, actor=me, client=client)
    )
