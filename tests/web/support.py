"""Helpers for the link tests: forms, multipart bodies, ZIP contents."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

import httpx

BOUNDARY = "----thvc-test-7MA4YWxkTrZu0gW"


def csrf_of(response: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', response.text)
    assert found, f"no CSRF token in the page:\n{response.text[:2000]}"
    return found.group(1)


def multipart(
    fields: list[tuple[str, str]],
    files: list[tuple[bytes, bytes]],
    *,
    boundary: str = BOUNDARY,
) -> tuple[bytes, dict[str, str]]:
    """A form body as a browser sends it: fields first, then ``(file name, data)`` parts."""
    b = boundary.encode()
    out = bytearray()
    for name, value in fields:
        out += b"--" + b + b"\r\n"
        out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for filename, data in files:
        out += b"--" + b + b"\r\n"
        out += b'Content-Disposition: form-data; name="files"; filename="' + filename + b'"\r\n'
        out += b"Content-Type: application/octet-stream\r\n\r\n"
        out += data + b"\r\n"
    out += b"--" + b + b"--\r\n"
    return bytes(out), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zip_digests(body: bytes) -> dict[str, str]:
    """Every entry of a ZIP: name -> SHA-256 of its content ("dir" for folders)."""
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        assert z.testzip() is None
        return {i.filename: "dir" if i.is_dir() else sha(z.read(i.filename)) for i in z.infolist()}
