"""A tenant owns users, spaces, a quota and the data key its blobs are encrypted with."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from thvc.db.base import Base
from thvc.db.types import UTCDateTime, str_enum, utcnow

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


class ShareScope(enum.StrEnum):
    """Which other tenants a tenant's users may share with."""

    ALL = "all"
    LIST = "list"
    NONE = "none"


class TenantPolicy(Base):
    """What a tenant's users may share, and how. A tenant without a row has the defaults:
    exchange between public bodies is the platform's purpose, so everything is allowed."""

    __tablename__ = "tenant_policies"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    share_scope: Mapped[ShareScope] = mapped_column(str_enum(ShareScope), default=ShareScope.ALL)
    # Tenant slugs, comma-separated, when share_scope is LIST.
    share_with: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[bool] = mapped_column(Boolean, default=True)
    link_password_required: Mapped[bool] = mapped_column(Boolean, default=False)
    link_max_days: Mapped[int | None] = mapped_column(Integer, default=None)
    # Received shares are mounted at once, or wait for the recipient to accept them.
    auto_accept: Mapped[bool] = mapped_column(Boolean, default=True)
    # Members (not only tenant admins) may invite guests.
    members_invite: Mapped[bool] = mapped_column(Boolean, default=True)


class TenantTraffic(Base):
    """Bytes a tenant's users moved, per day: uploads in, downloads out.

    The basis, with storage, for allocating the platform's costs to tenants.
    """

    __tablename__ = "tenant_traffic"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    bytes_in: Mapped[int] = mapped_column(BigInt, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInt, default=0)
