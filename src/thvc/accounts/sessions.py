"""Web log-in sessions: started by the log-in form, ended by log-out, time-outs or revocation.

The browser holds a random 256-bit token; the database its SHA-256 (a copy of
the table opens no session). A session ends after ``session_idle_minutes``
without a request and after ``session_max_hours`` in any case. Where the user
has TOTP on, a new session is only half open (``second_factor_due``) until a
code is given, and then gets a new token: the token a browser held before it
was fully logged in never becomes a full session (session fixation).

The forms' CSRF token is an HMAC of the session's token hash under a key of its
own: nothing to store, and it changes with the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from thvc.accounts.models import User, UserState, WebSession
from thvc.accounts.passwords import MIN_PASSWORD_LENGTH
from thvc.accounts.services import AccountService, Principal, principal_of
from thvc.accounts.totp import TotpService
from thvc.audit import AuditLog
from thvc.db.engine import Database
from thvc.db.types import utcnow
from thvc.errors import BadRequest, NotAuthenticated, NotFound, TooManyFailedLogins
from thvc.settings import Settings
from thvc.tenants.models import Tenant, TenantState

# A session's last-seen time is written at most this often: one write per minute of
# activity, not one per page.
TOUCH_EVERY = timedelta(seconds=60)
# A log-in waiting for its TOTP code is given up after this long: the half-open
# session cannot be kept to guess codes at leisure.
SECOND_FACTOR_WINDOW = timedelta(minutes=10)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class SessionExpired(NotAuthenticated):
    """No such session, or it ended (log-out, time-out, revocation)."""


class SecondFactorDue(NotAuthenticated):
    """The password was right; the TOTP code is still due."""


@dataclass(frozen=True)
class SessionInfo:
    id: int
    principal: Principal
    csrf: str
    language: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str
    client: str


@dataclass(frozen=True)
class Started:
    """A log-in's result: the token to set, and whether a TOTP code is still due."""

    token: str
    second_factor_due: bool


@dataclass(frozen=True)
class SessionSummary:
    """One of a user's sessions, for the list on the settings page."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    client: str


class SessionService:
    def __init__(
        self,
        db: Database,
        *,
        audit: AuditLog,
        accounts: AccountService,
        totp: TotpService,
        settings: Settings,
        csrf_key: bytes,
    ) -> None:
        self.db = db
        self.audit = audit
        self.accounts = accounts
        self.totp = totp
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.max_age = timedelta(hours=settings.session_max_hours)
        self._csrf_key = csrf_key

    def csrf_for(self, token: str) -> str:
        return hmac.new(self._csrf_key, _hash(token).encode(), hashlib.sha256).hexdigest()

    # -- log-in ---------------------------------------------------------------

    def login(
        self, login: str, password: str, *, client: str | None = None, user_agent: str = ""
    ) -> Started:
        """Check the password (throttled, audited by accounts) and open a session."""
        principal = self.accounts.authenticate(login, password, client=client, password_only=True)
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self.db.write() as s:
            user = s.get_one(User, principal.user_id)
            due = user.totp_confirmed_at is not None
            s.add(
                WebSession(
                    token_hash=_hash(token),
                    user_id=user.id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.max_age,
                    second_factor_due=due,
                    user_agent=user_agent[:200],
                    client=(client or "")[:64],
                )
            )
            self.audit.record(
                s,
                action="session.start",
                actor=user.login,
                client=client,
                tenant_id=user.tenant_id,
                detail={"second_factor_due": due},
            )
        return Started(token, due)

    def second_factor(self, token: str, code: str, *, client: str | None = None) -> str:
        """Complete a half-open session with a TOTP code; returns the session's new token."""
        now = utcnow()
        with self.db.read() as s:
            row = s.execute(
                select(WebSession.id, WebSession.user_id).where(
                    WebSession.token_hash == _hash(token),
                    WebSession.second_factor_due.is_(True),
                    WebSession.expires_at > now,
                    WebSession.created_at > now - SECOND_FACTOR_WINDOW,
                    WebSession.last_seen_at > now - self.idle,
                )
            ).one_or_none()
        if row is None:
            raise SessionExpired("the log-in has timed out; please start again")
        session_id, user_id = row
        keys = [f"totp:{user_id}"]
        wait = self.accounts.throttle_wait(keys)
        if wait:
            raise TooManyFailedLogins(wait)
        new_token = secrets.token_urlsafe(32)
        ok = False
        with self.db.write() as s:
            user = s.get_one(User, user_id)
            ok = self.totp.verify(s, user, code)
            if ok:
                s.execute(
                    update(WebSession)
                    .where(WebSession.id == session_id)
                    .values(token_hash=_hash(new_token), second_factor_due=False, last_seen_at=now)
                )
            else:
                self.accounts.throttle_failure(s, keys)
            self.audit.record(
                s,
                action="session.second-factor",
                outcome="success" if ok else "failure",
                actor=user.login,
                client=client,
                tenant_id=user.tenant_id,
            )
        if not ok:
            raise NotAuthenticated("the code is wrong or was used already")
        return new_token

    # -- every request --------------------------------------------------------

    def resume(self, token: str) -> SessionInfo:
        """The open session of ``token``; SessionExpired if there is none."""
        now = utcnow()
        token_hash = _hash(token)
        with self.db.read() as s:
            found = s.execute(
                select(WebSession, User)
                .join(User, User.id == WebSession.user_id)
                .join(Tenant, Tenant.id == User.tenant_id)
                .where(
                    WebSession.token_hash == token_hash,
                    WebSession.expires_at > now,
                    WebSession.last_seen_at > now - self.idle,
                    User.state == UserState.ACTIVE,
                    Tenant.state == TenantState.ACTIVE,
                )
            ).one_or_none()
            if found is None:
                raise SessionExpired("not logged in, or the session has ended")
            ws, user = found
            if ws.second_factor_due:
                raise SecondFactorDue("the second factor is still due")
            if user.expires_at is not None and user.expires_at <= now:
                raise SessionExpired("the account has expired")
            info = SessionInfo(
                id=ws.id,
                principal=principal_of(user),
                csrf=self.csrf_for(token),
                language=user.language,
                created_at=ws.created_at,
                last_seen_at=ws.last_seen_at,
                expires_at=ws.expires_at,
                user_agent=ws.user_agent,
                client=ws.client,
            )
        if now - info.last_seen_at > TOUCH_EVERY:
            with self.db.write() as s:
                s.execute(
                    update(WebSession).where(WebSession.id == info.id).values(last_seen_at=now)
                )
        return info

    # -- ending ---------------------------------------------------------------

    def logout(self, token: str, *, client: str | None = None) -> None:
        """End the session of ``token`` (no error if it has ended already)."""
        with self.db.write() as s:
            row = s.execute(
                select(WebSession.id, User.login, User.tenant_id)
                .join(User, User.id == WebSession.user_id)
                .where(WebSession.token_hash == _hash(token))
            ).one_or_none()
            if row is None:
                return
            s.execute(delete(WebSession).where(WebSession.id == row.id))
            self.audit.record(
                s, action="session.end", actor=row.login, client=client, tenant_id=row.tenant_id
            )

    def sessions_of(self, actor: Principal) -> list[SessionSummary]:
        now = utcnow()
        with self.db.read() as s:
            rows = s.scalars(
                select(WebSession)
                .where(
                    WebSession.user_id == actor.user_id,
                    WebSession.second_factor_due.is_(False),
                    WebSession.expires_at > now,
                    WebSession.last_seen_at > now - self.idle,
                )
                .order_by(WebSession.last_seen_at.desc())
            ).all()
            return [
                SessionSummary(r.id, r.created_at, r.last_seen_at, r.user_agent, r.client)
                for r in rows
            ]

    def revoke(self, actor: Principal, session_id: int, *, client: str | None = None) -> None:
        """End one of ``actor``'s own sessions (e.g. a browser left logged in elsewhere)."""
        with self.db.write() as s:
            res = s.execute(
                delete(WebSession).where(
                    WebSession.id == session_id, WebSession.user_id == actor.user_id
                )
            )
            gone = int(res.rowcount or 0)  # type: ignore[attr-defined]
            if not gone:
                raise NotFound("no such session")
            self.audit.record(
                s,
                action="session.revoke",
                actor=actor.login,
                client=client,
                tenant_id=actor.tenant_id,
                detail={"session": session_id},
            )

    def revoke_others(self, s: Session, user_id: int, keep: int | None = None) -> int:
        """Inside the caller's transaction: end every session of ``user_id`` but ``keep``
        (after a password change, a disabled account, a removed second factor)."""
        stmt = delete(WebSession).where(WebSession.user_id == user_id)
        if keep is not None:
            stmt = stmt.where(WebSession.id != keep)
        res = s.execute(stmt)
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    def change_password(
        self,
        info: SessionInfo,
        current: str,
        new: str,
        *,
        client: str | None = None,
    ) -> None:
        """A user's own password change from a web session (which stays open)."""
        self.change_own_password(info.principal, current, new, client=client, keep=info.id)

    def change_own_password(
        self,
        actor: Principal,
        current: str,
        new: str,
        *,
        client: str | None = None,
        keep: int | None = None,
    ) -> None:
        """A user's own password change: the current one is checked (throttled), the new
        one set, and every web session of the user but ``keep`` ended.

        The sessions end first: should setting the password then fail, they are gone
        and the old password still holds, never the reverse.
        """
        if len(new) < MIN_PASSWORD_LENGTH:
            raise BadRequest(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
        self.accounts.authenticate(actor.login, current, client=client, password_only=True)
        with self.db.write() as s:
            ended = self.revoke_others(s, actor.user_id, keep=keep)
            self.audit.record(
                s,
                action="session.revoke",
                actor=actor.login,
                client=client,
                tenant_id=actor.tenant_id,
                detail={"others": ended, "reason": "password"},
            )
        self.accounts.set_password(actor.login, new, actor=actor.login)

    def purge_expired(self) -> int:
        """Delete ended sessions (run by ``thvc cleanup``)."""
        now = utcnow()
        with self.db.write() as s:
            res = s.execute(
                delete(WebSession).where(
                    (WebSession.expires_at <= now) | (WebSession.last_seen_at <= now - self.idle)
                )
            )
            return int(res.rowcount or 0)  # type: ignore[attr-defined]
