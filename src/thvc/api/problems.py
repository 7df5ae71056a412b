"""Errors as ``application/problem+json`` (RFC 9457), decided once, on the core's error families.

Every answer that is not a success is a problem document: ``type`` (a URI naming
the kind of problem), ``title`` (the same for every problem of that type),
``status``, ``detail`` (this occurrence, in the core's words) and ``instance``
(the request's path). Some types carry more: ``errors`` (the invalid fields of a
422), ``needed`` and ``available`` (507), ``retry_after`` (429).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from thvc.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Forbidden,
    InvalidName,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    ThvcError,
    TooManyFailedLogins,
)
from thvc.files.locks import Locked, LockTokenMismatch, NotLockOwner

log = logging.getLogger("thvc.api")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://thvc.invalid/problems/"
CHALLENGE = 'Basic realm="ThVC", charset="UTF-8"'


class InvalidField(BaseModel):
    """One reason a request was refused as invalid (422)."""

    loc: list[str | int] = Field(description='Where: ["query", "limit"], ["body", "path"], ...')
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem (or about:blank)")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The path of the request that failed")
    errors: list[InvalidField] | None = Field(default=None, description="422: the invalid fields")
    needed: int | None = Field(default=None, description="507: bytes the request needed")
    available: int | None = Field(default=None, description="507: bytes that were left")
    retry_after: int | None = Field(default=None, description="429: seconds to wait")


# Most specific first: the first family that matches decides status, type and title.
FAMILIES: list[tuple[type[Exception], int, str, str]] = [
    (TooManyFailedLogins, 429, "too-many-failed-logins", "Too many failed logins"),
    (NotAuthenticated, 401, "not-authenticated", "Authentication required"),
    (Locked, 423, "locked", "Locked"),
    (LockTokenMismatch, 409, "lock-token-mismatch", "Lock token does not match"),
    (NotLockOwner, 403, "forbidden", "Forbidden"),
    (NotFound, 404, "not-found", "Not found"),
    (Forbidden, 403, "forbidden", "Forbidden"),
    (AlreadyExists, 409, "already-exists", "Already exists"),
    (Conflict, 409, "conflict", "Conflict"),
    (PreconditionFailed, 412, "precondition-failed", "Precondition failed"),
    (QuotaExceeded, 507, "quota-exceeded", "Insufficient storage"),
    (InvalidName, 400, "invalid-name", "Invalid name"),
    (BadRequest, 400, "bad-request", "Bad request"),
    (ThvcError, 400, "bad-request", "Bad request"),
]


def problem(
    request: Request,
    status: int,
    kind: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    doc = Problem(
        type=TYPE_BASE + kind if kind != "about:blank" else kind,
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        **extra,
    )
    hdrs = {"Cache-Control": "no-store", **(headers or {})}
    if status == 401:
        # RFC 9110 §15.5.2: a 401 names the schemes that would do.
        hdrs["WWW-Authenticate"] = CHALLENGE
    body = doc.model_dump_json(exclude_none=True)
    return Response(body, status, headers=hdrs, media_type=MEDIA_TYPE)


def from_core(request: Request, exc: ThvcError) -> Response:
    status, kind, title = next((s, k, t) for c, s, k, t in FAMILIES if isinstance(exc, c))
    # An adapter's own refusal may name its problem more precisely than its family.
    kind = str(getattr(exc, "problem_type", kind))
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, TooManyFailedLogins):
        headers["Retry-After"] = str(exc.resets_in)
        extra["retry_after"] = exc.resets_in
    elif isinstance(exc, QuotaExceeded):
        extra.update(needed=exc.needed, available=exc.available)
    return problem(request, status, kind, title, exc.message, headers=headers, **extra)


def _validation_errors(exc: RequestValidationError) -> list[InvalidField]:
    # Only where and why: pydantic's "input" and "ctx" may hold the refused value itself
    # (a password, bytes that are no JSON), which an error answer must not echo.
    return [
        InvalidField(
            loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            msg=str(e.get("msg", "")),
            type=str(e.get("type", "")),
        )
        for e in exc.errors()
    ]


def install(app: FastAPI) -> None:
    """Map every error the API can meet to a problem document."""

    async def core_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ThvcError)
        return from_core(request, exc)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc)
        where = ", ".join(".".join(str(p) for p in e.loc) for e in errors[:5])
        return problem(
            request,
            422,
            "validation-error",
            "The request is not valid",
            f"invalid: {where}" if where else "the request is not valid",
            errors=errors,
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        try:
            title = HTTPStatus(exc.status_code).phrase
        except ValueError:
            title = "Error"
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem(
            request,
            exc.status_code,
            "about:blank",
            title,
            detail,
            headers=dict(exc.headers or {}),
        )

    async def server_error(request: Request, exc: Exception) -> Response:
        # Starlette's ServerErrorMiddleware sends this, then re-raises for the server's
        # log; the log line here says which request it was.
        log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
        return problem(request, 500, "about:blank", "Internal Server Error", "internal error")

    app.add_exception_handler(ThvcError, core_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, server_error)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problems an operation may answer with."""
    described = {
        400: "Malformed request (a bad name or path, an unknown cursor, ...)",
        401: "Not authenticated (missing or wrong credentials, ended session)",
        403: "Not allowed (also: a session request without its CSRF token)",
        404: "No such resource, or none the caller may see",
        409: "Conflicts with the current state (exists already, missing parent, ...)",
        412: "A precondition (If-Match) does not hold",
        416: "The range lies outside the file",
        422: "Invalid parameters or body; `errors` lists them",
        423: "Locked (WebDAV lock)",
        429: "Too many failed logins; see Retry-After",
        507: "Quota exceeded; `needed` and `available` say by how much",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for s in statuses:
        if s == 304:
            out[s] = {"description": "Not modified: If-None-Match named the current ETag"}
        else:
            out[s] = {"model": Problem, "description": described[s]}
    return out


# What every authenticated operation may answer.
COMMON = responses(400, 401, 403, 404, 422, 429)
