"""Accounts belong to exactly one tenant; the login is ``name@tenant``."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from thvc.db.base import Base
from thvc.db.types import UTCDateTime, str_enum, utcnow
from thvc.tenants.models import BigInt


class Role(enum.StrEnum):
    OPERATOR = "operator"
    TENANT_ADMIN = "tenant-admin"
    MEMBER = "member"
    GUEST = "guest"


class UserState(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    login: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.MEMBER)
    state: Mapped[UserState] = mapped_column(str_enum(UserState), default=UserState.ACTIVE)
    password_hash: Mapped[str | None] = mapped_column(String(256), default=None)
    quota_bytes: Mapped[int | None] = mapped_column(BigInt, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The web interface's language ("de"/"en"); None: the browser's choice.
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    # TOTP (RFC 6238): the shared secret sealed with AES-GCM under a key derived from
    # the master key (a database copy alone does not reveal it), set at enrolment and
    # in force once confirmed; the last accepted time step stops a code's replay.
    totp_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInt, default=None)


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AppPassword(Base):
    """A named secret for sync clients and scripts; only its SHA-256 is kept.

    App passwords are 160+ bits of CSPRNG output, so a fast hash is safe and
    lets a request be matched in one indexed lookup instead of an argon2 run.
    """

    __tablename__ = "app_passwords"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class LoginThrottle(Base):
    """Failed-login counters per account and per client address, shared by all processes."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class CredentialCache(Base):
    """A recently verified Basic credential, keyed by an HMAC of login and secret.

    Sync clients send the password with every request; argon2 on each would
    cost tens of milliseconds. The key is a keyed hash, never the secret.
    """

    __tablename__ = "credential_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    app_password_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_passwords.id", ondelete="CASCADE"), default=None, index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFlow(Base):
    """A Nextcloud Login Flow v2 in progress.

    Only hashes of the two tokens are stored. The app password issued at the
    end is kept sealed with a key derived from the poll token, which only the
    polling client knows, until it is collected (then the row is deleted).
    """

    __tablename__ = "login_flows"

    poll_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    login_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    login: Mapped[str | None] = mapped_column(String(128), default=None)
    sealed_password: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class Invitation(Base):
    """A one-time link for a guest to set a password; only the token's SHA-256 is kept."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class WebSession(Base):
    """A browser's log-in. The cookie holds a random token; the row its SHA-256.

    Rows, not a signed cookie alone, so that log-out, a password change and the
    "sessions" page can end a session in every process at once.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The absolute end; the idle end is last_seen_at + the idle time-out.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Password given, TOTP code still due: the session opens nothing yet.
    second_factor_due: Mapped[bool] = mapped_column(default=False)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    client: Mapped[str] = mapped_column(String(64), default="")
