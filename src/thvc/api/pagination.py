"""Cursor pagination: ``?limit=`` and an opaque ``cursor``; answers are ``{items, next_cursor}``.

A cursor is the sort key of the last item sent (base64url of JSON), tagged with
the listing and sort it belongs to; the next page starts after that key. So a
page never repeats or skips an item when others are added or removed between
requests, and a cursor from one listing or sort order is refused by another.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from thvc.errors import BadRequest

T = TypeVar("T")
Key = tuple[str | int, ...]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (1-{MAX_LIMIT})")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=2000,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="`next_cursor` of the previous page; omit for the first",
    ),
]


class BadCursor(BadRequest):
    """The cursor is not one this listing gave out."""

    problem_type = "bad-cursor"


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done")


def micros(moment: datetime) -> int:
    """A time as a sort key: whole microseconds since 1970, exact (no float)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - EPOCH) // timedelta(microseconds=1)


def encode(scope: str, key: Key) -> str:
    raw = json.dumps([scope, list(key)], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, scope: str, kinds: Sequence[type]) -> Key:
    """The key in ``cursor``; BadCursor unless it is a key of ``scope`` with ``kinds``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, key = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise BadCursor() from None
    if (
        tag != scope
        or not isinstance(key, list)
        or len(key) != len(kinds)
        # bool is an int to Python, never to a key of ours.
        or not all(
            isinstance(v, k) and not isinstance(v, bool) for v, k in zip(key, kinds, strict=True)
        )
    ):
        raise BadCursor()
    return tuple(key)


def paginate(
    items: Sequence[T],
    key: Callable[[T], Key],
    *,
    scope: str,
    kinds: Sequence[type],
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> tuple[list[T], str | None]:
    """One page of ``items`` in ``key`` order (keys must be unique within the list).

    For lists the core returns whole (a folder's children, one query): the page is
    cut here, by key, so that the cursor stays valid as the list changes.
    """
    keyed = sorted(((key(x), x) for x in items), key=lambda p: p[0], reverse=descending)
    if cursor:
        after = decode(cursor, scope, kinds)
        keyed = [p for p in keyed if (p[0] < after if descending else p[0] > after)]
    page = keyed[:limit]
    more = len(keyed) > limit
    return [x for _, x in page], encode(scope, page[-1][0]) if more and page else None
