"""A visitor's session on one link: a sealed cookie, and the forms' CSRF tokens.

The cookie is scoped to ``/s/{token}``, HttpOnly and SameSite=Lax, and sealed
with AES-GCM under a key derived from the web secret (so it is both signed and
unreadable to the visitor), with the link's token hash as associated data: it
opens nothing on another link. It holds

- a random session id, which the forms' CSRF tokens are bound to (a cross-site
  POST does not carry a SameSite=Lax cookie, so its token cannot match);
- once the visitor has given the link's password, the sharing core's ticket for
  it (an HMAC over the link and its password hash; ``Session.password`` holds
  it), so that later pages need no argon2 run. A changed link password voids
  it, and the visitor is asked again;
- for a file drop, what this visitor uploaded during this visit (names and
  sizes, the newest first): the page shows those, never the folder.

A session lasts ``MAX_AGE`` seconds from its start, whatever the browser keeps.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field, replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "thvc_link"
MAX_AGE = 12 * 3600
CSRF_MAX_AGE = 4 * 3600
# Uploads listed in the cookie: enough for a visit, small enough for a 4 KB cookie.
MAX_LISTED = 40
MAX_COOKIE = 3800


def derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


@dataclass(frozen=True)
class Dropped:
    name: str
    size: int


@dataclass(frozen=True)
class Session:
    sid: str
    started: int
    password: str | None = None
    dropped: tuple[Dropped, ...] = field(default=())
    # Whether the browser holds this session already (else it is new, and must be set).
    stored: bool = False

    def with_password(self, password: str | None) -> Session:
        return replace(self, password=password)

    def with_dropped(self, items: list[Dropped]) -> Session:
        return replace(self, dropped=(*reversed(items), *self.dropped)[:MAX_LISTED])


class Sessions:
    """Seal and open sessions and CSRF tokens with keys derived from ``secret``."""

    def __init__(self, secret: bytes, *, secure: bool = False) -> None:
        self._aead = AESGCM(derive(secret, b"thvc link sessions v1"))
        self._csrf = derive(secret, b"thvc link forms v1")
        self.secure = secure

    # -- the cookie ---------------------------------------------------------

    def load(self, request: Request, token: str) -> Session:
        """The visitor's session on this link, or a fresh one."""
        raw = request.cookies.get(COOKIE, "")
        found = self._open(raw, token) if raw else None
        if found is not None:
            return found
        return Session(sid=secrets.token_urlsafe(16), started=int(time.time()))

    def _open(self, raw: str, token: str) -> Session | None:
        try:
            blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            plain = self._aead.decrypt(blob[:12], blob[12:], token_digest(token))
            data = json.loads(plain)
            started = int(data["t"])
            if not 0 <= time.time() - started <= MAX_AGE:
                return None
            pw = data.get("p")
            return Session(
                sid=str(data["s"]),
                started=started,
                password=pw if isinstance(pw, str) else None,
                dropped=tuple(Dropped(str(n), int(s)) for n, s in data.get("d", [])),
                stored=True,
            )
        except (ValueError, KeyError, TypeError, InvalidTag, binascii.Error, UnicodeError):
            return None

    def _seal(self, session: Session, token: str) -> str:
        dropped = list(session.dropped)
        while True:
            data: dict[str, object] = {"s": session.sid, "t": session.started}
            if session.password is not None:
                data["p"] = session.password
            if dropped:
                data["d"] = [[d.name, d.size] for d in dropped]
            nonce = secrets.token_bytes(12)
            plain = json.dumps(data, separators=(",", ":")).encode()
            sealed = nonce + self._aead.encrypt(nonce, plain, token_digest(token))
            text = base64.urlsafe_b64encode(sealed).decode().rstrip("=")
            if len(text) <= MAX_COOKIE or not dropped:
                return text
            dropped.pop()  # the oldest goes first

    def store(self, response: Response, session: Session, token: str, path: str) -> None:
        """Set the cookie for ``path`` (``/s/{token}``) on ``response``."""
        remaining = max(1, MAX_AGE - int(time.time() - session.started))
        response.set_cookie(
            COOKIE,
            self._seal(session, token),
            max_age=remaining,
            path=path,
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    # -- CSRF ---------------------------------------------------------------

    def csrf(self, session: Session, token: str) -> str:
        """A form token bound to this session and this link, good for CSRF_MAX_AGE."""
        issued = str(int(time.time()))
        return f"{issued}.{self._mac(session, token, issued)}"

    def check_csrf(self, session: Session, token: str, value: str) -> bool:
        issued, _, mac = value.partition(".")
        if not session.stored or not issued.isdigit():
            return False
        if not 0 <= time.time() - int(issued) <= CSRF_MAX_AGE:
            return False
        return hmac.compare_digest(mac, self._mac(session, token, issued))

    def _mac(self, session: Session, token: str, issued: str) -> str:
        msg = b"|".join([session.sid.encode(), token_digest(token), issued.encode()])
        return hmac.new(self._csrf, msg, hashlib.sha256).hexdigest()
