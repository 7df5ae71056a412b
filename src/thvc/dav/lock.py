"""LOCK and UNLOCK (RFC 4918 §9.10, §9.11): write locks kept and enforced by the core."""

from __future__ import annotations

from starlette.responses import Response

from thvc.dav import responses
from thvc.dav.context import DavContext, depth, run
from thvc.dav.xml import DAV, NS_DECL, XML_HEAD, XmlError, escape, parse, serialize_property
from thvc.errors import BadRequest, NotFound
from thvc.files.locks import LockInfo

MAX_TIMEOUT = 7 * 24 * 3600
DEFAULT_TIMEOUT = 3600


def parse_timeout(value: str | None) -> int:
    """``Timeout: Second-600, Infinite`` -> seconds; the first form we understand wins."""
    if not value:
        return DEFAULT_TIMEOUT
    for item in value.split(","):
        item = item.strip()
        if item.lower() == "infinite":
            return MAX_TIMEOUT
        if item.lower().startswith("second-") and item[7:].isdigit():
            return max(1, min(int(item[7:]), MAX_TIMEOUT))
    return DEFAULT_TIMEOUT


def activelock(lock: LockInfo) -> str:
    scope = "<d:exclusive/>" if lock.exclusive else "<d:shared/>"
    return (
        f"<d:activelock><d:locktype><d:write/></d:locktype><d:lockscope>{scope}</d:lockscope>"
        f"<d:depth>{'infinity' if lock.infinite else '0'}</d:depth>{lock.owner}"
        f"<d:timeout>Second-{lock.timeout}</d:timeout>"
        f"<d:locktoken><d:href>{escape(lock.token)}</d:href></d:locktoken>"
        f"<d:lockroot><d:href>{escape(lock.root_href)}</d:href></d:lockroot></d:activelock>"
    )


def lockdiscovery(locks: list[LockInfo]) -> str:
    return "".join(activelock(lk) for lk in locks)


SUPPORTED_LOCK = "".join(
    f"<d:lockentry><d:lockscope><d:{s}/></d:lockscope><d:locktype><d:write/></d:locktype>"
    "</d:lockentry>"
    for s in ("exclusive", "shared")
)


def parse_lockinfo(body: bytes) -> tuple[bool, str]:
    """(exclusive?, owner XML) from a DAV:lockinfo body."""
    root = parse(body)
    if root.tag != f"{{{DAV}}}lockinfo":
        raise XmlError("the body must be a DAV:lockinfo element")
    scope = root.find(f"{{{DAV}}}lockscope")
    ltype = root.find(f"{{{DAV}}}locktype")
    if scope is None or len(scope) != 1 or ltype is None or ltype.find(f"{{{DAV}}}write") is None:
        raise XmlError("DAV:lockinfo needs a lockscope and a write locktype")
    exclusive = scope[0].tag == f"{{{DAV}}}exclusive"
    if not exclusive and scope[0].tag != f"{{{DAV}}}shared":
        raise XmlError("the lockscope must be exclusive or shared")
    owner = root.find(f"{{{DAV}}}owner")
    return exclusive, serialize_property(owner) if owner is not None else ""


def _reply(lock: LockInfo, status: int, *, token_header: bool) -> Response:
    body = (
        f"{XML_HEAD}<d:prop {NS_DECL}><d:lockdiscovery>{activelock(lock)}"
        "</d:lockdiscovery></d:prop>"
    )
    headers = {"Lock-Token": f"<{lock.token}>"} if token_header else {}
    return Response(body.encode(), status, headers=headers, media_type=responses.XML_TYPE)


async def do_LOCK(ctx: DavContext) -> Response:
    timeout = parse_timeout(ctx.header("timeout"))
    body = await ctx.read_xml_body()
    if not body.strip():
        # §9.10.2: a LOCK without a body refreshes the lock named in the If header.
        if not ctx.tokens:
            raise BadRequest("a lock refresh needs the lock token in an If header")
        lock = await run(
            ctx.files.refresh_lock, ctx.loc, ctx.tokens, actor=ctx.actor, timeout=timeout
        )
        return _reply(lock, 200, token_header=False)
    exclusive, owner = parse_lockinfo(body)
    infinite = depth(ctx, "infinity", ("0", "infinity")) == "infinity"
    try:
        entry_is_dir = (await run(ctx.files.stat, ctx.loc)).is_dir
    except NotFound:  # unmapped: the core creates an empty file there
        entry_is_dir = False
    lock, created = await run(
        ctx.files.lock,
        ctx.loc,
        actor=ctx.actor,
        exclusive=exclusive,
        infinite=infinite,
        owner=owner,
        timeout=timeout,
        root_href=ctx.href(ctx.loc.segments, entry_is_dir),
        client=ctx.client,
    )
    return _reply(lock, 201 if created else 200, token_header=True)


async def do_UNLOCK(ctx: DavContext) -> Response:
    value = (ctx.header("lock-token") or "").strip()
    if not (value.startswith("<") and value.endswith(">")):
        raise BadRequest("UNLOCK needs a Lock-Token header: <opaquelocktoken:...>")
    await run(ctx.files.unlock, ctx.loc, value[1:-1], actor=ctx.actor, client=ctx.client)
    return responses.empty(responses.NO_CONTENT)
