"""DELETE (RFC 4918 §9.6): to the trash, with everything below."""

from __future__ import annotations

from starlette.responses import Response

from thvc.dav import responses
from thvc.dav.context import DavContext, depth, run, strip_etag


async def do_DELETE(ctx: DavContext) -> Response:
    # "A client MUST NOT submit a Depth header with a DELETE on a collection
    # with any value but infinity" (§9.6.1).
    depth(ctx, "infinity", ("infinity",))
    if_match = ctx.header("if-match")
    await run(
        ctx.files.delete,
        ctx.loc,
        actor=ctx.actor,
        client=ctx.client,
        tokens=ctx.tokens,
        if_match=strip_etag(if_match) if if_match else None,
    )
    return responses.empty(responses.NO_CONTENT)
