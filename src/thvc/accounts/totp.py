"""The second factor: time-based one-time passwords (RFC 6238), as authenticator apps make them.

The code arithmetic is ``cryptography``'s (its ``TOTP``); this module only keeps
the shared secret sealed, accepts one step of clock drift either way, and
refuses a code whose time step was used before (a code seen over a shoulder or
in a proxy log cannot be replayed).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import select
from sqlalchemy.orm import Session

from thvc.accounts.models import User
from thvc.accounts.services import AccountService, Principal
from thvc.audit import AuditLog
from thvc.db.engine import Database
from thvc.db.types import utcnow
from thvc.errors import Conflict, NotAuthenticated, TooManyFailedLogins

DIGITS = 6
STEP = 30
# Steps of clock drift accepted on either side of now.
DRIFT = 1
ISSUER = "ThVC"


def new_secret() -> bytes:
    """160 random bits, the size RFC 4226 recommends for HMAC-SHA1."""
    return secrets.token_bytes(20)


def base32(secret: bytes) -> str:
    """The secret as authenticator apps want it typed in (RFC 4648 base32, unpadded)."""
    return base64.b32encode(secret).decode().rstrip("=")


def _totp(secret: bytes) -> TOTP:
    # HMAC-SHA1 is what RFC 6238 apps implement by default (and HMAC-SHA1 is not
    # broken the way SHA-1 collisions are); SHA-256 codes are not read by all apps.
    return TOTP(secret, DIGITS, SHA1(), STEP, enforce_key_length=False)  # noqa: S303


def provisioning_uri(secret: bytes, login: str) -> str:
    """The ``otpauth://`` URI an app reads from the QR code."""
    return _totp(secret).get_provisioning_uri(quote(login, safe="@."), ISSUER)


def matching_step(secret: bytes, code: str, *, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to (within the drift), or None."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    at = time.time() if now is None else now
    totp = _totp(secret)
    current = int(at) // STEP
    found = None
    # Every candidate is compared, so the time taken does not tell which one matched.
    for step in range(current - DRIFT, current + DRIFT + 1):
        expected = totp.generate(step * STEP)
        if hmac.compare_digest(expected, code.encode()):
            found = step
    return found


class SecretBox:
    """Seals TOTP secrets with AES-GCM, bound to the user's id."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, secret: bytes, user_id: int) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, secret, b"totp:%d" % user_id)

    def open(self, sealed: bytes, user_id: int) -> bytes | None:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], b"totp:%d" % user_id)
        except (InvalidTag, ValueError):
            return None


class TotpService:
    """Enrolment and checks of users' TOTP second factor."""

    def __init__(self, db: Database, *, audit: AuditLog, accounts: AccountService, key: bytes):
        self.db = db
        self.audit = audit
        self.accounts = accounts
        self.box = SecretBox(key)

    def enabled(self, user_id: int) -> bool:
        with self.db.read() as s:
            return s.scalar(select(User.totp_confirmed_at).where(User.id == user_id)) is not None

    def begin(self, actor: Principal) -> Enrolment:
        """A new secret for ``actor``, not in force until ``confirm`` sees a code from it.

        Asking again replaces an unconfirmed secret; a confirmed one stays in force
        until ``disable``.
        """
        secret = new_secret()
        with self.db.write() as s:
            user = s.get_one(User, actor.user_id)
            if user.totp_confirmed_at is not None:
                raise TotpAlreadyEnabled("two-step log-in is on already; turn it off first")
            user.totp_sealed = self.box.seal(secret, user.id)
            user.totp_last_step = None
        return Enrolment(base32(secret), provisioning_uri(secret, actor.login))

    def confirm(self, actor: Principal, code: str, *, client: str | None = None) -> None:
        """Switch TOTP on with the first right code from the app."""
        self._check_code(actor, code, client=client, confirming=True)

    def disable(self, actor: Principal, code: str, *, client: str | None = None) -> None:
        """Switch TOTP off; a current code proves the app is still at hand."""
        self._check_code(actor, code, client=client, confirming=False)

    def verify(self, s: Session, user: User, code: str) -> bool:
        """Inside the caller's write transaction: is ``code`` right and unused? (Uses it.)"""
        if user.totp_sealed is None:
            return False
        secret = self.box.open(user.totp_sealed, user.id)
        if secret is None:
            return False
        step = matching_step(secret, code)
        if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
            return False
        user.totp_last_step = step
        return True

    def _check_code(
        self, actor: Principal, code: str, *, client: str | None, confirming: bool
    ) -> None:
        keys = [f"totp:{actor.user_id}"]
        wait = self.accounts.throttle_wait(keys)
        if wait:
            raise TooManyFailedLogins(wait)
        failed = False
        with self.db.write() as s:
            user = s.get_one(User, actor.user_id)
            if confirming and user.totp_confirmed_at is not None:
                raise TotpAlreadyEnabled("two-step log-in is on already")
            if not confirming and user.totp_confirmed_at is None:
                raise TotpNotEnabled("two-step log-in is not on")
            if user.totp_sealed is None:
                raise TotpNotEnabled("start the set-up first: no secret was made")
            if self.verify(s, user, code):
                if confirming:
                    user.totp_confirmed_at = utcnow()
                else:
                    user.totp_sealed = None
                    user.totp_confirmed_at = None
                    user.totp_last_step = None
                self.audit.record(
                    s,
                    action="totp.enable" if confirming else "totp.disable",
                    actor=actor.login,
                    client=client,
                    tenant_id=actor.tenant_id,
                )
            else:
                self.accounts.throttle_failure(s, keys)
                failed = True
        if failed:
            raise WrongCode("the code is wrong or was used already")


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, to type in
    uri: str  # otpauth://, for the QR code


class TotpAlreadyEnabled(Conflict):
    """Two-step log-in is on already."""


class TotpNotEnabled(Conflict):
    """Two-step log-in is off."""


class WrongCode(NotAuthenticated):
    """A TOTP code that is wrong, out of its time, or used before."""
