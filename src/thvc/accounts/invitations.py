"""Guests: external people invited by e-mail into the inviting tenant.

A guest is a user with the guest role and an expiry date: no files of their own
(their root is read-only), only what is shared with them. The invitation is a
one-time link to set a password; only its SHA-256 is stored. When SMTP is
configured the link goes out by mail, otherwise the inviter gets it to pass on.
"""

from __future__ import annotations

import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from thvc.accounts.models import Invitation, Role, User, UserState
from thvc.accounts.passwords import MIN_PASSWORD_LENGTH, hash_password, token_hash
from thvc.accounts.services import Principal
from thvc.audit import AuditLog
from thvc.db.engine import Database
from thvc.db.types import utcnow
from thvc.errors import BadRequest, Forbidden, NotFound
from thvc.settings import Settings
from thvc.tenants.models import Tenant
from thvc.tenants.services import policy_of

# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is the
# mail server's business; this only keeps obvious mistakes out.
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class InvitationGone(NotFound):
    default_message = "this invitation does not exist, was used or has expired"


@dataclass(frozen=True)
class Invited:
    login: str
    email: str
    expires_at: datetime
    url: str
    # False when no SMTP server is configured: the inviter passes the URL on.
    mailed: bool


def _guest_name(email: str) -> str:
    local = re.sub(r"[^a-z0-9._-]+", "-", email.partition("@")[0].lower()).strip("._-")
    return f"gast.{local or 'extern'}"[:50].rstrip("._-")


class InvitationService:
    def __init__(self, db: Database, *, audit: AuditLog, settings: Settings) -> None:
        self.db = db
        self.audit = audit
        self.settings = settings

    def invite(
        self,
        inviter: Principal,
        email: str,
        *,
        display_name: str = "",
        days: int | None = None,
        client: str | None = None,
    ) -> Invited:
        email = email.strip().lower()
        if not EMAIL.fullmatch(email):
            raise BadRequest(f"not an e-mail address: {email!r}")
        days = self.settings.guest_days if days is None else days
        if not 1 <= days <= 3650:
            raise BadRequest("a guest account lives between 1 and 3650 days")
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + timedelta(days=days)
        with self.db.write() as s:
            tenant = s.get_one(Tenant, inviter.tenant_id)
            if inviter.role is Role.GUEST:
                raise Forbidden("guests cannot invite")
            if inviter.role is Role.MEMBER and not policy_of(s, tenant.id).members_invite:
                raise Forbidden(f"in {tenant.slug}, only tenant admins may invite guests")
            base = _guest_name(email)
            name, n = base, 1
            while s.scalar(select(User.id).where(User.login == f"{name}@{tenant.slug}")):
                n += 1
                name = f"{base}{n}"
            user = User(
                tenant_id=tenant.id,
                name=name,
                login=f"{name}@{tenant.slug}",
                role=Role.GUEST,
                state=UserState.ACTIVE,
                password_hash=None,
                quota_bytes=0,
                display_name=display_name or email,
                email=email,
                expires_at=expires,
            )
            s.add(user)
            s.flush()
            s.add(
                Invitation(
                    user_id=user.id,
                    token_hash=token_hash(token),
                    invited_by=inviter.login,
                    created_at=now,
                    expires_at=now + timedelta(days=self.settings.invitation_days),
                )
            )
            self.audit.record(
                s,
                action="guest.invite",
                tenant_id=tenant.id,
                actor=inviter.login,
                client=client,
                target=user.login,
                detail={"email": email, "expires_at": expires.isoformat()},
            )
            login = user.login
        url = f"{self.settings.base_url.rstrip('/')}/invite/{token}"
        mailed = False
        if self.settings.smtp_host:
            self._send(email, inviter, url)
            mailed = True
        return Invited(login, email, expires, url, mailed)

    def _send(self, to: str, inviter: Principal, url: str) -> None:
        msg = EmailMessage()
        msg["From"] = self.settings.smtp_from
        msg["To"] = to
        msg["Subject"] = "Einladung zur ThVC / Invitation to ThVC"
        msg.set_content(
            f"{inviter.display_name} ({inviter.login}) lädt Sie ein, Dateien über die ThVC "
            "auszutauschen. Legen Sie hier Ihr Passwort fest:\n\n"
            f"{url}\n\n"
            f"{inviter.display_name} ({inviter.login}) invites you to exchange files on "
            f"ThVC. Set your password here:\n\n{url}\n\n"
            f"Der Link gilt {self.settings.invitation_days} Tage und nur einmal. / "
            f"The link works once, for {self.settings.invitation_days} days.\n"
        )
        st = self.settings
        with smtplib.SMTP(st.smtp_host, st.smtp_port, timeout=30) as smtp:
            if st.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if st.smtp_user:
                smtp.login(st.smtp_user, st.smtp_password)
            smtp.send_message(msg)

    def pending(self, token: str) -> tuple[str, str]:
        """(login, display name) of a usable invitation, else InvitationGone."""
        with self.db.read() as s:
            row = self._usable(s, token)
            user = s.get_one(User, row.user_id)
            return user.login, user.display_name

    @staticmethod
    def _usable(s: Session, token: str) -> Invitation:
        row = s.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))
        if row is None or row.used_at is not None or row.expires_at <= utcnow():
            raise InvitationGone()
        return row

    def accept(self, token: str, password: str, *, client: str | None = None) -> str:
        """Set the guest's password; the link is used up. Returns the guest's login."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise BadRequest(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
        pw_hash = hash_password(password)
        with self.db.write() as s:
            row = self._usable(s, token)
            user = s.get_one(User, row.user_id)
            user.password_hash = pw_hash
            row.used_at = utcnow()
            self.audit.record(
                s,
                action="guest.accept",
                tenant_id=user.tenant_id,
                actor=user.login,
                client=client,
                target=user.login,
            )
            return user.login
