"""``/audit``: the audit trail, to read in pages or to export whole as JSON lines.

A tenant admin sees their tenant's events, the operator everyone's (or one
tenant's with ``?tenant=``). Events are appended under the chain's head lock,
so ``at`` grows with ``seq``: the time window is applied while walking back in
``seq`` order, and the walk stops at the first event before ``from``.
"""

from __future__ import annotations

import contextlib
import io
import json
import queue
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, TextIO, cast

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import Response, StreamingResponse

from thvc.accounts import authz
from thvc.accounts.services import Principal
from thvc.api.auth import Me
from thvc.api.deps import Svc
from thvc.api.fields import Moment
from thvc.api.pagination import Cursor, Limit, Page, decode, encode
from thvc.api.problems import COMMON
from thvc.audit import AuditEvent, export, query
from thvc.audit.services import QUERY_LIMIT_MAX
from thvc.services import Services

router = APIRouter(tags=["audit"], responses=COMMON)

Since = Annotated[
    Moment | None, Query(alias="from", description="Events at or after this time (with zone)")
]
Until = Annotated[Moment | None, Query(alias="to", description="Events before this time")]
Tenant = Annotated[
    str | None,
    Query(
        max_length=63,
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
        description="Operator: only this tenant's events",
    ),
]
# Sent in pieces of about this size: few enough thread hops, little memory.
EXPORT_CHUNK = 256 * 1024


class AuditItem(BaseModel):
    """One event of the hash-chained trail."""

    seq: int
    at: datetime
    tenant_id: int | None
    actor: str | None
    client: str | None
    action: str
    target: str | None
    outcome: str
    detail: Any = Field(description="What else was recorded (a JSON object)")
    prev_hash: str
    hash: str


def _item(e: AuditEvent) -> AuditItem:
    try:
        detail: Any = json.loads(e.detail)
    except ValueError:
        detail = e.detail  # damaged: shown as stored, so that the hash can be checked
    return AuditItem(
        seq=e.seq,
        at=e.at,
        tenant_id=e.tenant_id,
        actor=e.actor,
        client=e.client,
        action=e.action,
        target=e.target,
        outcome=e.outcome,
        detail=detail,
        prev_hash=e.prev_hash,
        hash=e.hash,
    )


def _tenant_scope(svc: Services, me: Principal, tenant: str | None) -> int | None:
    """Whose events the caller may read: None (all) for the operator without ``tenant``."""
    if me.is_operator and tenant is None:
        return None
    if tenant is None:
        authz.require_tenant_admin(me, me.tenant_id)
        return me.tenant_id
    authz.require_tenant_admin(me, tenant)
    with svc.db.read() as s:
        return svc.tenants.get(s, tenant).id


@router.get("/audit", response_model=Page[AuditItem])
def list_audit(
    svc: Svc,
    me: Me,
    since: Since = None,
    until: Until = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None,
    actor: Annotated[str | None, Query(max_length=320, pattern=r"^[^\x00]*$")] = None,
    tenant: Tenant = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[AuditItem]:
    """Events, newest first, filtered by time, action and actor."""
    tenant_id = _tenant_scope(svc, me, tenant)
    before = int(decode(cursor, "audit", (int,))[0]) if cursor else None
    found: list[AuditItem] = []
    with svc.db.read() as s:
        while len(found) <= limit:
            rows = query(
                s,
                tenant_id=tenant_id,
                actor=actor,
                action=action,
                limit=QUERY_LIMIT_MAX,
                before_seq=before,
            )
            done = len(rows) < QUERY_LIMIT_MAX
            for e in rows:
                before = e.seq
                if until is not None and e.at >= until:
                    continue
                if since is not None and e.at < since:
                    done = True
                    break
                found.append(_item(e))
                if len(found) > limit:
                    break
            if done:
                break
    page = found[:limit]
    more = len(found) > limit
    return Page(items=page, next_cursor=encode("audit", (page[-1].seq,)) if more else None)


class _Stopped(Exception):
    """The client went away: the export stops."""


class _Pipe(io.TextIOBase):
    """What ``export`` writes to: chunks handed to the response through a bounded queue,
    so that memory stays at a few chunks however long the trail."""

    def __init__(self, out: queue.Queue[bytes | BaseException | None], stop: threading.Event):
        self.out = out
        self.stop = stop
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= EXPORT_CHUNK:
            self.send_parts()
        return len(text)

    def send_parts(self) -> None:
        if self.parts:
            self.put("".join(self.parts).encode())
            self.parts.clear()
            self.size = 0

    def put(self, item: bytes | BaseException | None) -> None:
        while True:
            if self.stop.is_set():
                raise _Stopped()
            try:
                self.out.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


def _export(
    svc: Services, tenant_id: int | None, since: datetime | None, until: datetime | None
) -> Iterator[bytes]:
    """The export as chunks. One read transaction, on a thread of its own for the whole
    export (a transaction cannot hop between the pool's threads between chunks)."""
    out: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=4)
    stop = threading.Event()
    pipe = _Pipe(out, stop)

    def produce() -> None:
        try:
            with svc.db.read() as s:
                export(s, cast(TextIO, pipe), tenant_id=tenant_id, since=since, until=until)
            pipe.send_parts()
            pipe.put(None)
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the response, which ends the connection
            with contextlib.suppress(_Stopped):
                pipe.put(exc)

    worker = threading.Thread(target=produce, name="thvc-audit-export", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


@router.get(
    "/audit/export",
    response_class=Response,
    responses={
        200: {
            "description": "One event per line, oldest first, with both hashes",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
)
def export_audit(
    svc: Svc, me: Me, since: Since = None, until: Until = None, tenant: Tenant = None
) -> Response:
    """The trail as JSON lines (``thvc audit export``'s format), streamed. An export
    of everything (operator, no filters) can be rechecked as a chain."""
    tenant_id = _tenant_scope(svc, me, tenant)
    return StreamingResponse(
        _export(svc, tenant_id, since, until),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": 'attachment; filename="thvc-audit.jsonl"',
            "Cache-Control": "no-store",
        },
    )
