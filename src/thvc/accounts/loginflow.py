"""Nextcloud Login Flow v2, the core side: start, sign in, grant, collect once.

A client starts a flow and gets two tokens: the *poll token*, which it keeps,
and the *login token*, which goes into the URL it opens in a browser. There
the user signs in and grants access; that issues an app password. The client
collects it with the poll token, exactly once, and the flow is gone.

Only SHA-256 hashes of the tokens are stored. The app password waits sealed
with AES-GCM under a key derived from the poll token, so a copy of the
database reveals neither the tokens nor the password. Until the grant that key
itself is kept wrapped under a key derived from the login token, which is what
the granting browser presents; the poll token never leaves the client.

The signed-in state between the sign-in form and the grant form is a
*ticket*: an HMAC over the login token, the login and an expiry, keyed with a
server secret. It lives in the page, not in any process's memory, so any
server process may answer the next request; and it is the grant form's CSRF
token, since nobody can make one without the server secret.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import math
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from thvc.accounts.models import LoginFlow, User, UserState
from thvc.accounts.passwords import token_hash
from thvc.accounts.services import AccountService, Principal, principal_of
from thvc.audit import AuditLog
from thvc.db.engine import Database
from thvc.db.types import utcnow
from thvc.errors import AlreadyExists, Forbidden, NotAuthenticated, NotFound, ThvcError
from thvc.tenants.models import Tenant, TenantState

# Nextcloud forgets a flow after 20 minutes; the clients stop polling then too.
FLOW_LIFETIME = timedelta(minutes=20)
# How long a sign-in on the flow page stays good for the grant.
TICKET_LIFETIME = timedelta(minutes=10)
# Nextcloud's tokens are 128 characters of [A-Za-z0-9] (~762 bits); the clients take any.
TOKEN_LENGTH = 128
_ALPHABET = string.ascii_letters + string.digits
CLIENT_NAME_MAX = 200  # LoginFlow.client_name
APP_NAME_MAX = 100  # AppPassword.name
_NONCE = 12


class FlowNotFound(NotFound):
    """No such login flow, or it has expired."""


class FlowNotGranted(FlowNotFound):
    """The login flow has not been granted yet; poll again later."""


class InvalidFormToken(Forbidden):
    """The form's token is missing, wrong or expired; reload the page and try again."""


@dataclass(frozen=True)
class FlowTokens:
    """What a started flow hands to the client: keep ``poll``, open ``login``."""

    poll: str
    login: str


@dataclass(frozen=True)
class FlowInfo:
    client_name: str
    expires_at: datetime


@dataclass(frozen=True)
class Credentials:
    """What the client collects: the login name and a fresh app password."""

    login: str
    app_password: str


def new_token() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(TOKEN_LENGTH))


def _key(token: str, purpose: bytes) -> bytes:
    # The tokens are long CSPRNG output, so a fast KDF is enough.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        token.encode()
    )


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:_NONCE], sealed[_NONCE:], aad)


def _poll_key(poll_token: str) -> bytes:
    return _key(poll_token, b"thvc login flow v2: app password seal")


def _wrap_key(login_token: str) -> bytes:
    return _key(login_token, b"thvc login flow v2: seal key wrap")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LoginFlowService:
    """Login flows of every tenant; ``secret`` keys the form tokens and tickets."""

    def __init__(
        self,
        db: Database,
        *,
        audit: AuditLog,
        accounts: AccountService,
        secret: bytes,
        lifetime: timedelta = FLOW_LIFETIME,
    ) -> None:
        assert len(secret) >= 32, "the login flow secret must have 256 bits"
        self.db = db
        self.audit = audit
        self.accounts = accounts
        self.secret = secret
        self.lifetime = lifetime

    # -- start -------------------------------------------------------------

    def start(self, client_name: str, *, client: str | None = None) -> FlowTokens:
        """Open a flow for ``client_name`` (what the grant page shows); expired ones go."""
        name = " ".join(client_name.split())[:CLIENT_NAME_MAX] or "unknown client"
        tokens = FlowTokens(new_token(), new_token())
        poll_hash = token_hash(tokens.poll)
        # The seal key waits wrapped under the login token until the grant.
        wrapped = _seal(_wrap_key(tokens.login), _poll_key(tokens.poll), poll_hash.encode())
        now = utcnow()
        with self.db.write() as s:
            self._purge(s, now)
            s.add(
                LoginFlow(
                    poll_hash=poll_hash,
                    login_hash=token_hash(tokens.login),
                    client_name=name,
                    created_at=now,
                    expires_at=now + self.lifetime,
                    login=None,
                    sealed_password=wrapped,
                )
            )
            self.audit.record(
                s, action="login-flow.start", client=client, detail={"client_name": name}
            )
        return tokens

    # -- the browser side --------------------------------------------------

    def _pending(self, s: Session, login_token: str) -> LoginFlow:
        flow = s.scalar(select(LoginFlow).where(LoginFlow.login_hash == token_hash(login_token)))
        if flow is None or flow.expires_at <= utcnow() or flow.login is not None:
            raise FlowNotFound()
        return flow

    def describe(self, login_token: str) -> FlowInfo:
        """The flow waiting for a grant at ``login_token``; FlowNotFound if none (or expired)."""
        with self.db.read() as s:
            flow = self._pending(s, login_token)
            return FlowInfo(flow.client_name, flow.expires_at)

    def _mac(self, *parts: str) -> str:
        msg = b"\0".join(p.encode() for p in parts)
        return _b64(hmac.new(self.secret, msg, hashlib.sha256).digest())

    def form_token(self, login_token: str) -> str:
        """The sign-in form's CSRF token: an HMAC of the login token."""
        return self._mac("sign-in form", login_token)

    def check_form_token(self, login_token: str, token: str | None) -> None:
        if not token or not hmac.compare_digest(token, self.form_token(login_token)):
            raise InvalidFormToken()

    def sign_in(
        self, login_token: str, login: str, password: str, *, client: str | None = None
    ) -> tuple[Principal, str]:
        """Verify the user on the flow page; return them and a ticket for the grant form.

        Raises FlowNotFound, TooManyFailedLogins or NotAuthenticated; failures
        are audited and throttled by :meth:`AccountService.authenticate`.
        """
        self.describe(login_token)
        principal = self.accounts.authenticate(login, password, client=client)
        return principal, self._ticket(login_token, principal.login)

    def _ticket(self, login_token: str, login: str, *, now: datetime | None = None) -> str:
        expires = math.floor(((now or utcnow()) + TICKET_LIFETIME).timestamp())
        payload = _b64(f"{login}\n{expires}".encode())
        return f"{payload}.{self._mac('grant ticket', login_token, payload)}"

    def redeem(self, login_token: str, ticket: str | None) -> Principal:
        """Who signed in for this flow, as the ticket says; InvalidFormToken if it is not good.

        The account is read again, so one disabled meanwhile is refused here.
        """
        payload, _, mac = (ticket or "").partition(".")
        if not payload or not hmac.compare_digest(
            mac, self._mac("grant ticket", login_token, payload)
        ):
            raise InvalidFormToken()
        try:
            login, _, expires = _unb64(payload).decode().partition("\n")
            expired = int(expires) <= utcnow().timestamp()
        except (ValueError, binascii.Error):
            raise InvalidFormToken() from None
        if expired:
            raise InvalidFormToken("the sign-in has expired; sign in again")
        with self.db.read() as s:
            found = s.execute(
                select(User, Tenant)
                .join(Tenant, Tenant.id == User.tenant_id)
                .where(User.login == login)
            ).one_or_none()
        if found is None:
            raise NotAuthenticated("the account no longer exists")
        user, tenant = found
        if (
            user.state is not UserState.ACTIVE
            or tenant.state is not TenantState.ACTIVE
            or (user.expires_at is not None and user.expires_at <= utcnow())
        ):
            raise NotAuthenticated("the account is disabled")
        return principal_of(user)

    def grant(self, login_token: str, principal: Principal, *, client: str | None = None) -> str:
        """Issue an app password for the flow's client and seal it for the poller.

        Returns the app password's name (the client's name, with a suffix if
        the user has one of that name already). Raises FlowNotFound if the
        flow is unknown, expired or granted already.
        """
        info = self.describe(login_token)
        name, password = self._issue(principal, info.client_name)
        try:
            with self.db.write() as s:
                flow = s.scalar(
                    select(LoginFlow)
                    .where(LoginFlow.login_hash == token_hash(login_token))
                    .with_for_update()
                )
                if flow is None or flow.expires_at <= utcnow() or flow.login is not None:
                    raise FlowNotFound()
                assert flow.sealed_password is not None
                aad = flow.poll_hash.encode()
                try:
                    seal_key = _open(_wrap_key(login_token), flow.sealed_password, aad)
                except InvalidTag:
                    raise FlowNotFound() from None
                flow.sealed_password = _seal(seal_key, password.encode(), aad)
                flow.login = principal.login
                self.audit.record(
                    s,
                    action="login-flow.grant",
                    tenant_id=principal.tenant_id,
                    actor=principal.login,
                    client=client,
                    target=principal.login,
                    detail={"client_name": info.client_name, "app_password": name},
                )
        except BaseException:
            # Two grants raced, or the flow expired meanwhile: the password is nobody's.
            with contextlib.suppress(ThvcError):
                self.accounts.revoke_app_password(principal.login, name, actor=principal.login)
            raise
        return name

    def _issue(self, principal: Principal, client_name: str) -> tuple[str, str]:
        base = client_name[: APP_NAME_MAX - 8].strip() or "client"
        taken = {a.name for a in self.accounts.list_app_passwords(principal.login)}
        n = 1
        while True:
            name = base if n == 1 else f"{base} ({n})"
            n += 1
            if name in taken:
                continue
            try:
                token = self.accounts.create_app_password(
                    principal.login, name, actor=principal.login
                )
            except AlreadyExists:  # made meanwhile, by another request
                taken.add(name)
                continue
            return name, token

    def deny(self, login_token: str, principal: Principal, *, client: str | None = None) -> None:
        """The user refused: the flow ends, and the client's polls find nothing."""
        with self.db.write() as s:
            flow = self._pending(s, login_token)
            self.audit.record(
                s,
                action="login-flow.deny",
                tenant_id=principal.tenant_id,
                actor=principal.login,
                client=client,
                target=principal.login,
                detail={"client_name": flow.client_name},
            )
            s.delete(flow)

    # -- the client side ---------------------------------------------------

    def poll(self, poll_token: str, *, client: str | None = None) -> Credentials:
        """Hand out the granted credentials once; the flow is deleted with it.

        Raises FlowNotGranted while the user has not granted access (the client
        polls again) and FlowNotFound for an unknown, collected or expired flow.
        """
        poll_hash = token_hash(poll_token)
        now = utcnow()
        with self.db.read() as s:
            flow = s.get(LoginFlow, poll_hash)
            if flow is None or flow.expires_at <= now:
                raise FlowNotFound()
            if flow.login is None:
                # Polled every few seconds: answered from a read, never audited.
                raise FlowNotGranted()
        with self.db.write() as s:
            # Locked, so that of two racing polls only one gets the password.
            flow = s.get(LoginFlow, poll_hash, with_for_update=True, populate_existing=True)
            if flow is None or flow.expires_at <= now or flow.login is None:
                raise FlowNotFound()
            assert flow.sealed_password is not None
            try:
                password = _open(
                    _poll_key(poll_token), flow.sealed_password, poll_hash.encode()
                ).decode()
            except InvalidTag:
                raise FlowNotFound() from None
            tenant_id = s.scalar(select(User.tenant_id).where(User.login == flow.login))
            self.audit.record(
                s,
                action="login-flow.collect",
                tenant_id=tenant_id,
                actor=flow.login,
                client=client,
                target=flow.login,
                detail={"client_name": flow.client_name},
            )
            login = flow.login
            s.delete(flow)
        return Credentials(login, password)

    # -- housekeeping ------------------------------------------------------

    def _purge(self, s: Session, now: datetime) -> int:
        res = s.execute(delete(LoginFlow).where(LoginFlow.expires_at <= now))
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    def purge_expired(self) -> int:
        """Delete the flows that have expired; returns how many."""
        with self.db.write() as s:
            return self._purge(s, utcnow())
