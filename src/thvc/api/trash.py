"""``/trash``: what the caller deleted from their own space, getting it back, and
deleting one item for good before its time is up."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from thvc.api.auth import Me
from thvc.api.deps import Client, Svc
from thvc.api.fields import Id, ItemType
from thvc.api.pagination import Cursor, Limit, Page, micros, paginate
from thvc.api.problems import COMMON, responses

router = APIRouter(tags=["trash"], responses=COMMON)


class TrashItem(BaseModel):
    id: int = Field(description="Use it to restore the item")
    name: str
    original_path: str = Field(description="Where it was in your space")
    type: ItemType
    size: int
    trashed_at: datetime


class Restored(BaseModel):
    path: str = Field(description="Where it is now (its old place, or your root if taken)")


@router.get("/trash", response_model=Page[TrashItem])
def list_trash(svc: Svc, me: Me, limit: Limit = 100, cursor: Cursor = None) -> Page[TrashItem]:
    """Deleted items of your own space, most recently deleted first."""
    page, nxt = paginate(
        svc.files.list_trash(me),
        lambda t: (micros(t.trashed_at), t.id),
        scope="trash",
        kinds=(int, int),
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return Page(
        items=[
            TrashItem(
                id=t.id,
                name=t.path.rpartition("/")[2],
                original_path=t.path,
                type="folder" if t.is_dir else "file",
                size=t.size,
                trashed_at=t.trashed_at,
            )
            for t in page
        ],
        next_cursor=nxt,
    )


@router.post("/trash/{trash_id}/restore", response_model=Restored, responses=responses(507))
def restore_trash(svc: Svc, me: Me, client: Client, trash_id: Id) -> Restored:
    """Put an item back where it was (or in your root, if that place is gone or taken)."""
    return Restored(path=svc.files.restore_trash(me, trash_id, client=client))


@router.delete("/trash/{trash_id}", status_code=204, response_class=Response)
def purge_trash_item(svc: Svc, me: Me, client: Client, trash_id: Id) -> Response:
    """Delete one item of the trash for good (it cannot be restored afterwards)."""
    svc.files.purge_trash_item(me, trash_id, client=client)
    return Response(status_code=204)
