"""The If request header (RFC 4918 §10.4), parsed in full and kept pure.

If = "If" ":" ( 1*No-tag-list | 1*Tagged-list )
List = "(" 1*Condition ")"
Condition = ["Not"] (State-token | "[" entity-tag "]")
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from thvc.errors import BadRequest


class MalformedIf(BadRequest):
    """The If header does not follow RFC 4918 §10.4."""


@dataclass(frozen=True)
class Condition:
    negate: bool
    token: str | None = None  # a state token (Coded-URL without the angle brackets)
    etag: str | None = None  # an entity tag without quotes


@dataclass(frozen=True)
class IfList:
    resource: str | None  # None: the request URL
    conditions: tuple[Condition, ...]


_TOKEN = re.compile(r"""\s*(?:(<[^>]*>)|(\()|(\))|(\[(?:W/)?"[^"]*"\])|(Not)\b)""", re.IGNORECASE)


def parse_if(value: str) -> list[IfList]:
    lists: list[IfList] = []
    tag: str | None = None
    tagged: bool | None = None
    pos, n = 0, len(value)
    current: list[Condition] | None = None
    negate = False
    while pos < n:
        if value[pos:].strip() == "":
            break
        m = _TOKEN.match(value, pos)
        if not m:
            raise MalformedIf(f"unexpected text in If header at {value[pos : pos + 20]!r}")
        pos = m.end()
        coded, lparen, rparen, etag, not_ = m.groups()
        if coded is not None:
            inner = coded[1:-1]
            if current is None:  # a resource tag
                if tagged is False or not inner:
                    raise MalformedIf("a resource tag cannot follow untagged lists")
                tagged, tag = True, inner
            else:
                current.append(Condition(negate, token=inner))
                negate = False
        elif lparen:
            if current is not None:
                raise MalformedIf("nested parentheses in If header")
            if tagged is None:
                tagged = False
            if tagged and tag is None:
                raise MalformedIf("a tagged list needs a resource tag")
            current = []
        elif rparen:
            if current is None or not current or negate:
                raise MalformedIf("an empty or unfinished condition list in If header")
            lists.append(IfList(tag if tagged else None, tuple(current)))
            current = None
        elif etag:
            if current is None:
                raise MalformedIf("an entity tag outside a list in If header")
            inner = etag[1:-1]
            inner = inner[2:] if inner.upper().startswith("W/") else inner
            current.append(Condition(negate, etag=inner.strip('"')))
            negate = False
        elif not_:
            if current is None or negate:
                raise MalformedIf("misplaced Not in If header")
            negate = True
    if current is not None or not lists:
        raise MalformedIf("the If header has no complete list")
    return lists


def submitted_tokens(lists: list[IfList]) -> set[str]:
    """Every lock token the header mentions (positively): these count as submitted."""
    return {c.token for lst in lists for c in lst.conditions if c.token and not c.negate}


State = tuple[str | None, set[str]]  # (etag or None, lock tokens on the resource)


def evaluate(lists: list[IfList], state_of: Callable[[str | None], State | None]) -> bool:
    """True if any list holds. ``state_of(None)`` is the request resource's state;
    ``state_of(url)`` that of a tagged resource, or None if it is not ours."""
    for lst in lists:
        state = state_of(lst.resource)
        if state is None:
            continue
        etag, tokens = state
        ok = True
        for c in lst.conditions:
            hit = (
                c.token in tokens if c.token is not None else (etag is not None and c.etag == etag)
            )
            if hit == c.negate:
                ok = False
                break
        if ok:
            return True
    return False
