"""The file tree.

Each node stores its full path inside its space (``""`` for the root,
``/a/b`` below it), so that a lookup is one indexed query and a folder's
descendants are one range scan (``path > '/a/' AND path < '/a0'``); a move
rewrites the subtree's paths in one statement. Trashed nodes keep their rows
(``trashed_at`` set) and drop out of the unique live-path index.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from thvc.db.base import Base
from thvc.db.types import Name, PathText, UTCDateTime, str_enum, utcnow
from thvc.tenants.models import BigInt


class SpaceKind(enum.StrEnum):
    PERSONAL = "personal"
    TEAM = "team"


class SpaceRole(enum.StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    MANAGER = "manager"


class Space(Base):
    __tablename__ = "spaces"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[SpaceKind] = mapped_column(str_enum(SpaceKind))
    # Personal spaces are named after their owner's login; team spaces by their title.
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None, unique=True
    )
    quota_bytes: Mapped[int | None] = mapped_column(BigInt, default=None)
    used_bytes: Mapped[int] = mapped_column(BigInt, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpaceMember(Base):
    __tablename__ = "space_members"
    __table_args__ = (
        UniqueConstraint("space_id", "user_id"),
        UniqueConstraint("space_id", "group_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None, index=True
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None, index=True
    )
    role: Mapped[SpaceRole] = mapped_column(str_enum(SpaceRole))


class Node(Base):
    __tablename__ = "nodes"
    __table_args__ = (
        Index(
            "uq_nodes_live_path",
            "space_id",
            "path",
            unique=True,
            sqlite_where=text("trashed_at IS NULL"),
            postgresql_where=text("trashed_at IS NULL"),
        ),
        Index("ix_nodes_parent_id_name", "parent_id", "name"),
    )

    # The file id: stable across renames and moves (Nextcloud's fileid).
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), default=None
    )
    path: Mapped[str] = mapped_column(PathText)
    name: Mapped[str] = mapped_column(Name)
    is_dir: Mapped[bool] = mapped_column(Boolean)
    # Files: content length. Folders: total size of everything below (oc:size).
    size: Mapped[int] = mapped_column(BigInt, default=0)
    etag: Mapped[str] = mapped_column(String(40))
    mtime: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    content_type: Mapped[str | None] = mapped_column(String(255), default=None)
    blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"), default=None, index=True)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    trashed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The node whose deletion put this one into the trash (itself for the top).
    trash_root_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)


class Blob(Base):
    """A stored, encrypted content blob; several versions and copies may share one."""

    __tablename__ = "blobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    size: Mapped[int] = mapped_column(BigInt)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Version(Base):
    """An earlier content of a file; the current content lives on the node itself."""

    __tablename__ = "versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), index=True)
    blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"), index=True)
    size: Mapped[int] = mapped_column(BigInt)
    sha256: Mapped[str] = mapped_column(String(64))
    mtime: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author: Mapped[str | None] = mapped_column(String(128), default=None)


class DeadProperty(Base):
    """A WebDAV dead property: any XML a client stored with PROPPATCH."""

    __tablename__ = "dead_properties"

    node_id: Mapped[int] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    namespace: Mapped[str] = mapped_column(String(512), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    # The property element serialised as XML (its children and text, with namespaces).
    value: Mapped[str] = mapped_column(Text)


class LockScope(enum.StrEnum):
    EXCLUSIVE = "exclusive"
    SHARED = "shared"


class Lock(Base):
    """A WebDAV write lock (RFC 4918 §6), enforced by the core for every way of writing.

    Locks belong to URLs, not to nodes: a lock on a folder with depth
    infinity covers everything below that path, including names not yet
    created, and a MOVE leaves the lock behind (§7.7).
    """

    __tablename__ = "locks"
    __table_args__ = (Index("ix_locks_space_id_path", "space_id", "path"),)

    token: Mapped[str] = mapped_column(String(80), primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(PathText)
    infinite: Mapped[bool] = mapped_column(Boolean)
    scope: Mapped[LockScope] = mapped_column(str_enum(LockScope))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The DAV:owner element the client sent, as XML (returned verbatim in lockdiscovery).
    owner: Mapped[str] = mapped_column(Text, default="")
    timeout: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The request URL the lock was taken on, for lockroot.
    root_href: Mapped[str] = mapped_column(Text, default="")
