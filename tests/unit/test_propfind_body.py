"""PROPFIND bodies: what they ask for, and the small ones remembered (thvc.dav.propfind)."""

from __future__ import annotations

import pytest

from thvc.dav import propfind
from thvc.dav.xml import DAV, OC, XmlError

POLL = (
    b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">'
    b"<d:prop><d:getetag/><oc:fileid/></d:prop></d:propfind>"
)


def test_a_poll_body_is_parsed_once_and_then_remembered() -> None:
    propfind._parse_remembered.cache_clear()
    first = propfind.parse_propfind(POLL)
    second = propfind.parse_propfind(POLL)
    assert first == second == ("prop", [(DAV, "getetag"), (OC, "fileid")])
    info = propfind._parse_remembered.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_a_caller_changing_its_list_does_not_change_the_next_answer() -> None:
    _mode, names = propfind.parse_propfind(POLL)
    names.clear()
    assert propfind.parse_propfind(POLL) == ("prop", [(DAV, "getetag"), (OC, "fileid")])


def test_an_empty_body_is_allprop() -> None:
    assert propfind.parse_propfind(b"") == ("allprop", [])
    assert propfind.parse_propfind(b"  \n") == ("allprop", [])


def test_a_malformed_body_is_refused_every_time_and_not_remembered() -> None:
    propfind._parse_remembered.cache_clear()
    for _ in range(2):
        with pytest.raises(XmlError):
            propfind.parse_propfind(b"<d:propfind xmlns:d='DAV:'><d:prop>")
    assert propfind._parse_remembered.cache_info().currsize == 0


def test_a_large_body_is_parsed_and_not_remembered() -> None:
    names = b"".join(b"<oc:p%d/>" % i for i in range(600))
    body = (
        b'<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>'
        + names
        + b"</d:prop></d:propfind>"
    )
    assert len(body) > propfind._REMEMBERED_BODY_MAX
    propfind._parse_remembered.cache_clear()
    mode, wanted = propfind.parse_propfind(body)
    assert mode == "prop" and len(wanted) == 600 and wanted[0] == (OC, "p0")
    assert propfind._parse_remembered.cache_info().currsize == 0
