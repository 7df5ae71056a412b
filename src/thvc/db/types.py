"""Column types shared by every model; they behave alike on SQLite and PostgreSQL."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Enum, String, Text, TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite forgets the zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# Paths compare byte-wise so that range scans over a folder's descendants
# (path > 'a/' AND path < 'a0') work; PostgreSQL's default collation would not.
PathText = Text().with_variant(Text(collation="C"), "postgresql")
Name = String(1024).with_variant(String(1024, collation="C"), "postgresql")


def str_enum(cls: type[enum.StrEnum]) -> Enum:
    """A portable enum column: stored as its value in a VARCHAR, checked by constraint."""
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
