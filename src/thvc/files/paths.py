"""Names and paths are checked once, here, at the edge; the core asserts the result.

A path inside a space is ``""`` for its root or ``"/a/b"``; every name in it is
NFC-normalised and free of ``/``, NUL, control characters, ``.`` and ``..``.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote_to_bytes

from thvc.errors import InvalidName

MAX_NAME_BYTES = 255
MAX_DEPTH = 256


def check_name(name: str) -> str:
    """Return the NFC form of ``name`` or raise InvalidName saying why."""
    name = unicodedata.normalize("NFC", name)
    if name in ("", ".", ".."):
        raise InvalidName(f"the name {name!r} is not allowed")
    if "/" in name or "\\" in name:
        raise InvalidName(f"a name must not contain a slash: {name!r}")
    # Cc: C0 and C1 controls and DEL (U+0085 NEL, U+009B CSI included).
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidName("a name must not contain control characters or NUL")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidName(f"a name must not be longer than {MAX_NAME_BYTES} bytes")
    return name


def segments_from_url(raw_path: bytes) -> list[str]:
    """Split a raw (still percent-encoded) URL path into checked names.

    Splitting before decoding means ``%2f`` can never act as a separator and
    ``%2e%2e`` is seen as the name ``..`` and refused, not followed.
    """
    out: list[str] = []
    for part in raw_path.split(b"/"):
        if not part:
            continue
        try:
            decoded = unquote_to_bytes(part).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidName("the path is not valid UTF-8") from None
        out.append(check_name(decoded))
    if len(out) > MAX_DEPTH:
        raise InvalidName("the path is too deep")
    return out


def join(segments: list[str] | tuple[str, ...]) -> str:
    return "".join("/" + s for s in segments)


def parent_and_name(path: str) -> tuple[str, str]:
    assert path, "the root has no parent"
    parent, _, name = path.rpartition("/")
    return parent, name


def ancestors(path: str) -> list[str]:
    """Every folder above ``path``, the space root (``""``) included."""
    out = [""]
    parts = path.split("/")[1:-1]
    acc = ""
    for p in parts:
        acc += "/" + p
        out.append(acc)
    return out if path else []


def is_normal(path: str) -> bool:
    if path == "":
        return True
    if not path.startswith("/"):
        return False
    try:
        return all(check_name(p) == p for p in path.split("/")[1:])
    except InvalidName:
        return False


def descendant_bounds(path: str) -> tuple[str, str]:
    """Bounds for ``lo < p < hi`` that select every path strictly below ``path``.

    Works because ``/`` (0x2F) sorts directly before ``0`` (0x30) byte-wise.
    """
    return path + "/", path + "0"
