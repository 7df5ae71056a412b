"""Field types the request models share: text both databases can store, ids they can hold.

PostgreSQL refuses NUL in text and strings longer than a ``VARCHAR(n)``; Python's
``json`` lets lone surrogates through, which UTF-8 cannot encode. Each would
surface as a database error (a 500), so they are refused here, as 422.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, Field

from thvc.files.perms import Perm


def _utf8(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def _storable(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time lies outside the years 1-9999 in UTC") from None


# Free text (notes): anything but NUL.
Text = Annotated[str, AfterValidator(_utf8), Field(pattern=r"^[^\x00]*$")]
# One line (names, labels): no control characters.
Line = Annotated[str, AfterValidator(_utf8), Field(pattern=r"^[^\x00-\x1f\x7f]*$")]
# A path in the caller's tree ("/a/b"); its names are checked by the core (400 if bad).
FilePath = Annotated[
    str,
    AfterValidator(_utf8),
    Field(max_length=65_536, description='A path in your tree, e.g. "/Akten/Plan.pdf"'),
]
Moment = Annotated[AwareDatetime, AfterValidator(_storable)]
# The core's integer ids (32-bit columns on PostgreSQL).
ID_MAX = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=ID_MAX)]
Bytes = Annotated[int, Field(ge=0, le=2**63 - 1)]
Login = Annotated[str, Field(min_length=3, max_length=128, pattern=r"^[a-z0-9._-]+@[a-z0-9-]+$")]
Slug = Annotated[str, Field(max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
LocalName = Annotated[
    str, Field(max_length=64, pattern=r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
]


class Permission(enum.StrEnum):
    """What a caller may do with an item (Nextcloud's permission bits, by name)."""

    READ = "read"
    UPDATE = "update"
    CREATE = "create"
    DELETE = "delete"
    SHARE = "share"


_BITS = {
    Permission.READ: Perm.READ,
    Permission.UPDATE: Perm.UPDATE,
    Permission.CREATE: Perm.CREATE,
    Permission.DELETE: Perm.DELETE,
    Permission.SHARE: Perm.SHARE,
}


def permission_names(p: Perm) -> list[Permission]:
    return [name for name, bit in _BITS.items() if bit in p]


def to_perm(names: list[Permission]) -> Perm:
    out = Perm.NONE
    for name in names:
        out |= _BITS[name]
    return out


ItemType = Literal["file", "folder"]
