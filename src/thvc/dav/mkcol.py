"""MKCOL (RFC 4918 §9.3): create a folder."""

from __future__ import annotations

from starlette.responses import Response

from thvc.dav import responses
from thvc.dav.context import DavContext, run
from thvc.errors import AlreadyExists


async def do_MKCOL(ctx: DavContext) -> Response:
    length = ctx.header("content-length")
    if (length and length != "0") or ctx.header("transfer-encoding"):
        # §9.3: a body we do not understand gets 415.
        return responses.error(415, "MKCOL with a request body is not supported")
    try:
        entry = await run(
            ctx.files.mkcol, ctx.loc, actor=ctx.actor, client=ctx.client, tokens=ctx.tokens
        )
    except AlreadyExists:
        # §9.3.1: "405 (Method Not Allowed) - MKCOL can only be executed on an unmapped URL."
        return responses.error(405, "something of that name exists already")
    return responses.empty(responses.CREATED, {"OC-FileId": f"{entry.id:08d}thvc"})
