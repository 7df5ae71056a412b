"""Shares to users and groups, and public links (read, read-write, file drop).

A share points at a node of the owner's space; the recipient sees it mounted in
their root. Permissions are Nextcloud's bit set, so that the OCS API and the
``oc:permissions`` flags need no translation. A re-share records the share it
came through (``via_share_id``): it can never hold more than that share, and it
goes when that share goes.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from thvc.db.base import Base
from thvc.db.types import UTCDateTime, str_enum, utcnow
from thvc.files.perms import Perm

__all__ = ["Link", "LinkKind", "Perm", "Share", "ShareState"]


class ShareState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Share(Base):
    __tablename__ = "shares"
    __table_args__ = (
        CheckConstraint(
            "(recipient_user_id IS NULL) <> (recipient_group_id IS NULL)", name="one_recipient"
        ),
        Index("ix_shares_node", "node_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    # Who shared it (the owner, or a recipient re-sharing).
    sharer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    recipient_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    recipient_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), index=True, default=None
    )
    via_share_id: Mapped[int | None] = mapped_column(
        ForeignKey("shares.id", ondelete="CASCADE"), index=True, default=None
    )
    permissions: Mapped[int] = mapped_column(Integer)
    state: Mapped[ShareState] = mapped_column(str_enum(ShareState), default=ShareState.ACCEPTED)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkKind(enum.StrEnum):
    READ = "read"
    READ_WRITE = "read-write"
    DROP = "drop"  # upload only: lists nothing, serves nothing


class Link(Base):
    __tablename__ = "links"
    __table_args__ = (Index("ix_links_node", "node_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # 128+ bits from the CSPRNG, URL-safe. Found by its SHA-256; kept for the owner's
    # "copy link" only sealed (AES-GCM under a key derived from the master key), so that
    # a copy of the database alone opens no link.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # The first characters, to tell links apart in lists and logs.
    token_hint: Mapped[str] = mapped_column(String(8))
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    sharer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    via_share_id: Mapped[int | None] = mapped_column(
        ForeignKey("shares.id", ondelete="CASCADE"), index=True, default=None
    )
    kind: Mapped[LinkKind] = mapped_column(str_enum(LinkKind))
    password_hash: Mapped[str | None] = mapped_column(String(256), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    max_downloads: Mapped[int | None] = mapped_column(Integer, default=None)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
