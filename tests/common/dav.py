"""An in-process WebDAV client, a multistatus parser and a query counter.

In the style of Radicale's ``BaseTest.request(method, path, data, check=207)``:
requests go through the ASGI app with Starlette's TestClient (no sockets), a
``check`` asserts the status and shows the body when it does not match, and
``propfind`` returns the multistatus as plain dicts::

    found = dav.propfind("/docs/", ["{DAV:}getetag"], depth="1")
    status, etag = found["/dav/files/anna@lauscha/docs/"]["{DAV:}getetag"]
"""

from __future__ import annotations

import base64
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, unquote

import httpx
from sqlalchemy import Engine, event
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette's TestClient prefers the httpx2 package and warns when it falls
    # back to httpx, which is what the project depends on; the API is the same.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from tests.common.factories import PASSWORD

DAV_NS = "DAV:"
OC_NS = "http://owncloud.org/ns"
PREFIX = "/dav/files"

# One property of one response: (status code, text or the element if it has children).
PropValue = tuple[int, "str | ET.Element"]
Multistatus = dict[str, dict[str, PropValue]]


def basic(login: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic."""
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return f"Basic {token}"


def clark(name: str) -> tuple[str, str]:
    """``{ns}name`` -> (ns, name)."""
    assert name.startswith("{"), f"not a Clark name: {name!r}"
    ns, _, local = name[1:].partition("}")
    return ns, local


def propfind_body(props: Sequence[str] | str | None) -> bytes:
    """The request body: None -> empty (= allprop), "allprop", "propname" or named props."""
    if props is None:
        return b""
    if props in ("allprop", "propname"):
        return f'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:{props}/></d:propfind>'.encode()
    assert not isinstance(props, str), "give a list of Clark names"
    inner = []
    for i, name in enumerate(props):
        ns, local = clark(name)
        inner.append(f'<p{i}:{local} xmlns:p{i}="{ns}"/>' if ns else f'<{local} xmlns=""/>')
    return (
        '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop>'
        + "".join(inner)
        + "</d:prop></d:propfind>"
    ).encode()


def _status_code(text: str) -> int:
    # "HTTP/1.1 404 Not Found"
    parts = text.split()
    assert len(parts) >= 2 and parts[1].isdigit(), f"bad status line {text!r}"
    return int(parts[1])


def parse_multistatus(body: bytes | str) -> Multistatus:
    """``{href: {clark name: (status, value)}}`` of a DAV:multistatus body.

    ``value`` is the element's text ("" if none) or the element itself when it
    has children (resourcetype, dead properties holding XML). A property listed
    twice for one href fails the assertion: a server must not do that.
    """
    root = ET.fromstring(body)
    assert root.tag == f"{{{DAV_NS}}}multistatus", f"not a multistatus: {root.tag}"
    out: Multistatus = {}
    for response in root.findall(f"{{{DAV_NS}}}response"):
        hrefs = response.findall(f"{{{DAV_NS}}}href")
        assert len(hrefs) == 1, "one href per response expected"
        href = hrefs[0].text or ""
        assert href not in out, f"{href} listed twice"
        props: dict[str, PropValue] = {}
        status_elem = response.find(f"{{{DAV_NS}}}status")
        if status_elem is not None:  # a response with a status and no propstat
            props[""] = (_status_code(status_elem.text or ""), "")
        for propstat in response.findall(f"{{{DAV_NS}}}propstat"):
            status = _status_code(propstat.findtext(f"{{{DAV_NS}}}status") or "")
            prop = propstat.find(f"{{{DAV_NS}}}prop")
            assert prop is not None, "propstat without prop"
            for elem in prop:
                assert elem.tag not in props, f"{elem.tag} reported twice for {href}"
                value: str | ET.Element = elem if len(elem) else (elem.text or "")
                props[elem.tag] = (status, value)
        out[href] = props
    return out


class DavClient:
    """Requests to ``/dav/files/{login}/...`` as ``login``, through the ASGI app in-process.

    Paths are relative to the user's root (``"/a.txt"``) unless they start with
    ``/dav/`` (then they are used as they are, e.g. for another user's tree).
    """

    def __init__(self, app: Any, login: str, password: str | None = PASSWORD) -> None:
        self.client = TestClient(app, raise_server_exceptions=True)
        self.login = login
        self.password = password

    # -- addresses -------------------------------------------------------

    def url(self, path: str) -> str:
        if path.startswith(("/dav/", "http://", "https://")):
            return path
        assert path.startswith("/"), f"paths start with '/': {path!r}"
        return f"{PREFIX}/{self.login}{path}"

    def href(self, path: str) -> str:
        """The href the server reports for ``path`` (segments percent-encoded)."""
        segs = [s for s in path.split("/") if s]
        tail = "/" if path.endswith("/") or not segs else ""
        encoded = "".join("/" + quote(s, safe="") for s in segs)
        return f"{PREFIX}/{quote(self.login, safe='@')}{encoded}{tail}"

    # -- requests --------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        check: int | None = None,
    ) -> httpx.Response:
        """Send one request; with ``check``, assert its status (the body goes in the message)."""
        hdrs = dict(headers or {})
        if self.password is not None and not any(k.lower() == "authorization" for k in hdrs):
            hdrs["Authorization"] = basic(self.login, self.password)
        content = body.encode() if isinstance(body, str) else body
        response = self.client.request(method, self.url(path), content=content, headers=hdrs)
        if check is not None:
            assert response.status_code == check, (
                f"{method} {path}: expected {check}, got {response.status_code}\n"
                f"{response.headers}\n{_shown(response)}"
            )
        return response

    def propfind(
        self,
        path: str,
        props: Sequence[str] | str | None = None,
        depth: str = "1",
        check: int = 207,
        headers: Mapping[str, str] | None = None,
    ) -> Multistatus:
        """The parsed multistatus (empty if the answer is not 207)."""
        hdrs = {"Depth": depth, "Content-Type": "application/xml; charset=utf-8"}
        hdrs.update(headers or {})
        response = self.request("PROPFIND", path, propfind_body(props), hdrs, check=check)
        if response.status_code != 207:
            return {}
        return parse_multistatus(response.content)

    def props(self, path: str, *names: str) -> dict[str, str | ET.Element]:
        """The values of ``names`` (all 200) of ``path`` at Depth 0."""
        found = self.propfind(path, list(names), depth="0")
        assert len(found) == 1, found
        (props,) = found.values()
        bad = {k: v for k, v in props.items() if v[0] != 200}
        assert not bad, f"not found: {bad}"
        return {k: v[1] for k, v in props.items()}

    def prop(self, path: str, name: str) -> str | ET.Element:
        return self.props(path, name)[name]

    def etag(self, path: str) -> str:
        value = self.prop(path, "{DAV:}getetag")
        assert isinstance(value, str)
        return value

    def fileid(self, path: str) -> str:
        value = self.prop(path, f"{{{OC_NS}}}fileid")
        assert isinstance(value, str)
        return value

    def put(self, path: str, data: bytes | str, check: int | None = None, **headers: str) -> Any:
        return self.request("PUT", path, data, _headers(headers), check=check)

    def get(self, path: str, check: int | None = 200, **headers: str) -> httpx.Response:
        return self.request("GET", path, None, _headers(headers), check=check)

    def mkcol(self, path: str, check: int | None = 201) -> httpx.Response:
        return self.request("MKCOL", path, check=check)

    def delete(self, path: str, check: int | None = 204) -> httpx.Response:
        return self.request("DELETE", path, check=check)

    def move(self, src: str, dst: str, check: int | None = None, **headers: str) -> httpx.Response:
        return self._transfer("MOVE", src, dst, check, headers)

    def copy(self, src: str, dst: str, check: int | None = None, **headers: str) -> httpx.Response:
        return self._transfer("COPY", src, dst, check, headers)

    def _transfer(
        self, method: str, src: str, dst: str, check: int | None, headers: dict[str, str]
    ) -> httpx.Response:
        hdrs = {"Destination": self.url(dst)}
        hdrs.update(_headers(headers))
        return self.request(method, src, headers=hdrs, check=check)

    def children(self, path: str = "/") -> set[str]:
        """Names of the members of a folder (Depth 1, the folder itself left out)."""
        me = self.href(path if path.endswith("/") else path + "/")
        return {
            unquote(href.rstrip("/").rpartition("/")[2])
            for href in self.propfind(path, ["{DAV:}resourcetype"])
            if href != me
        }


def _shown(response: httpx.Response) -> str:
    """The body for an assertion message: text if it is text, else the start of its bytes."""
    kind = response.headers.get("content-type", "")
    if "xml" in kind or kind.startswith("text/") or "json" in kind:
        return response.text[:2000]
    return repr(response.content[:200])


def _headers(kw: Mapping[str, str]) -> dict[str, str]:
    # if_match="x" -> If-Match: x
    return {k.replace("_", "-").title(): v for k, v in kw.items()}


def make_tree(svc: Any, who: Any, entries: Mapping[str, bytes | None]) -> None:
    """Folders (``None``) and files, in order, through the core: fixtures need no HTTP."""
    from tests.common import factories

    for path, data in entries.items():
        if data is None:
            factories.mkdir(svc, who, path.rstrip("/"))
        else:
            factories.put(svc, who, path, data)


def use_cheap_password_hashing(monkeypatch: Any) -> None:
    """argon2id at its lowest cost for tests that only need users to exist.

    The same code runs (hash, verify, the dummy hash for unknown users); one
    hash costs well under a millisecond instead of tens, which is most of the
    set-up time of a WebDAV test. Tests of the accounts themselves keep the
    real cost.
    """
    from argon2 import PasswordHasher

    from thvc.accounts import passwords

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    monkeypatch.setattr(passwords, "_DUMMY", cheap.hash("thvc-dummy-password"))


def skip_fsync(monkeypatch: Any, engine: Engine) -> None:
    """No fsync in the blob store, ``PRAGMA synchronous=OFF`` on SQLite.

    The same trade as the PostgreSQL test cluster (``fsync=off``): these tests
    are about what the service answers, not about surviving power loss (the
    SIGKILL tests check that, with fsync on), and on a busy machine fsync is
    most of their time.
    """
    import os

    monkeypatch.setattr(os, "fsync", lambda fd: None)
    if engine.dialect.name == "sqlite":

        def _no_sync(dbapi_conn: Any, record: Any) -> None:
            dbapi_conn.execute("PRAGMA synchronous=OFF")

        event.listen(engine, "connect", _no_sync)


@contextmanager
def count_queries(engine: Engine) -> Iterator[list[str]]:
    """Collect every SQL statement sent on ``engine`` (all threads) inside the block."""
    statements: list[str] = []

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


__all__ = [
    "DAV_NS",
    "OC_NS",
    "DavClient",
    "Multistatus",
    "basic",
    "count_queries",
    "make_tree",
    "parse_multistatus",
    "propfind_body",
    "skip_fsync",
    "use_cheap_password_hashing",
]
