"""PROPPATCH (RFC 4918 §9.2): dead properties, set and remove, all or nothing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.common import factories
from tests.common.dav import DavClient, make_tree, parse_multistatus
from thvc.accounts.services import Principal
from thvc.files.models import SpaceRole
from thvc.services import Services

NS = "http://example.com/ns"
Z = "http://ns.example.com/z/"


def update(*actions: str, ns: str = f'xmlns:e="{NS}" xmlns:z="{Z}"') -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><d:propertyupdate xmlns:d="DAV:" {ns}>'
        + "".join(actions)
        + "</d:propertyupdate>"
    )


def set_(*props: str) -> str:
    return "<d:set><d:prop>" + "".join(props) + "</d:prop></d:set>"


def remove(*props: str) -> str:
    return "<d:remove><d:prop>" + "".join(props) + "</d:prop></d:remove>"


def statuses(dav: DavClient, path: str, body: str) -> dict[str, int]:
    r = dav.request("PROPPATCH", path, body, check=207)
    (props,) = parse_multistatus(r.content).values()
    return {name: status for name, (status, _) in props.items()}


@pytest.fixture
def f(dav: DavClient, svc: Services, anna: Principal) -> DavClient:
    make_tree(svc, anna, {"/f.txt": b"content", "/dir/": None})
    return dav


def dead(dav: DavClient, path: str, *names: str) -> dict[str, object]:
    """The values of the named properties that exist (404s left out)."""
    (props,) = dav.propfind(path, list(names), depth="0").values()
    return {k: v for k, (status, v) in props.items() if status == 200}


def test_set_and_read_back(f: DavClient) -> None:
    got = statuses(f, "/f.txt", update(set_("<e:colour>blue</e:colour>", "<e:size>XL</e:size>")))
    assert got == {f"{{{NS}}}colour": 200, f"{{{NS}}}size": 200}
    assert dead(f, "/f.txt", f"{{{NS}}}colour", f"{{{NS}}}size") == {
        f"{{{NS}}}colour": "blue",
        f"{{{NS}}}size": "XL",
    }


def test_set_on_a_folder(f: DavClient) -> None:
    statuses(f, "/dir/", update(set_("<e:colour>red</e:colour>")))
    assert dead(f, "/dir/", f"{{{NS}}}colour") == {f"{{{NS}}}colour": "red"}


def test_set_replaces_and_remove_deletes(f: DavClient) -> None:
    statuses(f, "/f.txt", update(set_("<e:colour>blue</e:colour>")))
    statuses(f, "/f.txt", update(set_("<e:colour>green</e:colour>")))
    assert dead(f, "/f.txt", f"{{{NS}}}colour") == {f"{{{NS}}}colour": "green"}
    got = statuses(f, "/f.txt", update(remove("<e:colour/>")))
    assert got == {f"{{{NS}}}colour": 200}
    assert dead(f, "/f.txt", f"{{{NS}}}colour") == {}


def test_removing_a_property_that_is_not_there_succeeds(f: DavClient) -> None:
    # §9.2: "Specifying the removal of a property that does not exist is not an error."
    assert statuses(f, "/f.txt", update(remove("<e:ghost/>"))) == {f"{{{NS}}}ghost": 200}


def test_instructions_apply_in_document_order(f: DavClient) -> None:
    body = update(
        set_("<e:a>1</e:a>"),
        remove("<e:a/>"),
        set_("<e:b>1</e:b>"),
        set_("<e:b>2</e:b>"),
    )
    f.request("PROPPATCH", "/f.txt", body, check=207)
    assert dead(f, "/f.txt", f"{{{NS}}}a", f"{{{NS}}}b") == {f"{{{NS}}}b": "2"}


@pytest.mark.parametrize(
    "protected",
    [
        "<d:getetag>x</d:getetag>",
        "<d:getcontentlength>1</d:getcontentlength>",
        '<oc:fileid xmlns:oc="http://owncloud.org/ns">7</oc:fileid>',
        "<d:resourcetype/>",
    ],
)
def test_a_protected_property_fails_the_whole_request(f: DavClient, protected: str) -> None:
    statuses(f, "/f.txt", update(set_("<e:keep>old</e:keep>")))
    before = f.props("/f.txt", "{DAV:}getetag", "{DAV:}getcontentlength")
    body = update(set_("<e:colour>blue</e:colour>", protected), remove("<e:keep/>"))
    got = statuses(f, "/f.txt", body)
    protected_name = ET.fromstring(
        f'<r xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">{protected}</r>'
    )[0].tag
    assert got.pop(protected_name) == 403
    assert got == {f"{{{NS}}}colour": 424, f"{{{NS}}}keep": 424}
    # Nothing applied: the new property is absent, the removed one is still there.
    assert dead(f, "/f.txt", f"{{{NS}}}colour", f"{{{NS}}}keep") == {f"{{{NS}}}keep": "old"}
    assert f.props("/f.txt", "{DAV:}getetag", "{DAV:}getcontentlength") == before


def test_nested_xml_with_namespaces_round_trips(f: DavClient) -> None:
    value = (
        "<z:Authors>"
        '<z:Author xml:lang="de">Jürgen &amp; Co</z:Author>'
        '<z:Author><x:name xmlns:x="urn:x" x:kind="given">Roy</x:name></z:Author>'
        "text &lt;kept&gt;"
        "</z:Authors>"
    )
    statuses(f, "/f.txt", update(set_(value)))
    got = dead(f, "/f.txt", f"{{{Z}}}Authors")[f"{{{Z}}}Authors"]
    assert isinstance(got, ET.Element)
    authors = got.findall(f"{{{Z}}}Author")
    assert len(authors) == 2
    assert authors[0].text == "Jürgen & Co"
    assert authors[0].get("{http://www.w3.org/XML/1998/namespace}lang") == "de"
    name = authors[1].find("{urn:x}name")
    assert name is not None
    assert name.text == "Roy"
    assert name.get("{urn:x}kind") == "given"
    assert (authors[1].tail or "") + (authors[0].tail or "") == "text <kept>"


def test_a_property_in_no_namespace(f: DavClient) -> None:
    body = update(set_('<plain xmlns="">simple</plain>'))
    assert statuses(f, "/f.txt", body) == {"plain": 200}
    (props,) = f.propfind("/f.txt", "allprop", depth="0").values()
    assert props["plain"] == (200, "simple")


def test_a_value_with_the_same_name_in_two_namespaces(f: DavClient) -> None:
    statuses(f, "/f.txt", update(set_("<e:x>one</e:x>", "<z:x>two</z:x>")))
    assert dead(f, "/f.txt", f"{{{NS}}}x", f"{{{Z}}}x") == {f"{{{NS}}}x": "one", f"{{{Z}}}x": "two"}


def test_a_long_property_name_is_not_a_server_error(f: DavClient) -> None:
    name = "p" * 300
    r = f.request("PROPPATCH", "/f.txt", update(set_(f"<e:{name}>v</e:{name}>")))
    assert r.status_code < 500, r.text
    if r.status_code == 207:
        (props,) = parse_multistatus(r.content).values()
        if props[f"{{{NS}}}{name}"][0] == 200:
            assert dead(f, "/f.txt", f"{{{NS}}}{name}") == {f"{{{NS}}}{name}": "v"}


def test_proppatch_of_a_missing_resource_is_404(dav: DavClient) -> None:
    dav.request("PROPPATCH", "/nothing.txt", update(set_("<e:a>1</e:a>")), check=404)


@pytest.mark.parametrize(
    "body",
    [
        '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>',
        '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:frob/></d:propertyupdate>',
        '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><e:a xmlns:e="urn:e"/>'
        "</d:set></d:propertyupdate>",
        "",
    ],
    ids=["propfind-root", "unknown-instruction", "set-without-prop", "empty"],
)
def test_a_malformed_update_is_a_bad_request(f: DavClient, body: str) -> None:
    f.request("PROPPATCH", "/f.txt", body, check=400)


# -- properties follow MOVE and are copied by COPY ---------------------------------


def test_properties_survive_a_move(f: DavClient) -> None:
    statuses(f, "/f.txt", update(set_("<e:colour>blue</e:colour>")))
    statuses(f, "/dir/", update(set_("<e:colour>red</e:colour>")))
    f.put("/dir/inner.txt", b"i", check=201)
    statuses(f, "/dir/inner.txt", update(set_("<e:colour>green</e:colour>")))
    f.move("/f.txt", "/g.txt", check=201)
    f.move("/dir/", "/moved/", check=201)
    colour = f"{{{NS}}}colour"
    assert dead(f, "/g.txt", colour) == {colour: "blue"}
    assert dead(f, "/moved/", colour) == {colour: "red"}
    assert dead(f, "/moved/inner.txt", colour) == {colour: "green"}


def test_properties_are_copied_and_then_independent(f: DavClient) -> None:
    colour = f"{{{NS}}}colour"
    statuses(f, "/f.txt", update(set_("<e:colour>blue</e:colour>")))
    statuses(f, "/dir/", update(set_("<e:colour>red</e:colour>")))
    f.put("/dir/inner.txt", b"i", check=201)
    statuses(f, "/dir/inner.txt", update(set_("<e:colour>green</e:colour>")))
    f.copy("/f.txt", "/g.txt", check=201)
    f.copy("/dir/", "/copy/", check=201)
    assert dead(f, "/g.txt", colour) == {colour: "blue"}
    assert dead(f, "/copy/", colour) == {colour: "red"}
    assert dead(f, "/copy/inner.txt", colour) == {colour: "green"}
    statuses(f, "/g.txt", update(set_("<e:colour>black</e:colour>")))
    assert dead(f, "/f.txt", colour) == {colour: "blue"}


def test_a_viewer_of_a_team_space_cannot_set_properties(
    dav: DavClient, svc: Services, anna: Principal
) -> None:
    svc.files.create_team_space("lauscha", "Team")
    svc.files.set_space_member("lauscha", "Team", role=SpaceRole.VIEWER, user_login=anna.login)
    editor = factories.user(svc, "carl@lauscha")
    svc.files.set_space_member("lauscha", "Team", role=SpaceRole.EDITOR, user_login=editor.login)
    factories.put(svc, editor, "/Team/f.txt", b"x")
    dav.request("PROPPATCH", "/Team/f.txt", update(set_("<e:a>1</e:a>")), check=403)
    assert dead(dav, "/Team/f.txt", f"{{{NS}}}a") == {}
