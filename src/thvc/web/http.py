"""Small HTTP helpers of the web adapter: Content-Disposition, Basic, small forms (ranges
are thvc.http's, re-exported here for the download code)."""

from __future__ import annotations

import base64
import binascii
import unicodedata
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from urllib.parse import parse_qs, quote

import anyio.to_thread
from starlette.requests import Request

from thvc.errors import BadRequest, NotAuthenticated
from thvc.http.ranges import MalformedRange, RangeNotSatisfiable, parse_range


class PayloadTooLarge(BadRequest):
    """The request body is larger than this form takes."""


P = ParamSpec("P")
T = TypeVar("T")


async def run(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking core call in the thread pool."""
    return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))


def content_disposition(name: str, *, inline: bool = False) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''…`` (RFC 6266, RFC 8187)."""
    fallback = "".join(
        c if 0x20 <= ord(c) < 0x7F and c not in '"\\%' else "_"
        for c in unicodedata.normalize("NFKD", name)
        if not unicodedata.combining(c)
    )
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(user, password) of an HTTP Basic ``Authorization`` header, None without one."""
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise NotAuthenticated("use HTTP Basic with the link's token and password")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise NotAuthenticated("malformed Basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise NotAuthenticated("malformed Basic credentials")
    return user, password


async def small_form(request: Request, limit: int = 16 * 1024) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body of at most ``limit`` bytes: the first
    value of each field. (Only for small forms; uploads stream, see ``drops``.)"""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadRequest("this form is sent as application/x-www-form-urlencoded")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise PayloadTooLarge(f"the form is larger than {limit} bytes")
    try:
        text = buf.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the form is not UTF-8") from None
    fields = parse_qs(text, keep_blank_values=True, max_num_fields=50)
    return {k: v[0] for k, v in fields.items()}


__all__ = [
    "MalformedRange",
    "PayloadTooLarge",
    "RangeNotSatisfiable",
    "basic_credentials",
    "content_disposition",
    "parse_range",
    "run",
    "small_form",
]
