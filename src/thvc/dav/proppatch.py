"""PROPPATCH (RFC 4918 §9.2): set and remove dead properties, all or nothing."""

from __future__ import annotations

from starlette.responses import Response

from thvc.dav import responses
from thvc.dav.context import DavContext, run
from thvc.dav.props import PROTECTED
from thvc.dav.xml import (
    DAV,
    NS_DECL,
    XML_HEAD,
    XmlError,
    empty_element,
    escape,
    parse,
    serialize_property,
    split_clark,
)
from thvc.files.services import PropOp

# What the dead-property table holds, on every database engine.
MAX_NAME = 255
MAX_NAMESPACE = 512


def parse_proppatch(body: bytes) -> list[PropOp]:
    root = parse(body)
    if root.tag != f"{{{DAV}}}propertyupdate":
        raise XmlError("the body must be a DAV:propertyupdate element")
    ops: list[PropOp] = []
    for action in root:
        if action.tag not in (f"{{{DAV}}}set", f"{{{DAV}}}remove"):
            raise XmlError("DAV:propertyupdate may hold only DAV:set and DAV:remove")
        remove = action.tag == f"{{{DAV}}}remove"
        for prop in action:
            if prop.tag != f"{{{DAV}}}prop":
                raise XmlError("DAV:set and DAV:remove hold a DAV:prop")
            for elem in prop:
                ns, name = split_clark(elem.tag)
                if len(name) > MAX_NAME or len(ns) > MAX_NAMESPACE:
                    raise XmlError("a property name or namespace is too long")
                # Instructions apply in document order (§9.2), so keep them all.
                ops.append(PropOp(ns, name, None if remove else serialize_property(elem)))
    return ops


def _propstat(names: list[tuple[str, str]], status: str) -> str:
    props = "".join(empty_element(ns, n) for ns, n in names)
    return (
        f"<d:propstat><d:prop>{props}</d:prop><d:status>HTTP/1.1 {status}</d:status></d:propstat>"
    )


async def do_PROPPATCH(ctx: DavContext) -> Response:
    ops = parse_proppatch(await ctx.read_xml_body())
    names = [(o.namespace, o.name) for o in ops]
    protected = [n for n in names if n in PROTECTED]
    if protected:
        # Nothing is applied; the others fail only because these did (424).
        rest = [n for n in names if n not in PROTECTED]
        stats = _propstat(protected, "403 Forbidden")
        if rest:
            stats += _propstat(rest, "424 Failed Dependency")
    else:
        await run(
            ctx.files.proppatch,
            ctx.loc,
            ops,
            actor=ctx.actor,
            client=ctx.client,
            tokens=ctx.tokens,
        )
        stats = _propstat(names, "200 OK") if names else ""
    href = escape(ctx.href(ctx.loc.segments, await _is_dir(ctx)))
    body = (
        f"{XML_HEAD}<d:multistatus {NS_DECL}><d:response><d:href>{href}</d:href>"
        f"{stats}</d:response></d:multistatus>"
    )
    return responses.multistatus(body.encode())


async def _is_dir(ctx: DavContext) -> bool:
    return (await run(ctx.files.stat, ctx.loc)).is_dir
