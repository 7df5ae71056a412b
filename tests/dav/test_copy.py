"""COPY (RFC 4918 §9.8): Destination, Overwrite, Depth; copies get new file ids."""

from __future__ import annotations

import pytest

from tests.common.dav import DavClient, make_tree
from thvc.accounts.services import Principal
from thvc.services import Services
from thvc.settings import Settings


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


def test_copy_a_file(tree: DavClient) -> None:
    tree.copy("/f.txt", "/g.txt", check=201)
    assert tree.get("/g.txt").content == b"file"
    assert tree.get("/f.txt").content == b"file"
    assert tree.fileid("/g.txt") != tree.fileid("/f.txt")


def test_copy_a_folder_with_everything_below(tree: DavClient) -> None:
    tree.copy("/src/", "/dst/", check=201)
    assert tree.children("/dst/") == {"a.txt", "sub"}
    assert tree.get("/dst/sub/b.txt").content == b"bb"
    assert tree.prop("/dst/", "{http://owncloud.org/ns}size") == "5"
    ids = {tree.fileid(p) for p in ("/src/", "/src/a.txt", "/src/sub/", "/src/sub/b.txt")}
    new = {tree.fileid(p) for p in ("/dst/", "/dst/a.txt", "/dst/sub/", "/dst/sub/b.txt")}
    assert not ids & new
    assert len(new) == 4


def test_a_copy_is_independent_of_its_source(tree: DavClient) -> None:
    tree.copy("/f.txt", "/g.txt", check=201)
    tree.put("/g.txt", b"changed", check=204)
    assert tree.get("/f.txt").content == b"file"
    tree.delete("/f.txt")
    assert tree.get("/g.txt").content == b"changed"


def test_copy_with_depth_0_copies_the_folder_alone(tree: DavClient) -> None:
    tree.request(
        "COPY", "/src/", headers={"Destination": tree.url("/dst/"), "Depth": "0"}, check=201
    )
    assert tree.children("/dst/") == set()
    assert tree.prop("/dst/", "{http://owncloud.org/ns}size") == "0"
    assert tree.children("/src/") == {"a.txt", "sub"}


def test_copy_with_depth_1_is_a_bad_request(tree: DavClient) -> None:
    tree.request(
        "COPY", "/src/", headers={"Destination": tree.url("/dst/"), "Depth": "1"}, check=400
    )


@pytest.mark.parametrize(("overwrite", "status"), [("T", 204), (None, 204), ("F", 412)])
def test_overwrite(tree: DavClient, overwrite: str | None, status: int) -> None:
    tree.put("/g.txt", b"old", check=201)
    headers = {"overwrite": overwrite} if overwrite else {}
    tree.copy("/f.txt", "/g.txt", check=status, **headers)
    assert tree.get("/g.txt").content == (b"old" if status == 412 else b"file")


def test_overwrite_of_a_folder_replaces_it_whole(tree: DavClient) -> None:
    tree.mkcol("/dst")
    tree.put("/dst/old.txt", b"old", check=201)
    tree.copy("/src/", "/dst/", check=204)
    assert tree.children("/dst/") == {"a.txt", "sub"}


def test_copy_onto_itself_is_forbidden(tree: DavClient) -> None:
    tree.copy("/f.txt", "/f.txt", check=403)
    tree.copy("/src/", "/src/", check=403)


def test_copy_into_itself_is_forbidden(tree: DavClient) -> None:
    tree.copy("/src/", "/src/sub/inside/", check=403)
    assert tree.children("/src/sub/") == {"b.txt"}


def test_copy_onto_its_own_parent_loses_nothing(tree: DavClient) -> None:
    """COPY /src/sub -> /src with Overwrite: T would first delete /src and with
    it the source; the server must refuse (or copy the whole source), never
    leave a partial copy behind."""
    r = tree.copy("/src/sub/", "/src/", check=None)
    if r.status_code < 300:
        assert tree.children("/src/") == {"b.txt"}
        assert tree.get("/src/b.txt").content == b"bb"
    else:
        assert r.status_code in (403, 409), r.status_code
        assert tree.get("/src/sub/b.txt").content == b"bb"


def test_a_missing_destination_parent_is_a_conflict(tree: DavClient) -> None:
    tree.copy("/f.txt", "/nowhere/g.txt", check=409)


def test_a_missing_source_is_404(tree: DavClient) -> None:
    tree.copy("/missing", "/g.txt", check=404)


def test_a_missing_destination_header_is_a_bad_request(tree: DavClient) -> None:
    tree.request("COPY", "/f.txt", check=400)


def test_a_full_destination_url_on_this_host(tree: DavClient) -> None:
    tree.copy("/f.txt", "http://testserver" + tree.url("/g.txt"), check=201)
    tree.copy("/f.txt", "http://testserver" + tree.url("/h%20i.txt"), check=201)
    assert tree.children("/") >= {"g.txt", "h i.txt"}


def test_a_destination_on_another_host_is_a_bad_gateway(tree: DavClient) -> None:
    tree.copy("/f.txt", "http://elsewhere.example" + tree.url("/g.txt"), check=502)
    tree.get("/g.txt", check=404)


@pytest.mark.parametrize("dst", ["/health", "/dav/other/anna@lauscha/g.txt", "/g.txt"])
def test_a_destination_outside_the_tree_is_a_bad_gateway(tree: DavClient, dst: str) -> None:
    tree.request("COPY", "/f.txt", headers={"Destination": dst}, check=502)


def test_a_destination_in_another_users_tree_is_404(tree: DavClient, dav_ben: DavClient) -> None:
    dav_ben.put("/b.txt", b"ben", check=201)
    tree.copy("/f.txt", "/dav/files/ben@suhl/g.txt", check=404)
    assert dav_ben.children("/") == {"b.txt"}


def test_copy_shares_the_content(tree: DavClient, svc: Services, settings: Settings) -> None:
    blobs = sorted(p for p in settings.blob_dir.rglob("*") if p.is_file())
    tree.copy("/src/", "/dst/", check=201)
    assert sorted(p for p in settings.blob_dir.rglob("*") if p.is_file()) == blobs


def test_copy_is_charged_to_the_quota(tree: DavClient) -> None:
    assert tree.prop("/", "{DAV:}quota-used-bytes") == "9"
    tree.copy("/src/", "/dst/", check=201)
    assert tree.prop("/", "{DAV:}quota-used-bytes") == "14"
