"""Core errors to WebDAV statuses, decided once, on the error families."""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect
from starlette.responses import Response

from thvc.blobs import BlobError
from thvc.dav import responses
from thvc.dav.context import BadGateway, PayloadTooLarge
from thvc.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    ThvcError,
    TooManyFailedLogins,
)
from thvc.files.errors import IsCollection
from thvc.files.locks import LockConflict, Locked, LockTokenMismatch, NotLockOwner

log = logging.getLogger("thvc.dav")

CHALLENGE = {"WWW-Authenticate": 'Basic realm="ThVC", charset="UTF-8"'}

# Most specific first: the first class that matches decides, with the RFC 4918 §16
# precondition element to name in the body, if any.
STATUS: list[tuple[type[ThvcError], int, str]] = [
    (PayloadTooLarge, 413, ""),
    (BadGateway, 502, ""),
    (BadRequest, 400, ""),
    (NotAuthenticated, 401, ""),
    (TooManyFailedLogins, 429, ""),
    (LockConflict, 423, "no-conflicting-lock"),
    (Locked, 423, "lock-token-submitted"),
    (LockTokenMismatch, 409, "lock-token-matches-request-uri"),
    (NotLockOwner, 403, ""),
    (NotFound, 404, ""),
    (Forbidden, 403, ""),
    (IsCollection, 405, ""),
    (Conflict, 409, ""),
    (PreconditionFailed, 412, ""),
    (QuotaExceeded, 507, "quota-not-exceeded"),
]


def to_response(exc: Exception) -> Response:
    if isinstance(exc, ThvcError):
        for cls, status, condition in STATUS:
            if isinstance(exc, cls):
                headers: dict[str, str] = {}
                if status == 401:
                    headers.update(CHALLENGE)
                if isinstance(exc, TooManyFailedLogins):
                    headers["Retry-After"] = str(exc.resets_in)
                return responses.error(
                    status,
                    exc.message,
                    exception=type(exc).__name__,
                    condition=condition,
                    condition_href=exc.root_href if isinstance(exc, Locked) else "",
                    headers=headers,
                )
    if isinstance(exc, ClientDisconnect):
        # The client went away mid-body (a cancelled upload): nothing to answer, no
        # server fault; whatever was written is already cleaned up by the handler.
        log.info("client disconnected before the request body was complete")
        return responses.error(400, "the request body was not received completely")
    if isinstance(exc, BlobError):
        log.error("blob store error: %s", exc, exc_info=exc)
        return responses.error(500, "the stored content could not be read")
    log.error("unexpected error", exc_info=exc)
    return responses.error(500, "internal server error")
