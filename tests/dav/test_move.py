"""MOVE (RFC 4918 §9.9): the file id and the properties stay with the node."""

from __future__ import annotations

import pytest

from tests.common.dav import DavClient, make_tree
from thvc.accounts.services import Principal
from thvc.files.models import SpaceRole
from thvc.services import Services


@pytest.fixture
def tree(dav: DavClient, svc: Services, anna: Principal) -> DavClient:
    make_tree(
        svc,
        anna,
        {
            "/src/": None,
            "/src/sub/": None,
            "/src/a.txt": b"aaa",
            "/src/sub/b.txt": b"bb",
            "/f.txt": b"file",
        },
    )
    return dav


def test_rename_a_file_keeps_its_id(tree: DavClient) -> None:
    fileid = tree.fileid("/f.txt")
    tree.move("/f.txt", "/g.txt", check=201)
    tree.get("/f.txt", check=404)
    assert tree.get("/g.txt").content == b"file"
    assert tree.fileid("/g.txt") == fileid


def test_move_a_folder_keeps_every_id(tree: DavClient) -> None:
    before = [tree.fileid(p) for p in ("/src/", "/src/a.txt", "/src/sub/", "/src/sub/b.txt")]
    tree.mkcol("/into")
    tree.move("/src/", "/into/moved/", check=201)
    after = [
        tree.fileid(p)
        for p in ("/into/moved/", "/into/moved/a.txt", "/into/moved/sub/", "/into/moved/sub/b.txt")
    ]
    assert before == after
    tree.propfind("/src/", depth="0", check=404)
    assert tree.prop("/into/", "{http://owncloud.org/ns}size") == "5"


def test_a_name_that_only_extends_the_source_is_not_below_it(tree: DavClient) -> None:
    tree.mkcol("/src2")
    tree.put("/src2/x.txt", b"x", check=201)
    tree.put("/src.txt", b"y", check=201)
    tree.move("/src/", "/moved/", check=201)
    assert tree.children("/src2/") == {"x.txt"}
    assert tree.get("/src.txt").content == b"y"


@pytest.mark.parametrize(("overwrite", "status"), [("T", 204), (None, 204), ("F", 412)])
def test_overwrite(tree: DavClient, overwrite: str | None, status: int) -> None:
    tree.put("/g.txt", b"old", check=201)
    headers = {"overwrite": overwrite} if overwrite else {}
    tree.move("/f.txt", "/g.txt", check=status, **headers)
    assert tree.get("/g.txt").content == (b"old" if status == 412 else b"file")
    tree.get("/f.txt", check=200 if status == 412 else 404)


def test_an_overwritten_destination_goes_to_the_trash(
    tree: DavClient, svc: Services, anna: Principal
) -> None:
    tree.put("/g.txt", b"old", check=201)
    tree.move("/f.txt", "/g.txt", check=204)
    (item,) = svc.files.list_trash(anna)
    assert item.path == "/g.txt"


def test_move_onto_itself_is_forbidden(tree: DavClient) -> None:
    tree.move("/f.txt", "/f.txt", check=403)


def test_move_into_itself_is_forbidden(tree: DavClient) -> None:
    tree.move("/src/", "/src/sub/inside/", check=403)
    assert tree.children("/src/") == {"a.txt", "sub"}


def test_move_onto_its_own_parent_loses_nothing(tree: DavClient) -> None:
    """MOVE /src/sub -> /src with Overwrite: T: deleting the destination first
    would delete the source with it; the server must refuse, or end with the
    source's content at /src, never make it vanish."""
    r = tree.move("/src/sub/", "/src/", check=None)
    if r.status_code < 300:
        assert tree.children("/src/") == {"b.txt"}
        assert tree.get("/src/b.txt").content == b"bb"
    else:
        assert r.status_code in (403, 409), r.status_code
        assert tree.get("/src/sub/b.txt").content == b"bb"


def test_the_root_cannot_be_moved(tree: DavClient) -> None:
    tree.move("/", "/elsewhere/", check=403)


def test_a_missing_destination_parent_is_a_conflict(tree: DavClient) -> None:
    tree.move("/f.txt", "/nowhere/g.txt", check=409)
    tree.get("/f.txt")


def test_a_missing_source_is_404(tree: DavClient) -> None:
    tree.move("/missing", "/g.txt", check=404)


def test_a_destination_on_another_host_is_a_bad_gateway(tree: DavClient) -> None:
    tree.move("/f.txt", "http://elsewhere.example" + tree.url("/g.txt"), check=502)
    tree.get("/f.txt")


@pytest.mark.parametrize("dst", ["/health", "/dav/other/anna@lauscha/g.txt", "/g.txt"])
def test_a_destination_outside_the_tree_is_a_bad_gateway(tree: DavClient, dst: str) -> None:
    tree.request("MOVE", "/f.txt", headers={"Destination": dst}, check=502)
    tree.get("/f.txt")


def test_a_move_to_another_tenants_user_is_404(tree: DavClient, dav_ben: DavClient) -> None:
    tree.move("/f.txt", "/dav/files/ben@suhl/f.txt", check=404)
    tree.get("/f.txt")


def test_move_with_a_finite_depth_is_refused(tree: DavClient) -> None:
    tree.request("MOVE", "/src/", headers={"Destination": tree.url("/x/"), "Depth": "0"}, check=400)


def test_move_into_a_team_space_and_back(tree: DavClient, svc: Services, anna: Principal) -> None:
    svc.files.create_team_space("lauscha", "Team")
    svc.files.set_space_member("lauscha", "Team", role=SpaceRole.EDITOR, user_login=anna.login)
    fileid = tree.fileid("/src/a.txt")
    tree.move("/src/", "/Team/src/", check=201)
    assert tree.get("/Team/src/a.txt").content == b"aaa"
    assert tree.fileid("/Team/src/a.txt") == fileid
    assert tree.prop("/Team/", "{DAV:}quota-used-bytes") == "5"
    assert tree.prop("/", "{DAV:}quota-used-bytes") == "4"
    tree.move("/Team/src/", "/back/", check=201)
    assert tree.prop("/Team/", "{DAV:}quota-used-bytes") == "0"
    assert tree.prop("/", "{DAV:}quota-used-bytes") == "9"


@pytest.mark.parametrize("source", ["/f.txt", "/src/"])
def test_moving_onto_the_root_is_refused_and_changes_nothing(tree: DavClient, source: str) -> None:
    tree.move(source, "/", check=403)
    tree.move(source, "/", overwrite="F", check=403)
    assert tree.get("/f.txt").content == b"file"
    tree.propfind("/src/", depth="0", check=207)
