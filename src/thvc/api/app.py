"""The JSON API (``/api/v1``): FastAPI over the same core as every other adapter.

``create_api`` builds it; ``thvc.app`` mounts it. The OpenAPI 3.1 document is at
``/api/v1/openapi.json`` and its rendering at ``/api/v1/docs``; resumable uploads
are the tus endpoint's, ``/api/v1/uploads``, mounted before this app.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from thvc import __version__
from thvc.api import (
    audit,
    docs,
    downloads,
    files,
    guests,
    links,
    me,
    operator,
    problems,
    shares,
    spaces,
    tenant_admin,
    trash,
)
from thvc.services import Services
from thvc.settings import Settings

PREFIX = "/api/v1"
# JSON bodies here are small (no file content: uploads go to tus); a larger one is refused
# before it is read into memory.
MAX_BODY = 1 << 20

DESCRIPTION = """\
ThVC's API for scripts and other systems: your account, your files (by path, as
WebDAV shows them), shares and public links, team spaces, and — for tenant admins
and the operator — users, groups, policies, tenants, usage and the audit trail.
Authenticate with HTTP Basic (login and password or app password), an app password
as a bearer token, or the web session cookie (with X-CSRF-Token on changes).
Lists are paged with `limit` and `cursor`; errors are application/problem+json.
Uploads: tus at /api/v1/uploads."""

TAGS = [
    {"name": "me", "description": "Your account, password and app passwords."},
    {"name": "files", "description": "Files and folders by path in your tree, and versions."},
    {"name": "trash", "description": "Deleted items of your own space."},
    {"name": "shares", "description": "Shares with users and groups, given and received."},
    {"name": "links", "description": "Public links: read, read-write, or upload-only drops."},
    {"name": "spaces", "description": "Team spaces."},
    {"name": "guests", "description": "Inviting external people."},
    {
        "name": "tenant administration",
        "description": "For a tenant's admins (and the operator): users, groups, policy, usage.",
    },
    {"name": "operator", "description": "For the platform operator: tenants and their usage."},
    {"name": "audit", "description": "The audit trail (tenant admins: their tenant's)."},
]

# FastAPI would export traces and metrics if the environment asked it to; ThVC sends
# nothing anywhere (docs/architecture: no telemetry, no call home).
NO_TELEMETRY: Any = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


class ThvcApi(FastAPI):
    """FastAPI, with error answers documented as ``application/problem+json``."""

    def openapi(self) -> dict[str, Any]:
        doc = super().openapi()
        for item in doc.get("paths", {}).values():
            for op in item.values():
                for status, resp in op.get("responses", {}).items():
                    content = resp.get("content", {})
                    if str(status)[0] in "45" and "application/json" in content:
                        resp["content"] = {problems.MEDIA_TYPE: content["application/json"]}
        return doc


def _operation_id(route: APIRoute) -> str:
    # The handler's name: listFolder-style ids without the path and method appended.
    return route.name


def build_api() -> FastAPI:
    """The API's routes, documents and error handling (services come with create_api)."""
    app = ThvcApi(
        title="ThVC API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        servers=[{"url": PREFIX}],
        openapi_tags=TAGS,
        generate_unique_id_function=_operation_id,
        telemetry=NO_TELEMETRY,
    )
    for module in (
        me,
        files,
        downloads,
        trash,
        shares,
        links,
        spaces,
        guests,
        tenant_admin,
        operator,
        audit,
        docs,
    ):
        app.include_router(module.router)
    problems.install(app)
    return app


class Mounted:
    """Run ``app`` under ``prefix`` as Starlette's Mount would: the prefix becomes the
    scope's ``root_path``, so routes and the OpenAPI paths are relative to it.

    Request bodies larger than ``max_body`` are refused (413, as a problem document):
    at once if Content-Length says so, else when the bytes received pass the limit.
    """

    def __init__(self, app: ASGIApp, prefix: str, *, max_body: int) -> None:
        assert prefix.startswith("/") and not prefix.endswith("/")
        self.app = app
        self.prefix = prefix
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = {**scope, "root_path": scope.get("root_path", "") + self.prefix}
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            response = problems.problem(
                Request(scope), 413, "about:blank", "Content Too Large", self._too_large
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                # Raised into the handler reading the body; answered by the problem handler.
                raise HTTPException(413, self._too_large)
            return message

        await self.app(scope, limited, send)

    @property
    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body // 1024} KiB"


def create_api(settings: Settings, services: Services) -> ASGIApp:
    app = build_api()
    app.state.settings = settings
    app.state.services = services
    return Mounted(app, PREFIX, max_body=MAX_BODY)
