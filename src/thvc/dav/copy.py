"""COPY (RFC 4918 §9.8): copies share their blobs, so no content is re-written."""

from __future__ import annotations

from starlette.responses import Response

from thvc.dav import responses
from thvc.dav.context import DavContext, depth, overwrite, run


async def do_COPY(ctx: DavContext) -> Response:
    d = depth(ctx, "infinity", ("0", "infinity"))
    dst = await ctx.destination()
    existed = await run(
        ctx.files.copy,
        ctx.loc,
        dst,
        actor=ctx.actor,
        overwrite=overwrite(ctx),
        recursive=d == "infinity",
        client=ctx.client,
        tokens=ctx.tokens,
    )
    return responses.empty(responses.NO_CONTENT if existed else responses.CREATED)
