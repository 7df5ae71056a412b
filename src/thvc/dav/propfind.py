"""PROPFIND (RFC 4918 §9.1): properties of a resource and, at Depth 1, its members."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from starlette.responses import Response

from thvc.dav import responses
from thvc.dav.context import DavContext, depth, run_light
from thvc.dav.props import ALLPROP, LIVE, NEEDS_LOCKS, NEEDS_QUOTA, Extra, Getter, Quota
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
from thvc.files.services import DeadValue, Entry
from thvc.memo import Memo

PropName = tuple[str, str]


# Bodies up to this size are remembered with what they ask for: a sync client sends the
# same few hundred bytes with every poll, and parsing them (defusedxml) was a twentieth of
# the event loop's time under 3,300 polling clients. Bounded in size and count.
_REMEMBERED_BODY_MAX = 4096


def parse_propfind(body: bytes) -> tuple[str, list[PropName]]:
    """Return ("allprop" | "propname" | "prop", requested names).

    "An empty PROPFIND request body MUST be treated as if it were an
    'allprop' request" (RFC 4918 §9.1).
    """
    if len(body) <= _REMEMBERED_BODY_MAX:
        mode, names = _parse_remembered(body)
        return mode, list(names)
    return _parse(body)


@functools.lru_cache(maxsize=64)
def _parse_remembered(body: bytes) -> tuple[str, tuple[PropName, ...]]:
    # A malformed body raises, and exceptions are not cached: each is parsed (and refused)
    # again, so a client cannot fill the cache with them either.
    mode, names = _parse(body)
    return mode, tuple(names)


def _parse(body: bytes) -> tuple[str, list[PropName]]:
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


@dataclass(frozen=True, slots=True)
class _Prop:
    """One property of the answer, its tags written once per request, not once per entry."""

    key: PropName
    getter: Getter | None  # None: a dead property, or one nobody has
    start: str
    end: str
    empty: str


def _prop(key: PropName) -> _Prop:
    tag, decl = qname(*key)
    return _Prop(key, LIVE.get(key), f"<{tag}{decl}>", f"</{tag}>", f"<{tag}{decl}/>")


def render_response(
    href: str,
    entry: Entry,
    mode: str,
    plan: list[_Prop],
    dead: list[DeadValue],
    extra: Extra,
) -> str:
    found: list[str] = []
    missing: list[str] = []
    if mode == "propname":
        found = [
            p.empty for p in plan if p.getter is not None and p.getter(entry, extra) is not None
        ]
        found += [empty_element(p.namespace, p.name) for p in dead]
    else:
        dead_by_name = {(p.namespace, p.name): p.value for p in dead}
        if mode == "allprop" and dead:
            plan = plan + [_prop(k) for k in dead_by_name]
        for prop in plan:
            if prop.getter is not None:
                value = prop.getter(entry, extra)
                if value is None:
                    if mode == "prop":
                        missing.append(prop.empty)
                    continue
                found.append(f"{prop.start}{value}{prop.end}" if value else prop.empty)
            elif prop.key in dead_by_name:
                found.append(dead_by_name[prop.key])
            else:
                missing.append(prop.empty)
    out = [f"<d:response><d:href>{escape(href)}</d:href>"]
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


# The property lists clients ask for, each under a number for the cache below. Bounded:
# the names come from request bodies, and an unknown list is simply not cached.
_PLANS: dict[tuple[str, tuple[PropName, ...]], tuple[int, list[_Prop]]] = {}
_PLAN_IDS: list[list[_Prop]] = []
_MAX_PLANS = 256
_plans_lock = threading.Lock()


def _plan(mode: str, names: list[PropName]) -> tuple[int | None, list[_Prop]]:
    key = (mode, tuple(names))
    known = _PLANS.get(key)
    if known is not None:
        return known
    plan = [_prop(k) for k in names]
    with _plans_lock:
        if key not in _PLANS and len(_PLANS) < _MAX_PLANS:
            _PLANS[key] = (len(_PLAN_IDS), plan)
            _PLAN_IDS.append(plan)
    known = _PLANS.get(key)
    return known if known is not None else (None, plan)


@functools.lru_cache(maxsize=8192)
def _quoted(name: str) -> str:
    """A member's name as an href segment (names repeat poll after poll)."""
    return quote(name, safe="")


@functools.lru_cache(maxsize=4096)
def _cached_response(
    href: str, entry: Entry, mode: str, plan_id: int, dead: tuple[DeadValue, ...], extra: Extra
) -> str:
    """A member's <d:response>, by everything it is made of (so never stale).

    Rendering is most of a large listing's cost, and the same members are listed again
    and again: sync clients poll the folders they hold, and a folder changes one file
    at a time. Looking a member up costs a fifth of rendering it.
    """
    return render_response(href, entry, mode, _PLAN_IDS[plan_id], list(dead), extra)


def render(
    ctx: DavContext,
    entries: list[Entry],
    mode: str,
    wanted: list[PropName],
    dead: dict[int, list[DeadValue]],
    extras: list[Extra],
) -> Iterator[str]:
    names = list(LIVE) if mode == "propname" else ALLPROP if mode == "allprop" else wanted
    plan_id, plan = _plan(mode, names)
    yield f"{XML_HEAD}<d:multistatus {NS_DECL}>"
    first = entries[0]
    folder = ctx.href(first.segments, True)  # ends in "/"
    for i, (e, x) in enumerate(zip(entries, extras, strict=True)):
        # Members are the folder's href and their quoted name: quoting every segment of
        # every member again was a large part of a 1,000-entry listing.
        if i == 0:
            href = ctx.href(e.segments, e.is_dir)
        else:
            href = folder + _quoted(e.name) + ("/" if e.is_dir else "")
        props = dead.get(e.id)
        if plan_id is None:
            yield render_response(href, e, mode, plan, props or [], x)
        else:
            yield _cached_response(href, e, mode, plan_id, tuple(props) if props else (), x)
    yield "</d:multistatus>"


async def do_PROPFIND(ctx: DavContext) -> Response:
    d = depth(ctx, "1", ("0", "1", "infinity"))
    if d == "infinity":
        return responses.error(
            403, "Depth: infinity is not supported", condition="propfind-finite-depth"
        )
    mode, wanted = parse_propfind(await ctx.read_xml_body())
    # One snapshot for everything the answer needs, read in one hop to a worker thread;
    # on local storage, on the event loop (thvc.onloop; describe sends a large folder
    # to the pool): the poll of a sync client is its most frequent request.
    found = await run_light(
        ctx.files.reads_on_loop,
        ctx.files.describe,
        ctx.loc,
        children=d == "1",
        with_dead=mode != "prop" or any(k not in LIVE for k in wanted),
        with_quota=mode == "propname" or any(k in NEEDS_QUOTA for k in wanted),
        with_locks=mode != "prop" or any(k in NEEDS_LOCKS for k in wanted),
    )
    entries, dead, locks = found.entries, found.dead, found.locks
    quota = Quota(*found.quota) if found.quota is not None else None
    unlocked = Extra(quota)  # most members have no lock: one object for all of them
    extras = [unlocked] * len(entries)
    if locks:
        paths = [ctx.loc.path] + [f"{ctx.loc.path}/{e.name}" for e in entries[1:]]
        extras = [Extra(quota, tuple(held)) if (held := locks.get(p)) else unlocked for p in paths]
    elif len(entries) > BODY_MEMO_MIN:
        return responses.multistatus(_remembered(ctx, entries, mode, wanted, dead, unlocked))
    body = "".join(render(ctx, entries, mode, wanted, dead, extras))
    return responses.multistatus(body.encode())


# The answers to Depth 1 PROPFINDs of large folders without locks are kept, up to this
# many bytes in all (an allprop answer on 1,000 files: ~750 kB), with what they were
# made from, and sent again while that has not changed: a folder is listed again and
# again, and most of the time nothing in it has changed. With FileService's listing memo
# the entries then come back as the very objects compared here, which is quick.
BODY_MEMO_MIN = 100
BODY_MEMO_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class _Body:
    entries: list[Entry]
    dead: dict[int, list[DeadValue]]
    extra: Extra
    data: bytes


_BODIES: Memo[_Body] = Memo(BODY_MEMO_BYTES)


def _remembered(
    ctx: DavContext,
    entries: list[Entry],
    mode: str,
    wanted: list[PropName],
    dead: dict[int, list[DeadValue]],
    extra: Extra,
) -> bytes:
    """The multistatus of ``entries``, every one with ``extra``: the one made last time
    for the same folder (by its URL) and properties, if made of equal parts."""
    key = (ctx.href(entries[0].segments, True), mode, tuple(wanted))
    known = _BODIES.get(key)
    if (
        known is not None
        and known.entries == entries
        and known.dead == dead
        and known.extra == extra
    ):
        return known.data
    data = "".join(render(ctx, entries, mode, wanted, dead, [extra] * len(entries))).encode()
    _BODIES.put(key, _Body(entries, dead, extra, data), len(data))
    return data
