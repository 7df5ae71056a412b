"""The tus 1.0 request headers, parsed: pure functions, no I/O.

Each raises :class:`thvc.errors.BadRequest` (a subclass saying which header)
with a message a client author can act on.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from thvc.errors import BadRequest, ThvcError
from thvc.files import paths

VERSION = "1.0.0"
EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "termination",
    "checksum",
    "expiration",
)
# tus names (lower case) -> the core's checksum names (thvc.files.services.Checksum).
CHECKSUMS = {"sha1": "SHA1", "sha256": "SHA256", "md5": "MD5"}
OFFSET_TYPE = "application/offset+octet-stream"
MAX_DIGITS = 19  # what fits into a signed 64-bit integer
MAX_METADATA = 8192  # characters of Upload-Metadata kept (and echoed on HEAD)


class UnsupportedVersion(ThvcError):
    """The client speaks a tus version this server does not (412 with ``Tus-Version``)."""


class UnsupportedMediaType(ThvcError):
    """A PATCH body must be ``application/offset+octet-stream`` (415)."""


class BadMetadata(BadRequest):
    """``Upload-Metadata`` is malformed."""


class BadChecksum(BadRequest):
    """``Upload-Checksum`` is malformed or names an algorithm not offered."""


def check_version(value: str | None) -> None:
    """Every request but OPTIONS says which protocol version it speaks (tus 1.0 §Tus-Resumable)."""
    if value is None:
        raise UnsupportedVersion("the Tus-Resumable header is missing (this server speaks 1.0.0)")
    if value.strip() != VERSION:
        raise UnsupportedVersion(f"tus version {value.strip()[:40]!r} is not supported: use 1.0.0")


def number(name: str, value: str | None) -> int | None:
    """A header that must be a non-negative decimal number (``Upload-Offset``, ``-Length``)."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > MAX_DIGITS:
        raise BadRequest(f"{name} must be a non-negative number of bytes")
    return int(value)


def is_offset_stream(content_type: str | None) -> bool:
    """Whether the body is ``application/offset+octet-stream`` (parameters ignored)."""
    if content_type is None:
        return False
    return content_type.partition(";")[0].strip().lower() == OFFSET_TYPE


def parse_metadata(value: str | None) -> dict[str, bytes]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (the value may be absent).

    Keys must be unique, non-empty, without spaces or commas; values are
    strict base64 (tus 1.0 §Upload-Metadata). An empty or missing header is
    no metadata at all.
    """
    out: dict[str, bytes] = {}
    if value is None or not value.strip():
        return out
    if len(value) > MAX_METADATA:
        raise BadMetadata(f"Upload-Metadata must not be longer than {MAX_METADATA} characters")
    for pair in value.split(","):
        pair = pair.strip()
        if not pair:
            continue  # a stray comma: nothing is lost by ignoring it
        key, _, encoded = pair.partition(" ")
        encoded = encoded.strip()
        if not key.isascii() or not key.isprintable():
            raise BadMetadata("an Upload-Metadata key must be printable ASCII")
        if key in out:
            raise BadMetadata(f"the Upload-Metadata key {key!r} is given twice")
        if " " in encoded:
            raise BadMetadata(f"the Upload-Metadata value of {key!r} holds a space")
        out[key] = _base64(key, encoded)
    return out


def _base64(key: str, encoded: str) -> bytes:
    # Padding may be left out (some encoders do), but not be wrong: Python alone
    # would take "YWJj=" for "abc".
    if "=" not in encoded and len(encoded) % 4 in (2, 3):
        encoded += "=" * (4 - len(encoded) % 4)
    try:
        if len(encoded) % 4:
            raise ValueError(encoded)
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadMetadata(f"the Upload-Metadata value of {key!r} is not valid base64") from None


def text(metadata: Mapping[str, bytes], *keys: str) -> str | None:
    """The first of ``keys`` that is present and not empty, decoded as UTF-8."""
    for key in keys:
        raw = metadata.get(key)
        if raw:
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise BadMetadata(f"the Upload-Metadata value of {key!r} is not UTF-8") from None
    return None


def folder_segments(value: str | None) -> tuple[str, ...]:
    """A folder path in the user's tree (``Ämter/2026``, ``/Ämter/2026/``) as checked names.

    Empty segments (leading, trailing or doubled slashes) are ignored; ``..``,
    ``.``, backslashes and control characters are refused (InvalidName).
    """
    if not value:
        return ()
    segments = tuple(paths.check_name(s) for s in value.split("/") if s)
    if len(segments) > paths.MAX_DEPTH:
        raise BadMetadata("the folder is too deep")
    return segments


@dataclass(frozen=True)
class UploadChecksum:
    """``Upload-Checksum: <algorithm> <base64 digest>`` of one PATCH body (tus checksum)."""

    algorithm: str
    digest: bytes

    @property
    def core(self) -> str:
        """In the core's notation: ``SHA1:<hex>``."""
        return f"{CHECKSUMS[self.algorithm]}:{self.digest.hex()}"


def parse_checksum(value: str | None) -> UploadChecksum | None:
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUMS:
        offered = ", ".join(sorted(CHECKSUMS))
        raise BadChecksum(f"checksum algorithm {algorithm[:40]!r} is not supported: use {offered}")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadChecksum("the Upload-Checksum digest is not valid base64") from None
    if not digest:
        raise BadChecksum("the Upload-Checksum digest is empty")
    return UploadChecksum(algorithm, digest)
