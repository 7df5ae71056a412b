"""Password hashing (argon2id) and generated secrets."""

from __future__ import annotations

import hashlib
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from thvc import onloop

# OWASP's argon2id minimum (19 MiB, t=2, p=1): a verification costs ~20 ms and
# little memory, so a burst of logins cannot balloon the server's RSS.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
_DUMMY = _hasher.hash("thvc-dummy-password")
_ALPHABET = string.ascii_letters + string.digits

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    onloop.check("argon2")
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not a hash is stored, so timing does not tell which."""
    onloop.check("argon2")
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password(length: int = 24) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def generate_app_password() -> str:
    """Five groups of five, as Nextcloud shows them: ~148 bits from the CSPRNG."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(25))
    return "-".join(raw[i : i + 5] for i in range(0, 25, 5))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
