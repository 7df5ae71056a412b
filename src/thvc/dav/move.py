"""MOVE (RFC 4918 §9.9): rename or move; the file id and properties stay with the node."""

from __future__ import annotations

from starlette.responses import Response

from thvc.dav import responses
from thvc.dav.context import DavContext, depth, overwrite, run


async def do_MOVE(ctx: DavContext) -> Response:
    # §9.9.2: MOVE on a collection acts as if Depth: infinity were given.
    depth(ctx, "infinity", ("infinity",))
    dst = await ctx.destination()
    existed = await run(
        ctx.files.move,
        ctx.loc,
        dst,
        actor=ctx.actor,
        overwrite=overwrite(ctx),
        client=ctx.client,
        tokens=ctx.tokens,
    )
    return responses.empty(responses.NO_CONTENT if existed else responses.CREATED)
