"""Canned replies, named as the RFC names them."""

from __future__ import annotations

from starlette.responses import Response

from thvc.dav.xml import SABRE, XML_HEAD, escape

XML_TYPE = "application/xml; charset=utf-8"


def error(
    status: int,
    message: str,
    *,
    exception: str = "",
    condition: str = "",
    condition_href: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    """A DAV error body as SabreDAV (and so Nextcloud's clients) shape it.

    ``condition`` is an RFC 4918 precondition element name, e.g.
    ``propfind-finite-depth``; ``condition_href`` the resource it names
    (``lock-token-submitted`` names the locked resource).
    """
    cond = ""
    if condition and condition_href:
        cond = f"<d:{condition}><d:href>{escape(condition_href)}</d:href></d:{condition}>"
    elif condition:
        cond = f"<d:{condition}/>"
    body = (
        f'{XML_HEAD}<d:error xmlns:d="DAV:" xmlns:s="{SABRE}">{cond}'
        f"<s:exception>{escape(exception)}</s:exception>"
        f"<s:message>{escape(message)}</s:message></d:error>"
    )
    return Response(body, status, headers=headers, media_type=XML_TYPE)


def multistatus(body: str | bytes) -> Response:
    return Response(body, 207, media_type=XML_TYPE)


def empty(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status, headers=headers)


CREATED = 201
NO_CONTENT = 204
