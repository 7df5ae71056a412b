"""DELETE (RFC 4918 §9.6): to the trash, with everything below; restorable."""

from __future__ import annotations

from tests.common.dav import DavClient
from thvc.accounts.services import Principal
from thvc.services import Services


def test_delete_moves_a_file_to_the_trash(dav: DavClient, svc: Services, anna: Principal) -> None:
    dav.put("/a.txt", b"keep me", check=201)
    dav.delete("/a.txt")
    dav.get("/a.txt", check=404)
    assert dav.children("/") == set()
    (item,) = svc.files.list_trash(anna)
    assert (item.path, item.is_dir, item.size) == ("/a.txt", False, 7)
    assert svc.files.restore_trash(anna, item.id) == "/a.txt"
    assert dav.get("/a.txt").content == b"keep me"
    assert svc.files.list_trash(anna) == []


def test_delete_of_a_folder_takes_everything_below(
    dav: DavClient, svc: Services, anna: Principal
) -> None:
    dav.mkcol("/dir")
    dav.mkcol("/dir/sub")
    dav.put("/dir/sub/a.txt", b"aaa", check=201)
    dav.put("/dir/b.txt", b"bb", check=201)
    fileid = dav.fileid("/dir/sub/a.txt")
    dav.delete("/dir/")
    dav.propfind("/dir/", depth="0", check=404)
    dav.get("/dir/sub/a.txt", check=404)
    assert dav.prop("/", "{http://owncloud.org/ns}size") == "0"
    (item,) = svc.files.list_trash(anna)  # one item: the folder
    assert (item.path, item.is_dir, item.size) == ("/dir", True, 5)
    svc.files.restore_trash(anna, item.id)
    assert dav.children("/dir/") == {"sub", "b.txt"}
    assert dav.get("/dir/sub/a.txt").content == b"aaa"
    assert dav.fileid("/dir/sub/a.txt") == fileid


def test_a_name_can_be_reused_after_delete(dav: DavClient) -> None:
    dav.put("/a.txt", b"one", check=201)
    dav.delete("/a.txt")
    dav.put("/a.txt", b"two", check=201)
    dav.delete("/a.txt")
    dav.mkcol("/a.txt")


def test_delete_of_a_missing_resource_is_404(dav: DavClient) -> None:
    dav.delete("/missing", check=404)
    dav.delete("/missing/deeper", check=404)


def test_delete_twice(dav: DavClient) -> None:
    dav.put("/a.txt", b"x", check=201)
    dav.delete("/a.txt")
    dav.delete("/a.txt", check=404)


def test_the_root_cannot_be_deleted(dav: DavClient) -> None:
    dav.put("/a.txt", b"x", check=201)
    dav.delete("/", check=403)
    assert dav.children("/") == {"a.txt"}


def test_delete_with_if_match(dav: DavClient) -> None:
    etag = dav.put("/a.txt", b"x", check=201).headers["ETag"]
    dav.request("DELETE", "/a.txt", headers={"If-Match": '"other"'}, check=412)
    dav.get("/a.txt")
    dav.request("DELETE", "/a.txt", headers={"If-Match": etag}, check=204)


def test_delete_with_a_finite_depth_is_refused(dav: DavClient) -> None:
    dav.mkcol("/dir")
    dav.request("DELETE", "/dir/", headers={"Depth": "0"}, check=400)
    dav.propfind("/dir/", depth="0")


def test_delete_frees_the_quota(dav: DavClient) -> None:
    dav.put("/a.bin", b"x" * 100, check=201)
    used = dav.prop("/", "{DAV:}quota-used-bytes")
    dav.delete("/a.bin")
    assert (used, dav.prop("/", "{DAV:}quota-used-bytes")) == ("100", "0")
