"""Request XML is parsed safely (§8): no DTDs, no entities, bounded size."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.common import factories
from tests.common.dav import DavClient
from thvc.accounts.services import Principal
from thvc.services import Services

SECRET = b"TOP-SECRET-MARKER-4711"

PROPFIND_XXE = """<?xml version="1.0"?>
<!DOCTYPE d:propfind [<!ENTITY xxe SYSTEM "{url}">]>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop><d:x>&xxe;</d:x></d:propfind>"""

PROPPATCH_XXE = """<?xml version="1.0"?>
<!DOCTYPE d:propertyupdate [<!ENTITY xxe SYSTEM "{url}">]>
<d:propertyupdate xmlns:d="DAV:" xmlns:e="urn:e">
<d:set><d:prop><e:leak>&xxe;</e:leak></d:prop></d:set></d:propertyupdate>"""

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + ']><d:propertyupdate xmlns:d="DAV:" xmlns:e="urn:e"><d:set><d:prop>'
    "<e:bomb>&lol9;</e:bomb></d:prop></d:set></d:propertyupdate>"
)

INTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE d:propertyupdate [<!ENTITY name "expanded">]>'
    '<d:propertyupdate xmlns:d="DAV:" xmlns:e="urn:e"><d:set><d:prop>'
    "<e:value>&name;</e:value></d:prop></d:set></d:propertyupdate>"
)


@pytest.fixture
def secret_file(tmp_path: Path) -> str:
    path = tmp_path / "secret.txt"
    path.write_bytes(SECRET)
    return path.as_uri()


@pytest.fixture
def f(dav: DavClient, svc: Services, anna: Principal) -> DavClient:
    factories.put(svc, anna, "/f.txt", b"x")
    return dav


MALFORMED = [
    "<d:propfind xmlns:d='DAV:'><d:prop>",
    "not xml at all",
    "<d:propfind xmlns:d='DAV:'><d:prop></d:propfind>",
    "<d:propfind><d:prop/></d:propfind>",  # undeclared prefix
    "\x00\x01",
    '<?xml version="1.0" encoding="no-such-encoding"?><d:propfind xmlns:d="DAV:"/>',
]


def test_malformed_xml_is_a_bad_request(f: DavClient) -> None:
    for body in MALFORMED:
        f.request("PROPFIND", "/f.txt", body, {"Depth": "0"}, check=400)
        f.request("PROPPATCH", "/f.txt", body, check=400)


def _no_leak(f: DavClient, text: str) -> None:
    assert SECRET.decode() not in text
    found = f.propfind("/f.txt", "allprop", depth="0")
    assert SECRET.decode() not in repr(found)
    assert SECRET not in f.request("PROPFIND", "/f.txt", None, {"Depth": "0"}).content


def test_an_external_entity_in_propfind_is_refused(f: DavClient, secret_file: str) -> None:
    r = f.request(
        "PROPFIND", "/f.txt", PROPFIND_XXE.format(url=secret_file), {"Depth": "0"}, check=400
    )
    _no_leak(f, r.text)


def test_an_external_entity_in_proppatch_is_refused(f: DavClient, secret_file: str) -> None:
    r = f.request("PROPPATCH", "/f.txt", PROPPATCH_XXE.format(url=secret_file), check=400)
    _no_leak(f, r.text)


def test_an_internal_entity_is_refused_too(f: DavClient) -> None:
    f.request("PROPPATCH", "/f.txt", INTERNAL_ENTITY, check=400)
    (props,) = f.propfind("/f.txt", "allprop", depth="0").values()
    assert "{urn:e}value" not in props


def test_billion_laughs_is_refused_quickly(f: DavClient) -> None:
    started = time.monotonic()
    r = f.request("PROPPATCH", "/f.txt", LAUGHS, check=400)
    assert time.monotonic() - started < 2
    assert "lollol" not in r.text
    (props,) = f.propfind("/f.txt", "allprop", depth="0").values()
    assert "{urn:e}bomb" not in props


def test_billion_laughs_in_propfind_is_refused(f: DavClient) -> None:
    body = LAUGHS.replace("propertyupdate", "propfind")
    f.request("PROPFIND", "/f.txt", body, {"Depth": "0"}, check=400)


@pytest.mark.parametrize("method", ["PROPFIND", "PROPPATCH"])
def test_a_body_over_max_xml_body_is_413(f: DavClient, method: str) -> None:
    limit = 1 << 20  # the default max_xml_body of the test settings
    padding = "<!--" + "x" * limit + "-->"
    body = f'<?xml version="1.0"?>{padding}<d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>'
    f.request(method, "/f.txt", body, {"Depth": "0"}, check=413)


@pytest.mark.parametrize("method", ["PROPFIND", "PROPPATCH"])
def test_a_streamed_body_over_max_xml_body_is_413(f: DavClient, method: str) -> None:
    """Without Content-Length the limit holds while reading."""

    def chunks() -> Iterator[bytes]:
        yield b'<?xml version="1.0"?><!--'
        for _ in range(20):
            yield b"x" * 65536
        yield b'--><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>'

    auth = f.request("OPTIONS", "/").request.headers["Authorization"]
    r = f.client.request(
        method, f.url("/f.txt"), content=chunks(), headers={"Authorization": auth, "Depth": "0"}
    )
    assert r.status_code == 413, r.text


WRONG_ROOT = [
    '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"/>',
    '<?xml version="1.0"?><propfind><allprop/></propfind>',  # no DAV: namespace
    '<?xml version="1.0"?><d:propfind xmlns:d="urn:not-dav"><d:allprop/></d:propfind>',
    '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"/>',
    '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:frob/></d:propfind>',
]


def test_a_propfind_with_the_wrong_root_is_a_bad_request(f: DavClient) -> None:
    for body in WRONG_ROOT:
        f.request("PROPFIND", "/f.txt", body, {"Depth": "0"}, check=400)
