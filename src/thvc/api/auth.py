"""Who is calling: HTTP Basic, an app password as a bearer token, or the web session cookie.

The credentials are parsed here and verified by the core (``AccountService``,
``SessionService``). A browser's session cookie is sent with every request to
the site, also with one another site provokes; so a request that changes
something (POST, PUT, PATCH, DELETE) on the strength of the cookie alone must
also carry the session's CSRF token in ``X-CSRF-Token``, which only ThVC's own
pages can read. Basic and Bearer credentials are set by the client itself.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends
from fastapi.security import APIKeyCookie, HTTPBasic, HTTPBearer
from starlette.requests import HTTPConnection, Request

from thvc.accounts.services import Principal
from thvc.accounts.sessions import SessionInfo
from thvc.api.deps import Client, Svc
from thvc.errors import Forbidden, NotAuthenticated
from thvc.http.websession import COOKIE, CSRF_HEADER, SAFE_METHODS, session_token


class CsrfRejected(Forbidden):
    """A request made with the session cookie that changes something needs X-CSRF-Token."""

    problem_type = "csrf-token-missing"


@dataclass(frozen=True)
class Caller:
    principal: Principal
    method: Literal["basic", "bearer", "session"]
    session: SessionInfo | None = None


# FastAPI's scheme classes, for the OpenAPI document only: each answers None, and the
# header or cookie is read below, so that every failure is the core's NotAuthenticated.
class _BasicScheme(HTTPBasic):
    async def __call__(self, request: HTTPConnection) -> None:
        return None


class _BearerScheme(HTTPBearer):
    async def __call__(self, request: HTTPConnection) -> None:
        return None


class _CookieScheme(APIKeyCookie):
    async def __call__(self, request: HTTPConnection) -> None:
        return None


basic_scheme = _BasicScheme(
    scheme_name="basic",
    realm="ThVC",
    description="Login name (name@tenant) and the password or an app password.",
    auto_error=False,
)
bearer_scheme = _BearerScheme(
    scheme_name="bearer",
    description="An app password alone (POST /me/app-passwords creates one).",
    auto_error=False,
)
cookie_scheme = _CookieScheme(
    name=COOKIE,
    scheme_name="session",
    description=(
        "The web interface's session cookie. POST, PUT, PATCH and DELETE also need "
        f"the session's CSRF token in the {CSRF_HEADER} header."
    ),
    auto_error=False,
)


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise NotAuthenticated("malformed Basic credentials") from None
    login, sep, secret = decoded.partition(":")
    if not sep or not login:
        raise NotAuthenticated("malformed Basic credentials")
    return login, secret


def _csrf_ok(request: Request, info: SessionInfo) -> bool:
    sent = request.headers.get(CSRF_HEADER, "")
    # Header values arrive as latin-1 text; compare bytes, in constant time.
    return bool(sent) and hmac.compare_digest(
        sent.encode("latin-1", "replace"), info.csrf.encode("latin-1", "replace")
    )


def authenticate(
    request: Request,
    svc: Svc,
    client: Client,
    _basic_doc: Annotated[None, Depends(basic_scheme)],
    _bearer_doc: Annotated[None, Depends(bearer_scheme)],
    _cookie_doc: Annotated[None, Depends(cookie_scheme)],
) -> Caller:
    """The caller (a plain function: FastAPI runs it in the thread pool, where the core's
    blocking checks belong). Credentials in ``Authorization`` win over the cookie."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        kind = scheme.lower()
        if kind == "basic" and value.strip():
            login, secret = _basic(value)
            return Caller(svc.accounts.authenticate(login, secret, client=client), "basic")
        if kind == "bearer" and value.strip():
            principal = svc.accounts.authenticate_app_password(value.strip(), client=client)
            return Caller(principal, "bearer")
        raise NotAuthenticated("use HTTP Basic, a bearer app password or the session cookie")
    token = session_token(request)
    if token is None:
        raise NotAuthenticated("authentication required")
    info = svc.sessions.resume(token)
    if request.method.upper() not in SAFE_METHODS and not _csrf_ok(request, info):
        raise CsrfRejected(f"send the session's CSRF token in the {CSRF_HEADER} header")
    return Caller(info.principal, "session", info)


async def principal(caller: Annotated[Caller, Depends(authenticate)]) -> Principal:
    return caller.principal


CurrentCaller = Annotated[Caller, Depends(authenticate)]
Me = Annotated[Principal, Depends(principal)]
