"""A tenant owns users, spaces, a quota and the data key its blobs are encrypted with."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from thvc.db.base import Base
from thvc.db.types import UTCDateTime, utcnow

BigInt = BigInteger().with_variant(Integer, "sqlite")


class TenantKind(enum.StrEnum):
    MUNICIPALITY = "municipality"
    AGENCY = "agency"
    EXTERNAL = "external"
    PLATFORM = "platform"


class TenantState(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"  # waiting for the grace period, then shredded


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[TenantKind] = mapped_column(
        Enum(
            TenantKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        )
    )
    state: Mapped[TenantState] = mapped_column(
        Enum(
            TenantState,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=TenantState.ACTIVE,
    )
    quota_bytes: Mapped[int | None] = mapped_column(BigInt, default=None)
    used_bytes: Mapped[int] = mapped_column(BigInt, default=0)
    # The tenant's data key wrapped by the master key; None once crypto-shredded.
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delete_after: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
