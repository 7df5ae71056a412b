"""HTTP Basic for the Nextcloud/ownCloud client API: parse here, verify in the core."""

from __future__ import annotations

import base64
import binascii

import anyio.to_thread
from starlette.requests import Request

from thvc.accounts.services import AccountService, Principal
from thvc.errors import NotAuthenticated

CHALLENGE = {"WWW-Authenticate": 'Basic realm="ThVC", charset="UTF-8"'}


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(login, secret) from ``Authorization: Basic``; None without the header.

    Raises NotAuthenticated for any other scheme or a malformed value: a
    client that sends credentials must get a 401, never an anonymous answer.
    """
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise NotAuthenticated("authentication required: HTTP Basic")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise NotAuthenticated("malformed Basic credentials") from None
    login, sep, secret = decoded.partition(":")
    if not sep or not login:
        raise NotAuthenticated("malformed Basic credentials")
    return login, secret


async def authenticate(request: Request, accounts: AccountService) -> Principal | None:
    """The caller, or None if the request carries no credentials at all.

    The password check (argon2, or the credential cache) runs in the thread
    pool; it raises NotAuthenticated or TooManyFailedLogins.
    """
    creds = basic_credentials(request)
    if creds is None:
        return None
    login, secret = creds
    client = client_address(request)
    return await anyio.to_thread.run_sync(
        lambda: accounts.authenticate(login, secret, client=client)
    )
