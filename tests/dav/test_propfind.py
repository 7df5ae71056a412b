"""PROPFIND (RFC 4918 §9.1): depths, the three request kinds, dead properties, etags, cost."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.common import factories
from tests.common.dav import OC_NS, DavClient, count_queries, make_tree
from thvc.accounts.services import Principal
from thvc.dav import propfind
from thvc.dav.propfind import BODY_MEMO_MIN
from thvc.files.models import Node, Space, SpaceRole
from thvc.files.services import LISTING_MEMO_MIN, new_etag
from thvc.services import Services

GETETAG = "{DAV:}getetag"
RESOURCETYPE = "{DAV:}resourcetype"
COLLECTION = "{DAV:}collection"
DEAD = "{http://example.com/ns}colour"
PROPPATCH_COLOUR = (
    '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:e="http://example.com/ns">'
    "<d:set><d:prop><e:colour>blue</e:colour></d:prop></d:set></d:propertyupdate>"
)


@pytest.fixture
def tree(dav: DavClient, svc: Services, anna: Principal) -> DavClient:
    """/docs/ with a.txt (5 bytes) and sub/, and /top.txt."""
    make_tree(svc, anna, {"/docs/": None, "/docs/sub/": None, "/top.txt": b"top"})
    factories.put(svc, anna, "/docs/a.txt", b"hello", content_type="text/plain")
    return dav


def _is_collection(value: object) -> bool:
    return isinstance(value, ET.Element) and value.find(COLLECTION) is not None


# -- depth -------------------------------------------------------------------


def test_depth_0_reports_only_the_resource(tree: DavClient) -> None:
    found = tree.propfind("/docs/", depth="0")
    assert list(found) == [tree.href("/docs/")]
    assert _is_collection(found[tree.href("/docs/")][RESOURCETYPE][1])


def test_depth_1_reports_the_folder_and_its_members(tree: DavClient) -> None:
    found = tree.propfind("/docs/", depth="1")
    assert set(found) == {tree.href("/docs/"), tree.href("/docs/a.txt"), tree.href("/docs/sub/")}
    a = found[tree.href("/docs/a.txt")]
    assert a[RESOURCETYPE] == (200, "")
    assert a["{DAV:}getcontentlength"] == (200, "5")
    assert a["{DAV:}getcontenttype"] == (200, "text/plain")
    assert a["{DAV:}displayname"] == (200, "a.txt")
    assert _is_collection(found[tree.href("/docs/sub/")][RESOURCETYPE][1])


def test_depth_1_on_a_file_reports_the_file(tree: DavClient) -> None:
    assert list(tree.propfind("/top.txt", depth="1")) == [tree.href("/top.txt")]


def test_the_users_root(tree: DavClient) -> None:
    found = tree.propfind("/", depth="1")
    assert set(found) == {tree.href("/"), tree.href("/docs/"), tree.href("/top.txt")}


def test_depth_infinity_is_refused_with_the_finite_depth_precondition(tree: DavClient) -> None:
    r = tree.request("PROPFIND", "/docs/", headers={"Depth": "infinity"}, check=403)
    root = ET.fromstring(r.content)
    assert root.tag == "{DAV:}error"
    assert root.find("{DAV:}propfind-finite-depth") is not None


def test_an_invalid_depth_is_a_bad_request(tree: DavClient) -> None:
    tree.request("PROPFIND", "/docs/", headers={"Depth": "2"}, check=400)


def test_a_missing_resource_is_404(dav: DavClient) -> None:
    dav.propfind("/nothing/", depth="0", check=404)


# -- allprop, propname, prop -------------------------------------------------


@pytest.mark.parametrize("props", [None, "allprop"], ids=["empty-body", "allprop"])
def test_allprop_reports_the_dav_properties(tree: DavClient, props: str | None) -> None:
    found = tree.propfind("/docs/a.txt", props, depth="0")[tree.href("/docs/a.txt")]
    for name in (
        RESOURCETYPE,
        GETETAG,
        "{DAV:}getcontentlength",
        "{DAV:}getcontenttype",
        "{DAV:}getlastmodified",
        "{DAV:}creationdate",
        "{DAV:}displayname",
    ):
        assert found[name][0] == 200, name
    # RFC 4331: quota properties are not part of allprop.
    assert "{DAV:}quota-available-bytes" not in found
    assert all(status == 200 for status, _ in found.values())


def test_an_empty_body_is_treated_as_allprop(tree: DavClient) -> None:
    empty = tree.propfind("/docs/", None, depth="1")
    allprop = tree.propfind("/docs/", "allprop", depth="1")
    assert {h: set(p) for h, p in empty.items()} == {h: set(p) for h, p in allprop.items()}


def test_propname_lists_names_without_values(tree: DavClient) -> None:
    found = tree.propfind("/docs/a.txt", "propname", depth="0")[tree.href("/docs/a.txt")]
    assert {GETETAG, RESOURCETYPE, "{DAV:}getcontentlength", f"{{{OC_NS}}}fileid"} <= set(found)
    assert all(value == "" and status == 200 for status, value in found.values())


def test_prop_reports_unknown_properties_as_404(tree: DavClient) -> None:
    unknown = "{http://example.com/ns}nothing"
    found = tree.propfind("/docs/a.txt", [GETETAG, unknown, "{DAV:}nonsense"], depth="0")
    props = found[tree.href("/docs/a.txt")]
    assert props[GETETAG][0] == 200
    assert props[unknown][0] == 404
    assert props["{DAV:}nonsense"][0] == 404


def test_prop_not_applicable_to_a_folder_is_404(tree: DavClient) -> None:
    found = tree.propfind("/docs/", ["{DAV:}getcontentlength", GETETAG], depth="0")
    props = found[tree.href("/docs/")]
    assert props["{DAV:}getcontentlength"][0] == 404
    assert props[GETETAG][0] == 200


def test_quota_properties_of_a_folder(tree: DavClient) -> None:
    found = tree.propfind(
        "/", ["{DAV:}quota-used-bytes", "{DAV:}quota-available-bytes"], depth="0"
    )[tree.href("/")]
    assert found["{DAV:}quota-used-bytes"] == (200, "8")
    assert found["{DAV:}quota-available-bytes"][0] == 200


def test_oc_properties(tree: DavClient) -> None:
    props = tree.props(
        "/docs/a.txt",
        f"{{{OC_NS}}}fileid",
        f"{{{OC_NS}}}size",
        f"{{{OC_NS}}}permissions",
    )
    assert str(props[f"{{{OC_NS}}}fileid"]).isdigit()
    assert props[f"{{{OC_NS}}}size"] == "5"
    assert "W" in str(props[f"{{{OC_NS}}}permissions"])


def test_folder_size_is_the_sum_below(tree: DavClient) -> None:
    tree.put("/docs/sub/b.bin", b"0123456789", check=201)
    assert tree.prop("/docs/", f"{{{OC_NS}}}size") == "15"
    assert tree.prop("/", f"{{{OC_NS}}}size") == "18"


def test_names_are_percent_encoded_in_hrefs(dav: DavClient) -> None:
    dav.put("/a%20b%25c%23%C3%A4.txt", b"x", check=201)
    found = dav.propfind("/", depth="1")
    assert "/dav/files/anna@lauscha/a%20b%25c%23%C3%A4.txt" in found
    props = found["/dav/files/anna@lauscha/a%20b%25c%23%C3%A4.txt"]
    assert props["{DAV:}displayname"] == (200, "a b%c#ä.txt")


def test_the_propfind_root_element_must_be_propfind(dav: DavClient) -> None:
    body = '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"/>'
    dav.request("PROPFIND", "/", body, {"Depth": "0"}, check=400)


# -- dead properties ---------------------------------------------------------


def test_dead_properties_appear_in_allprop_propname_and_prop(tree: DavClient) -> None:
    tree.request("PROPPATCH", "/docs/a.txt", PROPPATCH_COLOUR, check=207)
    href = tree.href("/docs/a.txt")
    assert tree.propfind("/docs/a.txt", "allprop", depth="0")[href][DEAD] == (200, "blue")
    assert tree.propfind("/docs/a.txt", "propname", depth="0")[href][DEAD] == (200, "")
    assert tree.propfind("/docs/a.txt", [DEAD], depth="0")[href][DEAD] == (200, "blue")
    # ... and in a Depth 1 listing of the folder, for that member only.
    listing = tree.propfind("/docs/", "allprop", depth="1")
    assert listing[href][DEAD] == (200, "blue")
    assert DEAD not in listing[tree.href("/docs/")]


# -- etags -------------------------------------------------------------------

ANCESTORS = ["/", "/a/", "/a/b/", "/a/b/c/"]


@pytest.fixture
def deep(dav: DavClient, svc: Services, anna: Principal) -> DavClient:
    make_tree(
        svc,
        anna,
        {
            "/a/": None,
            "/a/b/": None,
            "/a/b/c/": None,
            "/z/": None,
            "/a/b/c/f.txt": b"one",
            "/z/g.txt": b"two",
        },
    )
    return dav


def _etags(dav: DavClient, paths: list[str]) -> dict[str, str]:
    return {p: dav.etag(p) for p in paths}


CHANGES: dict[str, Callable[[DavClient], object]] = {
    "put-new": lambda d: d.put("/a/b/c/new.txt", b"new", check=201),
    "overwrite": lambda d: d.put("/a/b/c/f.txt", b"changed", check=204),
    "mkcol": lambda d: d.mkcol("/a/b/c/sub"),
    "delete": lambda d: d.delete("/a/b/c/f.txt"),
    "move-in": lambda d: d.move("/z/g.txt", "/a/b/c/g.txt", check=201),
    "move-out": lambda d: d.move("/a/b/c/f.txt", "/z/f.txt", check=201),
    "copy-in": lambda d: d.copy("/z/g.txt", "/a/b/c/g.txt", check=201),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_change_below_gives_every_ancestor_a_new_etag(
    deep: DavClient, change: Callable[[DavClient], object]
) -> None:
    before = _etags(deep, ANCESTORS)
    change(deep)
    after = _etags(deep, ANCESTORS)
    assert [p for p in ANCESTORS if before[p] == after[p]] == []


def test_an_overwrite_changes_the_files_etag_and_not_its_siblings(deep: DavClient) -> None:
    before = _etags(deep, ["/a/b/c/f.txt", "/z/", "/z/g.txt"])
    deep.put("/a/b/c/f.txt", b"changed", check=204)
    after = _etags(deep, ["/a/b/c/f.txt", "/z/", "/z/g.txt"])
    assert before["/a/b/c/f.txt"] != after["/a/b/c/f.txt"]
    assert before["/z/"] == after["/z/"]
    assert before["/z/g.txt"] == after["/z/g.txt"]


def test_a_read_changes_no_etag(deep: DavClient) -> None:
    before = _etags(deep, [*ANCESTORS, "/a/b/c/f.txt"])
    deep.get("/a/b/c/f.txt")
    deep.propfind("/a/", depth="1")
    assert _etags(deep, [*ANCESTORS, "/a/b/c/f.txt"]) == before


def test_a_move_gives_both_sides_new_etags(deep: DavClient) -> None:
    before = _etags(deep, ["/", "/a/b/c/", "/z/"])
    deep.move("/a/b/c/f.txt", "/z/f.txt", check=201)
    after = _etags(deep, ["/", "/a/b/c/", "/z/"])
    assert all(before[p] != after[p] for p in before)


def test_a_change_in_a_team_space_changes_the_users_root_etag(
    dav: DavClient, svc: Services, anna: Principal
) -> None:
    """Team spaces are folders of the user's root; a sync client that polls
    the root's etag must see changes made inside them (§5: "the change
    propagates to every ancestor folder's etag")."""
    svc.files.create_team_space("lauscha", "Team")
    svc.files.set_space_member("lauscha", "Team", role=SpaceRole.EDITOR, user_login=anna.login)
    before = _etags(dav, ["/", "/Team/"])
    dav.put("/Team/report.txt", b"numbers", check=201)
    after = _etags(dav, ["/", "/Team/"])
    assert before["/Team/"] != after["/Team/"]
    assert before["/"] != after["/"]


# -- cost ----------------------------------------------------------------------


def _bulk_children(svc: Services, who: Principal, folder: str, n: int) -> None:
    """``n`` one-byte files in ``folder`` in one transaction (sharing one blob).

    The rows are what n PUTs would leave, accounting included; writing them
    directly keeps the test fast (n real PUTs cost n fsyncs).
    """
    factories.mkdir(svc, who, folder)
    first = factories.put(svc, who, f"{folder}/f0000", b"x")
    with svc.db.write() as s:
        model = s.get_one(Node, first.id)
        for i in range(1, n):
            name = f"f{i:04d}"
            s.add(
                Node(
                    space_id=model.space_id,
                    parent_id=model.parent_id,
                    path=f"{folder}/{name}",
                    name=name,
                    is_dir=False,
                    size=1,
                    etag=new_etag(),
                    blob_id=model.blob_id,
                    sha256=model.sha256,
                )
            )
        s.execute(
            update(Node)
            .where(Node.space_id == model.space_id, Node.path.in_(["", folder]))
            .values(size=Node.size + (n - 1))
        )
        s.execute(
            update(Space)
            .where(Space.id == model.space_id)
            .values(used_bytes=Space.used_bytes + (n - 1))
        )
    with svc.db.read() as s:
        live = s.scalars(select(Node.id).where(Node.parent_id == model.parent_id)).all()
    assert len(live) == n


def _listing_queries(dav: DavClient, svc: Services, folder: str, props: object) -> int:
    dav.propfind(folder + "/", props, depth="1")  # warm up: login, credential cache
    with count_queries(svc.db.engine) as statements:
        found = dav.propfind(folder + "/", props, depth="1")
    assert len(found) > 1
    return len(statements)


@pytest.mark.parametrize(
    "props",
    [None, "propname", [GETETAG, DEAD, "{DAV:}quota-used-bytes"]],
    ids=["allprop", "propname", "prop"],
)
def test_a_depth_1_listing_costs_the_same_queries_for_10_or_300_members(
    dav: DavClient, svc: Services, anna: Principal, props: object
) -> None:
    _bulk_children(svc, anna, "/small", 10)
    _bulk_children(svc, anna, "/large", 300)
    for folder in ("/small", "/large"):
        dav.request("PROPPATCH", f"{folder}/f0001", PROPPATCH_COLOUR, check=207)
    small = _listing_queries(dav, svc, "/small", props)
    large = _listing_queries(dav, svc, "/large", props)
    assert small == large
    # Constant in N is the property; the cap guards against a per-request regression:
    # three read transactions (authentication, resolution with the received shares, the
    # answer itself).
    assert large <= 16, f"{large} queries for one PROPFIND"
    listing = dav.propfind("/large/", props, depth="1")
    assert len(listing) == 301


LOCK_BODY = (
    '<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope>'
    "<d:locktype><d:write/></d:locktype><d:owner>anna</d:owner></d:lockinfo>"
)


def test_a_listing_asked_again_after_each_change_shows_the_change(tree: DavClient) -> None:
    """Rendered members are reused between requests: never one that has changed since."""
    href = tree.href("/docs/a.txt")

    def member() -> dict[str, tuple[int, object]]:
        # Twice: the second answer comes from what the first one rendered.
        first = tree.propfind("/docs/", "allprop", depth="1")[href]
        again = tree.propfind("/docs/", "allprop", depth="1")[href]
        assert {k: v[0] for k, v in again.items()} == {k: v[0] for k, v in first.items()}
        return again

    before = member()
    assert DEAD not in before and before["{DAV:}getcontentlength"] == (200, "5")
    tree.request("PROPPATCH", "/docs/a.txt", PROPPATCH_COLOUR, check=207)
    assert member()[DEAD] == (200, "blue")
    etag = member()[GETETAG]
    tree.put("/docs/a.txt", b"longer now", check=204)
    changed = member()
    assert changed["{DAV:}getcontentlength"] == (200, "10") and changed[GETETAG] != etag
    assert changed["{DAV:}lockdiscovery"] == (200, "")
    tree.request("LOCK", "/docs/a.txt", LOCK_BODY, check=200)
    locked = member()["{DAV:}lockdiscovery"][1]
    assert isinstance(locked, ET.Element) and locked.find("{DAV:}activelock") is not None


def test_a_large_listing_asked_again_after_each_change_shows_the_change(
    dav: DavClient, svc: Services, anna: Principal
) -> None:
    """Large listings are remembered whole (entries in the core, the answer in the DAV
    layer), checked against the rows read each time: any change shows, whether or not it
    gave the folder a new etag."""
    n = LISTING_MEMO_MIN + 20
    assert n > BODY_MEMO_MIN
    _bulk_children(svc, anna, "/big", n)
    sizes = [GETETAG, "{DAV:}getcontentlength", "{DAV:}lockdiscovery", DEAD, f"{{{OC_NS}}}fileid"]

    def listing(props: object = "allprop") -> dict[str, dict[str, tuple[int, object]]]:
        first = dav.propfind("/big/", props, depth="1")
        again = dav.propfind("/big/", props, depth="1")
        assert {h: {k: v[0] for k, v in p.items()} for h, p in again.items()} == {
            h: {k: v[0] for k, v in p.items()} for h, p in first.items()
        }
        return again

    f1 = dav.href("/big/f0001")
    assert len(listing()) == n + 1
    dav.request("PROPPATCH", "/big/f0001", PROPPATCH_COLOUR, check=207)
    assert listing()[f1][DEAD] == (200, "blue")
    assert listing(sizes)[f1][DEAD] == (200, "blue")
    # A row changed behind the services' back (no etag anywhere changes): still seen.
    with svc.db.write() as s:
        s.execute(update(Node).where(Node.name == "f0002").values(size=12345))
    assert listing()[dav.href("/big/f0002")]["{DAV:}getcontentlength"] == (200, "12345")
    dav.put("/big/new.txt", b"new", check=201)
    assert dav.href("/big/new.txt") in listing()
    dav.move("/big/new.txt", "/big/renamed.txt", check=201)
    found = listing()
    assert dav.href("/big/renamed.txt") in found and dav.href("/big/new.txt") not in found
    dav.delete("/big/renamed.txt")
    assert dav.href("/big/renamed.txt") not in listing()
    locked = dav.request("LOCK", "/big/f0003", LOCK_BODY, check=200)
    held = listing()[dav.href("/big/f0003")]["{DAV:}lockdiscovery"][1]
    assert isinstance(held, ET.Element) and held.find("{DAV:}activelock") is not None
    token = locked.headers["Lock-Token"]
    dav.request("UNLOCK", "/big/f0003", headers={"Lock-Token": token}, check=204)
    assert listing()[dav.href("/big/f0003")]["{DAV:}lockdiscovery"] == (200, "")


def test_large_listings_of_two_users_at_the_same_path_stay_apart(
    dav: DavClient, dav_ben: DavClient, svc: Services, anna: Principal, ben: Principal
) -> None:
    n = LISTING_MEMO_MIN + 5
    _bulk_children(svc, anna, "/big", n)
    _bulk_children(svc, ben, "/big", n)
    ids: dict[str, set[object]] = {}
    for _ in range(2):
        for who, client in (("anna", dav), ("ben", dav_ben)):
            found = client.propfind("/big/", [f"{{{OC_NS}}}fileid"], depth="1")
            assert all(h.startswith(client.href("/big/")) for h in found)
            seen = {p[f"{{{OC_NS}}}fileid"][1] for p in found.values()}
            assert ids.setdefault(who, seen) == seen
    assert not ids["anna"] & ids["ben"]


def test_an_unchanged_large_folder_is_not_rendered_again(
    dav: DavClient, svc: Services, anna: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bulk_children(svc, anna, "/big", LISTING_MEMO_MIN + 1)
    rendered: list[int] = []
    real = propfind.render

    def counting(*args: Any, **kwargs: Any) -> Any:
        rendered.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(propfind, "render", counting)
    first = dav.request("PROPFIND", "/big/", headers={"Depth": "1"}, check=207).content
    again = dav.request("PROPFIND", "/big/", headers={"Depth": "1"}, check=207).content
    assert again == first and len(rendered) == 1
    dav.put("/big/f0001", b"changed", check=204)
    changed = dav.request("PROPFIND", "/big/", headers={"Depth": "1"}, check=207).content
    assert changed != first and len(rendered) == 2
