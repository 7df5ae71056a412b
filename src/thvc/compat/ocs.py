"""The OCS envelope and dispatch, as Nextcloud answers under ``/ocs/v1.php`` and ``v2.php``.

Every answer is ``<ocs><meta/><data/></ocs>``, XML unless ``?format=json``
or ``Accept: application/json`` asks for JSON. ``meta`` carries ``status``
(``ok`` or ``failure``), ``statuscode``, ``message``, ``totalitems`` and
``itemsperpage``. The two versions differ in their codes:

- v1: ``statuscode`` 100 for success, 997 unauthorised, 998 not found; the
  HTTP status is 200 even for a failure the endpoint reports, except 401
  for a missing or wrong login (that is how Nextcloud's ``V1Response`` does it).
- v2: ``statuscode`` is the HTTP status: 200, 401, 404, ...

Unknown paths are 404 in OCS shape under both versions.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from thvc.accounts.services import Principal
from thvc.compat.auth import CHALLENGE, authenticate
from thvc.errors import (
    BadRequest,
    Forbidden,
    NotAuthenticated,
    NotFound,
    ThvcError,
    TooManyFailedLogins,
)
from thvc.services import Services

log = logging.getLogger("thvc.compat")

OK_V1 = 100
UNAUTHORISED_V1 = 997
NOT_FOUND_V1 = 998
SERVER_ERROR_V1 = 996
XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")


class UnknownEndpoint(NotFound):
    """No such OCS endpoint."""


class Reported(ThvcError):
    """An endpoint's own failure with the code Nextcloud's controller gives it
    (``OCSBadRequestException`` 400, ``OCSForbiddenException`` 403,
    ``OCSNotFoundException`` 404): v1 puts the code in ``statuscode`` and answers
    HTTP 200 (``V1Response``), v2 answers with it as the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class MethodNotAllowed(BadRequest):
    """The endpoint exists but does not take this method."""

    def __init__(self, allow: list[str]) -> None:
        super().__init__(f"use {', '.join(allow)}")
        self.allow = allow


# -- the envelope ----------------------------------------------------------


def wants_json(request: Request) -> bool:
    """``?format=json`` or ``?format=xml`` decide; otherwise the Accept header does."""
    fmt = request.query_params.get("format")
    if fmt is not None:
        return fmt.lower() == "json"
    return "application/json" in request.headers.get("accept", "").lower()


def _xml(value: Any, indent: str) -> str:
    """PHP's XMLWriter rendering, which the OCS clients were written against.

    Lists become ``<element>`` items, true is ``1`` and false or null empty.
    """
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, list | tuple):
        items = [("element", v) for v in value]
    elif value is True:
        return "1"
    elif value is False or value is None:
        return ""
    else:
        return escape(str(value), quote=False)
    if not items:
        return ""
    lines = []
    for key, item in items:
        name = key if isinstance(key, str) and XML_NAME.match(key) else "element"
        inner = _xml(item, indent + " ")
        if inner and isinstance(item, Mapping | list | tuple):
            lines.append(f"{indent}<{name}>{inner}{indent}</{name}>\n")
        elif inner:
            lines.append(f"{indent}<{name}>{inner}</{name}>\n")
        else:
            lines.append(f"{indent}<{name}/>\n")
    return "\n" + "".join(lines)


def render(
    request: Request,
    *,
    status: str,
    statuscode: int,
    message: str,
    data: Any,
    http_status: int,
    headers: Mapping[str, str] | None = None,
) -> Response:
    meta = {
        "status": status,
        "statuscode": statuscode,
        "message": message,
        "totalitems": "",
        "itemsperpage": "",
    }
    empty = data is None or data == {} or data == []
    hdrs = {"Cache-Control": "no-store", **(headers or {})}
    if wants_json(request):
        body = json.dumps(
            {"ocs": {"meta": meta, "data": [] if empty else data}},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return Response(body, http_status, hdrs, media_type="application/json; charset=utf-8")
    text = (
        '<?xml version="1.0"?>\n<ocs>\n <meta>'
        + _xml(meta, "  ")
        + " </meta>\n"
        + (" <data/>\n" if empty else f" <data>{_xml(data, '  ')} </data>\n")
        + "</ocs>\n"
    )
    return Response(text, http_status, hdrs, media_type="application/xml; charset=utf-8")


def ok(request: Request, version: int, data: Any) -> Response:
    return render(
        request,
        status="ok",
        statuscode=OK_V1 if version == 1 else 200,
        message="OK",
        data=data,
        http_status=200,
    )


def failure(
    request: Request,
    version: int,
    status: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    reported: bool = False,
) -> Response:
    """A failure answer. ``reported``: the endpoint ran and says so (v1 then answers HTTP 200)."""
    if version == 1:
        code = {401: UNAUTHORISED_V1, 403: UNAUTHORISED_V1, 404: NOT_FOUND_V1}.get(
            status, SERVER_ERROR_V1 if status >= 500 else status
        )
        http_status = 200 if reported and status not in (401, 429) else status
    else:
        code = http_status = status
    return render(
        request,
        status="failure",
        statuscode=code,
        message=message,
        data=None,
        http_status=http_status,
        headers=headers,
    )


def error_response(request: Request, version: int, exc: Exception) -> Response:
    """Core errors to OCS answers, decided once, on the error families."""
    if isinstance(exc, Reported):
        return render(
            request,
            status="failure",
            statuscode=exc.status,
            message=exc.message,
            data=None,
            http_status=200 if version == 1 else exc.status,
        )
    if isinstance(exc, MethodNotAllowed):
        return failure(request, version, 405, exc.message, headers={"Allow": ", ".join(exc.allow)})
    if isinstance(exc, UnknownEndpoint):
        return failure(
            request, version, 404, "Invalid query, please check the syntax: no such endpoint"
        )
    if isinstance(exc, TooManyFailedLogins):
        return failure(
            request, version, 429, exc.message, headers={"Retry-After": str(exc.resets_in)}
        )
    if isinstance(exc, NotAuthenticated):
        return failure(request, version, 401, exc.message, headers=CHALLENGE)
    if isinstance(exc, NotFound):
        return failure(request, version, 404, exc.message, reported=True)
    if isinstance(exc, Forbidden):
        return failure(request, version, 403, exc.message, reported=True)
    if isinstance(exc, BadRequest):
        return failure(request, version, 400, exc.message)
    if isinstance(exc, ThvcError):
        return failure(request, version, 400, exc.message)
    log.error("unexpected error in the OCS API", exc_info=exc)
    return failure(request, version, 500, "internal server error")


# -- dispatch --------------------------------------------------------------


@dataclass(frozen=True)
class OcsRequest:
    """One OCS call: the request, its version, the path's parameters and the services."""

    request: Request
    version: int
    svc: Services
    params: dict[str, str] = field(default_factory=dict)

    async def caller(self) -> Principal | None:
        """The authenticated caller, or None for an anonymous request."""
        return await authenticate(self.request, self.svc.accounts)

    async def actor(self) -> Principal:
        """The authenticated caller; NotAuthenticated (401) without credentials."""
        who = await self.caller()
        if who is None:
            raise NotAuthenticated("authentication required")
        return who


Endpoint = Callable[[OcsRequest], Awaitable[Any]]


@dataclass(frozen=True)
class OcsRoute:
    """``/cloud/users/{id}`` -> a pattern whose ``{name}`` parts match one path segment."""

    method: str
    path: str
    endpoint: Endpoint

    @property
    def pattern(self) -> re.Pattern[str]:
        parts = re.split(r"\{(\w+)\}", self.path)
        rx = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
        return re.compile(f"^{rx}/?$")


class OcsApp:
    """An ASGI app for one OCS version, mounted at ``/ocs/v{version}.php``."""

    def __init__(self, prefix: str, version: int, routes: list[OcsRoute], *, svc: Services) -> None:
        assert version in (1, 2), "OCS has versions 1 and 2"
        assert prefix.startswith("/") and not prefix.endswith("/")
        self.prefix = prefix
        self.version = version
        self.svc = svc
        self.routes = [(r.pattern, r) for r in routes]

    def _find(self, method: str, path: str) -> tuple[OcsRoute, dict[str, str]]:
        allow: list[str] = []
        for pattern, route in self.routes:
            m = pattern.match(path)
            if m is None:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, m.groupdict()
            if route.method not in allow:
                allow.append(route.method)
        if allow:
            raise MethodNotAllowed(allow)
        raise UnknownEndpoint()

    async def handle(self, request: Request) -> Response:
        # Already percent-decoded; Starlette's Mount may or may not have cut the prefix.
        path = request.scope["path"]
        if path.startswith(self.prefix + "/"):
            path = path[len(self.prefix) :]
        try:
            fmt = request.query_params.get("format")
            if fmt is not None and fmt.lower() not in ("json", "xml"):
                raise BadRequest(f"unknown format {fmt!r}: use json or xml")
            route, params = self._find(request.method.upper(), path)
            data = await route.endpoint(OcsRequest(request, self.version, self.svc, params))
        except Exception as exc:  # mapped once, here
            return error_response(request, self.version, exc)
        return ok(request, self.version, data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)
