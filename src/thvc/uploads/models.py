"""Upload sessions and their parts.

A part is an encrypted blob of the tenant (like a file version), so bytes a
client has sent survive a restart and an interrupted upload resumes where it
stopped. Assembly streams the parts in order into a new version through the
file service, so the destination changes only when the whole upload is in.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from thvc.db.base import Base
from thvc.db.types import UTCDateTime, str_enum, utcnow
from thvc.tenants.models import BigInt


class UploadKind(enum.StrEnum):
    CHUNKED = "chunked"  # Nextcloud chunking v2 / ownCloud chunking NG
    TUS = "tus"


class UploadSession(Base):
    __tablename__ = "upload_sessions"
    __table_args__ = (UniqueConstraint("user_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[UploadKind] = mapped_column(str_enum(UploadKind))
    # The client's name for the transfer (the chunking folder, or a random tus id).
    name: Mapped[str] = mapped_column(String(200))
    # Declared total length, if the client said it up front.
    length: Mapped[int | None] = mapped_column(BigInt, default=None)
    # Protocol data as JSON (tus: target and metadata; chunking: the destination).
    meta: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UploadPart(Base):
    __tablename__ = "upload_parts"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("upload_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    # Chunk number (Nextcloud), byte offset (ownCloud NG, tus): sorted numerically.
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInt)
    blob_id: Mapped[str] = mapped_column(String(32), unique=True)
    size: Mapped[int] = mapped_column(BigInt)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
