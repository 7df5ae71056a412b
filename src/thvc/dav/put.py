"""PUT (RFC 9110 §9.3.4): stream the body into a new version of the file.

The body is regrouped into ~1 MiB pieces before each hop to the thread pool,
where it is hashed and encrypted; memory stays bounded whatever the size.
"""

from __future__ import annotations

from starlette.responses import Response

from thvc.dav import responses
from thvc.dav.context import DavContext, etag_header, run, strip_etag
from thvc.dav.streams import checksum, content_length, content_type, mtime, pump
from thvc.errors import BadRequest


async def do_PUT(ctx: DavContext) -> Response:
    if ctx.header("content-range"):
        # RFC 9110 §14.5: a server that does not do partial PUT must refuse it.
        raise BadRequest("partial PUT with Content-Range is not supported")
    if_match = ctx.header("if-match")
    declared = content_length(ctx)
    upload = await run(
        ctx.files.begin_put,
        ctx.loc,
        length=declared,
        if_match=strip_etag(if_match) if if_match else None,
        if_none_match=(ctx.header("if-none-match") or "").strip() == "*",
        actor=ctx.actor,
        tokens=ctx.tokens,
        checksum=checksum(ctx),
    )
    try:
        when = mtime(ctx)
        await pump(ctx.request, upload.write)
        if declared is not None and declared != upload.writer.size:
            raise BadRequest("the body is shorter than its Content-Length")
        entry, created = await run(
            ctx.files.finish_put,
            upload,
            actor=ctx.actor,
            mtime=when,
            content_type=content_type(ctx),
            client=ctx.client,
        )
    except BaseException:
        await run(ctx.files.abort_put, upload)
        raise
    headers = {
        "ETag": etag_header(entry.etag),
        "OC-ETag": etag_header(entry.etag),
        "OC-FileId": f"{entry.id:08d}thvc",
    }
    if when is not None:
        headers["X-OC-MTime"] = "accepted"
    return responses.empty(201 if created else 204, headers)
