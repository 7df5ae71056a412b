"""Users, groups, app passwords, and authentication with throttling."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from thvc import onloop
from thvc.accounts.models import (
    AppPassword,
    CredentialCache,
    Group,
    GroupMember,
    LoginThrottle,
    Role,
    User,
    UserState,
)
from thvc.accounts.passwords import (
    MIN_PASSWORD_LENGTH,
    generate_app_password,
    hash_password,
    token_hash,
    verify_password,
)
from thvc.audit import AuditLog
from thvc.db.engine import Database
from thvc.db.hot import Batch, Later, Row, at_commit, marks
from thvc.db.types import utcnow
from thvc.errors import (
    AlreadyExists,
    BadRequest,
    NotAuthenticated,
    NotFound,
    TooManyFailedLogins,
)
from thvc.settings import Settings
from thvc.tenants.models import Tenant, TenantState

LOCAL_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
GROUP_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")


# The languages ThVC speaks; German is the default.
LANGUAGES = ("de", "en")


# A cached credential of an active account in an active tenant (see CredentialCache).
_CACHED_CREDENTIAL = (
    "SELECT u.id, u.login, u.tenant_id, u.role, u.display_name, u.expires_at"
    " FROM credential_cache c JOIN users u ON u.id = c.user_id"
    " JOIN tenants t ON t.id = u.tenant_id"
    " WHERE c.key = ? AND c.expires_at > ? AND u.state = ? AND t.state = ?"
)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def split_login(login: str) -> tuple[str, str]:
    """``anna@lauscha`` -> (``anna``, ``lauscha``); raises BadRequest otherwise."""
    name, sep, slug = login.strip().lower().rpartition("@")
    if not sep or not LOCAL_NAME.fullmatch(name) or not slug:
        raise BadRequest(f"invalid login {login!r}: expected NAME@TENANT, e.g. anna@lauscha")
    return name, slug


@dataclass(frozen=True)
class Principal:
    """Who is making a request, as the core needs to know it."""

    user_id: int
    login: str
    tenant_id: int
    role: Role
    display_name: str

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR

    @property
    def is_guest(self) -> bool:
        return self.role is Role.GUEST


def _looks_like_app_password(secret: str) -> bool:
    """The shape :func:`thvc.accounts.passwords` gives app passwords (five groups)."""
    return len(secret) == 29 and secret.count("-") == 4


def principal_of(user: User) -> Principal:
    return Principal(
        user.id, user.login, user.tenant_id, user.role, user.display_name or user.login
    )


@dataclass(frozen=True)
class GroupInfo:
    name: str
    members: tuple[str, ...]


class AccountService:
    """Accounts of every tenant. ``cache_secret`` keys the credential cache's HMAC."""

    def __init__(
        self, db: Database, *, audit: AuditLog, settings: Settings, cache_secret: bytes
    ) -> None:
        self.db = db
        self.audit = audit
        self.settings = settings
        self.cache_secret = cache_secret
        # What else an account made by create_user comes with, written in the transaction
        # that creates it (build_services adds the personal space): accounts know nothing
        # of files. Invited guests own no files and are not provisioned here.
        self.provisioners: list[Callable[[Session, User], None]] = []

    # -- users -------------------------------------------------------------

    def create_user(
        self,
        login: str,
        password: str | None,
        *,
        role: Role = Role.MEMBER,
        quota_bytes: int | None = None,
        display_name: str = "",
        email: str | None = None,
        actor: str = "system",
    ) -> User:
        name, slug = split_login(login)
        if password is not None and len(password) < MIN_PASSWORD_LENGTH:
            raise BadRequest(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
        pw_hash = hash_password(password) if password is not None else None
        with self.db.write() as s:
            tenant = s.scalar(select(Tenant).where(Tenant.slug == slug))
            if tenant is None or tenant.state is TenantState.DELETED:
                raise NotFound(f"no tenant {slug!r}")
            if role is Role.OPERATOR and tenant.kind.value != "platform":
                raise BadRequest("operators belong to the platform tenant")
            if s.scalar(select(User.id).where(User.login == f"{name}@{slug}")) is not None:
                raise AlreadyExists(f"user {name}@{slug} exists already")
            user = User(
                tenant_id=tenant.id,
                name=name,
                login=f"{name}@{slug}",
                role=role,
                password_hash=pw_hash,
                quota_bytes=quota_bytes,
                display_name=display_name or name,
                email=email,
            )
            s.add(user)
            s.flush()
            for provision in self.provisioners:
                provision(s, user)
            self.audit.record(
                s,
                action="user.create",
                tenant_id=tenant.id,
                actor=actor,
                target=user.login,
                detail={"role": role.value, "quota": quota_bytes},
            )
            return user

    def get_user(self, session: Session, login: str) -> User:
        user = session.scalar(select(User).where(User.login == login.strip().lower()))
        if user is None:
            raise NotFound(f"no user {login!r}")
        return user

    def list_users(self, tenant_slug: str | None = None) -> Sequence[tuple[User, str]]:
        with self.db.read() as s:
            q = select(User, Tenant.slug).join(Tenant, Tenant.id == User.tenant_id)
            if tenant_slug:
                q = q.where(Tenant.slug == tenant_slug)
            return [(u, t) for u, t in s.execute(q.order_by(User.login))]

    def user_counts(self) -> dict[int, int]:
        """Active accounts per tenant id (for usage reports)."""
        with self.db.read() as s:
            return {
                int(tid): int(n)
                for tid, n in s.execute(
                    select(User.tenant_id, func.count())
                    .where(User.state == UserState.ACTIVE)
                    .group_by(User.tenant_id)
                )
            }

    def set_state(self, login: str, state: UserState, *, actor: str = "system") -> User:
        with self.db.write() as s:
            user = self.get_user(s, login)
            user.state = state
            s.execute(delete(CredentialCache).where(CredentialCache.user_id == user.id))
            self.audit.record(
                s,
                action=f"user.{'enable' if state is UserState.ACTIVE else 'disable'}",
                tenant_id=user.tenant_id,
                actor=actor,
                target=user.login,
            )
            return user

    def delete_user(self, login: str, *, actor: str = "system") -> None:
        with self.db.write() as s:
            user = self.get_user(s, login)
            self.audit.record(
                s, action="user.delete", tenant_id=user.tenant_id, actor=actor, target=user.login
            )
            s.delete(user)

    def set_password(self, login: str, password: str, *, actor: str = "system") -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise BadRequest(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
        pw_hash = hash_password(password)
        with self.db.write() as s:
            user = self.get_user(s, login)
            user.password_hash = pw_hash
            s.execute(delete(CredentialCache).where(CredentialCache.user_id == user.id))
            self.audit.record(
                s, action="user.password", tenant_id=user.tenant_id, actor=actor, target=user.login
            )

    def set_display_name(self, login: str, name: str, *, actor: str = "system") -> None:
        """The name others see (share dialogs, owner columns); empty: the login."""
        name = " ".join(name.split())
        if len(name) > 200 or any(not c.isprintable() for c in name):
            raise BadRequest("a display name has at most 200 printable characters")
        with self.db.write() as s:
            user = self.get_user(s, login)
            user.display_name = name
            s.execute(delete(CredentialCache).where(CredentialCache.user_id == user.id))
            self.audit.record(
                s,
                action="user.display-name",
                tenant_id=user.tenant_id,
                actor=actor,
                target=user.login,
                detail={"display_name": name},
            )

    def set_language(self, login: str, language: str | None, *, actor: str = "system") -> None:
        """The web interface's language for ``login`` (None: follow the browser)."""
        if language is not None and language not in LANGUAGES:
            raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}")
        with self.db.write() as s:
            user = self.get_user(s, login)
            user.language = language
            self.audit.record(
                s,
                action="user.language",
                tenant_id=user.tenant_id,
                actor=actor,
                target=user.login,
                detail={"language": language},
            )

    # -- app passwords -----------------------------------------------------

    def create_app_password(self, login: str, name: str, *, actor: str = "system") -> str:
        """Return the new app password; only its hash is stored, so it is shown once."""
        if not name.strip() or len(name) > 100:
            raise BadRequest("an app password needs a name of 1-100 characters")
        token = generate_app_password()
        with self.db.write() as s:
            user = self.get_user(s, login)
            if (
                s.scalar(
                    select(AppPassword.id).where(
                        AppPassword.user_id == user.id, AppPassword.name == name
                    )
                )
                is not None
            ):
                raise AlreadyExists(f"{login} has an app password named {name!r} already")
            s.add(
                AppPassword(
                    user_id=user.id, name=name, token_hash=token_hash(token), hint=token[-4:]
                )
            )
            self.audit.record(
                s,
                action="app-password.create",
                tenant_id=user.tenant_id,
                actor=actor,
                target=user.login,
                detail={"name": name},
            )
        return token

    def list_app_passwords(self, login: str) -> Sequence[AppPassword]:
        with self.db.read() as s:
            user = self.get_user(s, login)
            return s.scalars(
                select(AppPassword).where(AppPassword.user_id == user.id).order_by(AppPassword.name)
            ).all()

    def revoke_app_password(self, login: str, name: str, *, actor: str = "system") -> None:
        with self.db.write() as s:
            user = self.get_user(s, login)
            app = s.scalar(
                select(AppPassword).where(AppPassword.user_id == user.id, AppPassword.name == name)
            )
            if app is None:
                raise NotFound(f"{login} has no app password named {name!r}")
            s.delete(app)  # the cached credentials go with it (ON DELETE CASCADE)
            s.execute(delete(CredentialCache).where(CredentialCache.app_password_id == app.id))
            self.audit.record(
                s,
                action="app-password.revoke",
                tenant_id=user.tenant_id,
                actor=actor,
                target=user.login,
                detail={"name": name},
            )

    # -- groups ------------------------------------------------------------

    def create_group(self, tenant_slug: str, name: str, *, actor: str = "system") -> Group:
        if not GROUP_NAME.fullmatch(name):
            raise BadRequest(f"invalid group name {name!r}")
        with self.db.write() as s:
            tenant = s.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
            if tenant is None:
                raise NotFound(f"no tenant {tenant_slug!r}")
            if (
                s.scalar(select(Group.id).where(Group.tenant_id == tenant.id, Group.name == name))
                is not None
            ):
                raise AlreadyExists(f"group {name}@{tenant_slug} exists already")
            group = Group(tenant_id=tenant.id, name=name, display_name=name)
            s.add(group)
            s.flush()
            self.audit.record(
                s,
                action="group.create",
                tenant_id=tenant.id,
                actor=actor,
                target=f"{name}@{tenant_slug}",
            )
            return group

    def _group(self, s: Session, tenant_id: int, name: str) -> Group:
        group = s.scalar(select(Group).where(Group.tenant_id == tenant_id, Group.name == name))
        if group is None:
            raise NotFound(f"no group {name!r} in this tenant")
        return group

    def add_to_group(self, group: str, login: str, *, actor: str = "system") -> None:
        with self.db.write() as s:
            user = self.get_user(s, login)
            g = self._group(s, user.tenant_id, group)
            if s.get(GroupMember, (g.id, user.id)) is None:
                s.add(GroupMember(group_id=g.id, user_id=user.id))
            self.audit.record(
                s,
                action="group.add",
                tenant_id=user.tenant_id,
                actor=actor,
                target=user.login,
                detail={"group": group},
            )

    def remove_from_group(self, group: str, login: str, *, actor: str = "system") -> None:
        with self.db.write() as s:
            user = self.get_user(s, login)
            g = self._group(s, user.tenant_id, group)
            member = s.get(GroupMember, (g.id, user.id))
            if member is None:
                raise NotFound(f"{login} is not in group {group!r}")
            s.delete(member)
            self.audit.record(
                s,
                action="group.remove",
                tenant_id=user.tenant_id,
                actor=actor,
                target=user.login,
                detail={"group": group},
            )

    def groups(self, tenant_id: int) -> list[GroupInfo]:
        """The tenant's groups with their members' logins, by name."""
        with self.db.read() as s:
            names = s.scalars(
                select(Group.name).where(Group.tenant_id == tenant_id).order_by(Group.name)
            ).all()
            members: dict[str, list[str]] = {n: [] for n in names}
            for group, login in s.execute(
                select(Group.name, User.login)
                .join(GroupMember, GroupMember.group_id == Group.id)
                .join(User, User.id == GroupMember.user_id)
                .where(Group.tenant_id == tenant_id)
                .order_by(User.login)
            ):
                members[group].append(login)
        return [GroupInfo(n, tuple(members[n])) for n in names]

    def delete_group(self, tenant_slug: str, name: str, *, actor: str = "system") -> None:
        """Remove a group; shares to it end with it (their rows cascade)."""
        with self.db.write() as s:
            tenant = s.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
            if tenant is None:
                raise NotFound(f"no tenant {tenant_slug!r}")
            group = self._group(s, tenant.id, name)
            s.execute(delete(Group).where(Group.id == group.id))
            self.audit.record(
                s,
                action="group.delete",
                tenant_id=tenant.id,
                actor=actor,
                target=f"{name}@{tenant_slug}",
            )

    # -- authentication ----------------------------------------------------

    def _cache_key(self, login: str, secret: str) -> str:
        msg = login.encode() + b"\0" + secret.encode()
        return hmac.new(self.cache_secret, msg, hashlib.sha256).hexdigest()

    def authenticate(
        self, login: str, secret: str, *, client: str | None, password_only: bool = False
    ) -> Principal:
        """Verify a login name and a password or app password.

        Raises TooManyFailedLogins while the account or the client address is
        throttled, NotAuthenticated otherwise on failure. A success is
        remembered for ``auth_cache_seconds`` under a keyed hash, so the next
        request of a sync client costs one indexed read instead of argon2.
        ``password_only`` (the web log-in form) accepts the account password and
        nothing else: app passwords are for clients, and do not pass TOTP.
        """
        # Lone surrogates (undecodable bytes) cannot reach the database or argon2:
        # replaced, they make an unknown name or a wrong password, as they should.
        login = login.encode("utf-8", "replace").decode()
        secret = secret.encode("utf-8", "replace").decode()
        # PostgreSQL refuses NUL in text; such a name is simply one that does not exist.
        login = login.strip().lower().replace("\x00", "\ufffd")[:200]
        now = utcnow()
        key = self._cache_key(login, secret)
        # Hashed: a name or forwarded address of any length fits the key column.
        keys = [f"acct:{_digest(login)}", f"addr:{_digest(client or '-')}"]
        # One read snapshot, in plain SQL, for the common case: not throttled, credential
        # cached (every request of a sync client). Both reads travel together.
        with self.db.hot() as r:
            with r.batch() as b:
                throttled = self._throttled_for(b, keys, now)
                cached = b.one(
                    _CACHED_CREDENTIAL,
                    key,
                    r.bind_ts(now),
                    UserState.ACTIVE.value,
                    TenantState.ACTIVE.value,
                )
            blocked = throttled.get()
            if not blocked and not password_only:
                hit = cached.get()
                if hit is not None:
                    expires = r.ts(hit[5])
                    if expires is None or expires > now:
                        return Principal(hit[0], hit[1], hit[2], Role(hit[3]), hit[4] or hit[1])
        # Not the cached case: argon2 or a write follows (thvc.onloop).
        onloop.check("a credential to verify")
        app_id: int | None = None
        if not blocked:
            with self.db.read() as s:  # one transaction for both reads
                found = s.execute(
                    select(User, Tenant)
                    .join(Tenant, Tenant.id == User.tenant_id)
                    .where(User.login == login)
                ).one_or_none()
                if found is not None and not password_only and _looks_like_app_password(secret):
                    app_id = s.scalar(
                        select(AppPassword.id).where(
                            AppPassword.user_id == found[0].id,
                            AppPassword.token_hash == token_hash(secret),
                        )
                    )
        if blocked:
            with self.db.write() as s:
                self.audit.record(
                    s,
                    action="login",
                    outcome="denied",
                    actor=login,
                    client=client,
                    detail={"reason": "throttled", "retry_after": blocked},
                )
            raise TooManyFailedLogins(blocked)
        # The slow verification runs outside any transaction.
        ok = app_id is not None
        if found is not None:
            user, tenant = found
            if not ok:
                ok = verify_password(user.password_hash, secret)
        else:
            verify_password(None, secret)
        # A refusal is recorded (audit, throttle counters) and committed before it is
        # raised: raising inside the transaction would roll the record back.
        refusal: NotAuthenticated | None = None
        with self.db.write() as s:
            if not ok or found is None:
                delay = self._record_failure(s, keys, now)
                self.audit.record(
                    s,
                    action="login",
                    outcome="failure",
                    actor=login,
                    client=client,
                    tenant_id=found[1].id if found else None,
                    detail={"delay": delay},
                )
                refusal = NotAuthenticated("wrong login name or password")
            else:
                user, tenant = found
                problem = self._refusal_reason(user, tenant, now)
                if problem:
                    self.audit.record(
                        s,
                        action="login",
                        outcome="denied",
                        actor=login,
                        client=client,
                        tenant_id=tenant.id,
                        detail={"reason": problem},
                    )
                    refusal = NotAuthenticated(problem)
                else:
                    self._remember(s, key, user, app_id, keys[0], now)
                    self.audit.record(
                        s,
                        action="login",
                        actor=login,
                        client=client,
                        tenant_id=tenant.id,
                        detail={"method": "app-password" if app_id else "password"},
                    )
                    principal = principal_of(user)
        if refusal is not None:
            raise refusal
        return principal

    @staticmethod
    def _refusal_reason(user: User, tenant: Tenant, now: datetime) -> str | None:
        if tenant.state is not TenantState.ACTIVE:
            return f"tenant {tenant.slug} is {tenant.state.value}"
        if user.state is not UserState.ACTIVE:
            return "account is disabled"
        if user.expires_at is not None and user.expires_at <= now:
            return "account has expired"
        return None

    def _remember(
        self, s: Session, key: str, user: User, app_id: int | None, account_key: str, now: datetime
    ) -> None:
        """After a success: clear the account's failures, cache the credential.

        Rows no ORM object of the transaction holds, written as its last statements
        (:func:`thvc.db.hot.at_commit`): on PostgreSQL a login's whole write is one
        round trip with its COMMIT and audit event, not six.
        """
        bind_ts = self.db.reader(s).bind_ts
        at_commit(s, "DELETE FROM login_throttle WHERE key = ?", account_key)
        if self.settings.auth_cache_seconds:
            expires = now + timedelta(seconds=self.settings.auth_cache_seconds)
            at_commit(
                s,
                "INSERT INTO credential_cache (key, user_id, app_password_id, expires_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET user_id = excluded.user_id,"
                " app_password_id = excluded.app_password_id, expires_at = excluded.expires_at",
                key,
                user.id,
                app_id,
                bind_ts(expires),
            )
        if app_id is not None:
            at_commit(
                s,
                "UPDATE app_passwords SET last_used_at = ? WHERE id = ?",
                bind_ts(now),
                app_id,
            )

    # Throttling for other secrets (link passwords): the same counters and delays.
    def throttle_wait(self, keys: list[str]) -> int:
        """Seconds until ``keys`` may try again (0: now)."""
        with self.db.hot() as r, r.batch() as b:
            return self._throttled_for(b, keys, utcnow()).get()

    def throttle_failure(self, s: Session, keys: list[str]) -> int:
        """Count a failure in the caller's transaction; returns the delay now imposed."""
        return self._record_failure(s, keys, utcnow())

    @staticmethod
    def _throttled_for(b: Batch, keys: list[str], now: datetime) -> Later[int]:
        """Seconds until the account and the client address may try again (0: now)."""
        r = b.reader

        def wait(blocked: list[Row]) -> int:
            if not blocked:
                return 0
            until = max(t for (u,) in blocked if (t := r.ts(u)) is not None)
            return max(1, math.ceil((until - now).total_seconds()))

        return b.all(
            f"SELECT blocked_until FROM login_throttle WHERE key IN ({marks(len(keys))})"
            " AND blocked_until > ?",
            *keys,
            r.bind_ts(now),
        ).then(wait)

    def _record_failure(self, s: Session, keys: list[str], now: datetime) -> int:
        """Count a failure under each key; from the free allowance on, delays double."""
        longest = 0
        for key in keys:
            row = s.get(LoginThrottle, key, with_for_update=True)
            if row is None:
                row = LoginThrottle(key=key, failures=0, last_failure_at=now)
                s.add(row)
            elif (now - row.last_failure_at) > timedelta(days=1):
                row.failures = 0
            row.failures += 1
            row.last_failure_at = now
            over = row.failures - self.settings.login_free_failures
            if over >= 0:
                delay = min(self.settings.login_max_delay_seconds, 2 ** min(over, 20))
                row.blocked_until = now + timedelta(seconds=delay)
                longest = max(longest, delay)
        s.flush()
        return longest

    def clean_credential_cache(self) -> int:
        with self.db.write() as s:
            res = s.execute(delete(CredentialCache).where(CredentialCache.expires_at <= utcnow()))
            return int(res.rowcount or 0)  # type: ignore[attr-defined]

    # -- app passwords alone (bearer tokens) -------------------------------

    def authenticate_app_password(self, token: str, *, client: str | None) -> Principal:
        """Verify an app password sent without a login name (``Authorization: Bearer``).

        ``token_hash`` is unique and app passwords carry ~148 random bits, so the
        SHA-256 finds the account in one indexed read: no argon2, no credential
        cache. Failures are throttled per client address (there is no login to
        count them against, and 148 bits leave nothing to aim at one account).
        A success is written (``last_used_at``, the audit event) at most once per
        ``auth_cache_seconds``, as often as a cached Basic credential is checked.
        Raises TooManyFailedLogins while the address is throttled,
        NotAuthenticated otherwise on failure.
        """
        token = token.encode("utf-8", "replace").decode().strip()[:200]
        now = utcnow()
        keys = [f"addr:{_digest(client or '-')}"]
        found: tuple[AppPassword, User, Tenant] | None = None
        with self.db.read() as s:
            with self.db.reader(s).batch() as b:
                blocked = self._throttled_for(b, keys, now).get()
            if not blocked:
                row = s.execute(
                    select(AppPassword, User, Tenant)
                    .join(User, User.id == AppPassword.user_id)
                    .join(Tenant, Tenant.id == User.tenant_id)
                    .where(AppPassword.token_hash == token_hash(token))
                ).one_or_none()
                found = (row[0], row[1], row[2]) if row is not None else None
        if blocked:
            with self.db.write() as s:
                self.audit.record(
                    s,
                    action="login",
                    outcome="denied",
                    actor="bearer",
                    client=client,
                    detail={"reason": "throttled", "retry_after": blocked},
                )
            raise TooManyFailedLogins(blocked)
        if found is None:
            with self.db.write() as s:
                delay = self._record_failure(s, keys, now)
                self.audit.record(
                    s,
                    action="login",
                    outcome="failure",
                    actor="bearer",
                    client=client,
                    detail={"delay": delay, "method": "bearer"},
                )
            raise NotAuthenticated("unknown or revoked app password")
        app, user, tenant = found
        problem = self._refusal_reason(user, tenant, now)
        fresh = app.last_used_at is not None and now - app.last_used_at < timedelta(
            seconds=self.settings.auth_cache_seconds
        )
        if problem or not fresh:
            with self.db.write() as s:
                self.audit.record(
                    s,
                    action="login",
                    outcome="denied" if problem else "success",
                    actor=user.login,
                    client=client,
                    tenant_id=tenant.id,
                    detail={"reason": problem} if problem else {"method": "bearer"},
                )
                used = s.get(AppPassword, app.id) if not problem else None
                if used is not None:
                    used.last_used_at = now
            if problem:
                raise NotAuthenticated(problem)
        return principal_of(user)
