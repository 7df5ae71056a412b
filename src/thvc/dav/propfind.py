"""PROPFIND (RFC 4918 §9.1): properties of a resource and, at Depth 1, its members."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.responses import Response

from thvc.dav import responses
from thvc.dav.context import DavContext, depth, run
from thvc.dav.props import ALLPROP, LIVE, NEEDS_LOCKS, NEEDS_QUOTA, Extra, Quota
from thvc.dav.xml import (
    DAV,
    NS_DECL,
    XML_HEAD,
    XmlError,
    empty_element,
    escape,
    parse,
    qname,
    split_clark,
)
from thvc.files.models import DeadProperty
from thvc.files.services import Entry

PropName = tuple[str, str]


def parse_propfind(body: bytes) -> tuple[str, list[PropName]]:
    """Return ("allprop" | "propname" | "prop", requested names).

    "An empty PROPFIND request body MUST be treated as if it were an
    'allprop' request" (RFC 4918 §9.1).
    """
    if not body.strip():
        return "allprop", []
    root = parse(body)
    if root.tag != f"{{{DAV}}}propfind":
        raise XmlError("the body must be a DAV:propfind element")
    for child in root:
        if child.tag == f"{{{DAV}}}allprop":
            return "allprop", []
        if child.tag == f"{{{DAV}}}propname":
            return "propname", []
        if child.tag == f"{{{DAV}}}prop":
            return "prop", [split_clark(p.tag) for p in child]
    raise XmlError("DAV:propfind needs prop, allprop or propname")


def render_response(
    ctx: DavContext,
    entry: Entry,
    mode: str,
    wanted: list[PropName],
    dead: list[DeadProperty],
    extra: Extra,
) -> str:
    found: list[str] = []
    missing: list[str] = []
    if mode == "propname":
        names = [k for k in LIVE if LIVE[k](entry, extra) is not None]
        found = [empty_element(ns, n) for ns, n in names]
        found += [empty_element(p.namespace, p.name) for p in dead]
    else:
        dead_by_name = {(p.namespace, p.name): p.value for p in dead}
        names = ALLPROP + list(dead_by_name) if mode == "allprop" else wanted
        for ns, name in names:
            getter = LIVE.get((ns, name))
            if getter is not None:
                value = getter(entry, extra)
                if value is None:
                    if mode == "prop":
                        missing.append(empty_element(ns, name))
                    continue
                tag, decl = qname(ns, name)
                found.append(f"<{tag}{decl}>{value}</{tag}>" if value else f"<{tag}{decl}/>")
            elif (ns, name) in dead_by_name:
                found.append(dead_by_name[(ns, name)])
            else:
                missing.append(empty_element(ns, name))
    out = [f"<d:response><d:href>{escape(ctx.href(entry.segments, entry.is_dir))}</d:href>"]
    if found:
        out.append(
            f"<d:propstat><d:prop>{''.join(found)}</d:prop>"
            "<d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
        )
    if missing:
        out.append(
            f"<d:propstat><d:prop>{''.join(missing)}</d:prop>"
            "<d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>"
        )
    out.append("</d:response>")
    return "".join(out)


def render(
    ctx: DavContext,
    entries: list[Entry],
    mode: str,
    wanted: list[PropName],
    dead: dict[int, list[DeadProperty]],
    extras: list[Extra],
) -> Iterator[str]:
    yield f"{XML_HEAD}<d:multistatus {NS_DECL}>"
    for e, x in zip(entries, extras, strict=True):
        yield render_response(ctx, e, mode, wanted, dead.get(e.id, []), x)
    yield "</d:multistatus>"


async def do_PROPFIND(ctx: DavContext) -> Response:
    d = depth(ctx, "1", ("0", "1", "infinity"))
    if d == "infinity":
        return responses.error(
            403, "Depth: infinity is not supported", condition="propfind-finite-depth"
        )
    mode, wanted = parse_propfind(await ctx.read_xml_body())
    # One transaction and one hop to a worker thread for everything the answer needs.
    found = await run(
        ctx.files.describe,
        ctx.loc,
        children=d == "1",
        with_dead=mode != "prop" or any(k not in LIVE for k in wanted),
        with_quota=mode == "propname" or any(k in NEEDS_QUOTA for k in wanted),
        with_locks=mode != "prop" or any(k in NEEDS_LOCKS for k in wanted),
    )
    entries, dead, locks = found.entries, found.dead, found.locks
    quota = Quota(*found.quota) if found.quota is not None else None
    paths = [ctx.loc.path] + [f"{ctx.loc.path}/{e.name}" for e in entries[1:]]
    extras = [Extra(quota, tuple(locks.get(p, ()))) for p in paths]
    body = "".join(render(ctx, entries, mode, wanted, dead, extras))
    return responses.multistatus(body.encode())
