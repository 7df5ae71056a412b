"""The web log-in cookie and CSRF header, as both browser-facing adapters (web, api) read them.

The session itself is the core's (``thvc.accounts.sessions``); this module only
names where a browser carries it.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import Response

COOKIE = "thvc_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
# Methods that change nothing need no CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_token(conn: HTTPConnection) -> str | None:
    token = conn.cookies.get(COOKIE, "")
    return token if 20 <= len(token) <= 100 else None


def set_session_cookie(response: Response, token: str, *, secure: bool, max_age: int) -> None:
    """HttpOnly (no script reads it), SameSite=Lax (no cross-site POST carries it),
    Secure when ThVC is served over https; for the whole site."""
    response.set_cookie(
        COOKIE, token, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax"
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
