"""/files: listings with pages and sorts, metadata with ETags, folders, move, copy, delete,
search, versions and the trash; and that another tenant's user finds nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.support import Api, problem_of
from tests.common import factories
from tests.common.dav import make_tree
from thvc.accounts.services import Principal
from thvc.files.models import SpaceRole
from thvc.services import Services

TREE: dict[str, bytes | None] = {
    "Akten/": None,
    "Akten/Haushalt 2026.txt": b"Haushalt 2026\n" * 50,
    "Akten/leer.txt": b"",
    "Akten/Übersicht/": None,
    "Akten/Übersicht/Straße & Brücke.csv": "a;b\nä;ö\n".encode(),
    "Einzeln.pdf": b"%PDF-1.4 einzeln\n" * 10,
}


@pytest.fixture
def tree(svc: Services, anna: Principal) -> None:
    make_tree(svc, anna, TREE)


def names(page: dict[str, Any]) -> list[str]:
    return [i["name"] for i in page["items"]]


@pytest.mark.usefixtures("tree")
def test_the_root_lists_its_entries(api: Api) -> None:
    page = api.get("/files").json()
    assert names(page) == ["Akten", "Einzeln.pdf"]
    assert page["next_cursor"] is None
    akten, pdf = page["items"]
    assert akten["type"] == "folder" and akten["path"] == "/Akten"
    assert pdf["type"] == "file" and pdf["size"] == len(TREE["Einzeln.pdf"] or b"")
    assert pdf["permissions"] == ["read", "update", "create", "delete", "share"]
    assert pdf["owner"] == "anna@lauscha" and pdf["origin"] == "own"
    assert pdf["shared_by_me"] == [] and pdf["is_mount"] is False


@pytest.mark.usefixtures("tree")
def test_a_subfolder_by_path_with_unicode_names(api: Api) -> None:
    page = api.get("/files", params={"path": "/Akten/Übersicht"}).json()
    assert [i["path"] for i in page["items"]] == ["/Akten/Übersicht/Straße & Brücke.csv"]


@pytest.mark.usefixtures("tree")
def test_sorting_by_size_and_modified(api: Api) -> None:
    by_size = api.get("/files", params={"path": "/Akten", "sort": "size", "order": "desc"})
    sizes = [i["size"] for i in by_size.json()["items"]]
    assert sizes == sorted(sizes, reverse=True)
    by_time = api.get("/files", params={"path": "/Akten", "sort": "modified"}).json()["items"]
    assert [i["modified"] for i in by_time] == sorted(i["modified"] for i in by_time)


def test_listing_a_file_is_a_409(api: Api, svc: Services, anna: Principal) -> None:
    factories.put(svc, anna, "/a.txt", b"a")
    problem_of(api.get("/files", params={"path": "/a.txt"}, check=409), 409, "conflict")


def test_250_entries_in_pages_of_100(api: Api, svc: Services, anna: Principal) -> None:
    factories.mkdir(svc, anna, "/viele")
    for i in range(250):
        factories.put(svc, anna, f"/viele/f{i:03d}", b"x" * (i % 7))
    for sort, order in (("name", "asc"), ("size", "desc"), ("modified", "desc")):
        seen: list[dict[str, Any]] = []
        cursor = None
        pages = 0
        while True:
            params = {"path": "/viele", "limit": 100, "sort": sort, "order": order}
            r = api.get("/files", params={**params, **({"cursor": cursor} if cursor else {})})
            page = r.json()
            pages += 1
            assert len(page["items"]) == (100 if pages < 3 else 50)
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert sorted(i["name"] for i in seen) == [f"f{i:03d}" for i in range(250)]
        if sort == "name":
            assert [i["name"] for i in seen] == sorted(i["name"] for i in seen)
        if sort == "size":
            sizes = [i["size"] for i in seen]
            assert sizes == sorted(sizes, reverse=True)


def test_a_page_goes_on_after_its_cursor_when_entries_change(
    api: Api, svc: Services, anna: Principal
) -> None:
    for name in "abcdef":
        factories.mkdir(svc, anna, f"/{name}")
    first = api.get("/files", params={"limit": 3}).json()
    assert names(first) == ["a", "b", "c"]
    factories.mkdir(svc, anna, "/aa")  # sorts before the cursor: not on the next page
    api.delete("/files", params={"path": "/d"}, check=204)
    nxt = api.get("/files", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert names(nxt) == ["e", "f"]
    assert nxt["next_cursor"] is None


def test_cursors_that_are_not_this_listings_are_a_400(
    api: Api, svc: Services, anna: Principal
) -> None:
    for name in "abc":
        factories.mkdir(svc, anna, f"/{name}")
    cursor = api.get("/files", params={"limit": 1}).json()["next_cursor"]
    r = api.get("/files", params={"limit": 1, "sort": "size", "cursor": cursor}, check=400)
    problem_of(r, 400, "bad-cursor")
    problem_of(api.get("/trash", params={"cursor": cursor}, check=400), 400, "bad-cursor")
    for junk in ("abc", "e30", "WyJmaWxlczpuYW1lOmFzYyIsW3RydWUsMV1d"):
        problem_of(api.get("/files", params={"cursor": junk}, check=400), 400, "bad-cursor")


@pytest.mark.usefixtures("tree")
def test_meta_has_the_items_etag_and_answers_304(api: Api, svc: Services, anna: Principal) -> None:
    r = api.get("/files/meta", params={"path": "/Einzeln.pdf"})
    meta = r.json()
    assert r.headers["etag"] == f'"{meta["etag"]}"'
    assert meta["id"] > 0 and meta["sha256"]
    api.get(
        "/files/meta",
        params={"path": "/Einzeln.pdf"},
        headers={"If-None-Match": r.headers["etag"]},
        check=304,
    )
    factories.put(svc, anna, "/Einzeln.pdf", b"new")
    r2 = api.get(
        "/files/meta", params={"path": "/Einzeln.pdf"}, headers={"If-None-Match": r.headers["etag"]}
    )
    assert r2.json()["size"] == 3
    root = api.get("/files/meta", params={"path": "/"}).json()
    assert root["path"] == "/" and root["name"] == "" and root["type"] == "folder"


def test_missing_items_are_404(api: Api) -> None:
    problem_of(api.get("/files/meta", params={"path": "/nope"}, check=404), 404, "not-found")
    problem_of(api.get("/files", params={"path": "/nope"}, check=404), 404, "not-found")


def test_folders_are_created_once_and_need_their_parent(api: Api) -> None:
    created = api.post("/files/folders", json={"path": "/Neu"}, check=201).json()
    assert created["path"] == "/Neu" and created["type"] == "folder"
    problem_of(api.post("/files/folders", json={"path": "/Neu"}, check=409), 409, "already-exists")
    problem_of(api.post("/files/folders", json={"path": "/x/y"}, check=409), 409, "conflict")
    problem_of(api.post("/files/folders", json={"path": "/"}, check=409), 409)


@pytest.mark.usefixtures("tree")
def test_move_keeps_the_file_id(api: Api) -> None:
    before = api.get("/files/meta", params={"path": "/Einzeln.pdf"}).json()
    moved = api.post("/files/move", json={"from": "/Einzeln.pdf", "to": "/Akten/Plan.pdf"}).json()
    assert moved["path"] == "/Akten/Plan.pdf" and moved["id"] == before["id"]
    api.get("/files/meta", params={"path": "/Einzeln.pdf"}, check=404)


@pytest.mark.usefixtures("tree")
def test_move_and_copy_do_not_overwrite_unless_asked(
    api: Api, svc: Services, anna: Principal
) -> None:
    factories.put(svc, anna, "/Ziel.pdf", b"old")
    body = {"from": "/Einzeln.pdf", "to": "/Ziel.pdf"}
    problem_of(api.post("/files/copy", json=body, check=409), 409, "already-exists")
    problem_of(api.post("/files/move", json=body, check=409), 409, "already-exists")
    copied = api.post("/files/copy", json={**body, "overwrite": True}).json()
    assert copied["size"] == len(TREE["Einzeln.pdf"] or b"")
    assert api.get("/files/meta", params={"path": "/Einzeln.pdf"}).json()["id"] != copied["id"]
    problem_of(
        api.post("/files/move", json={"from": "/Akten", "to": "/Akten/Unter"}, check=403), 403
    )


@pytest.mark.usefixtures("tree")
@pytest.mark.parametrize("op", ["move", "copy"])
def test_nothing_moves_or_copies_onto_a_root(api: Api, op: str) -> None:
    # Found by test_schema: the core's move asserted on the root's parent (a 500).
    body = {"from": "/Einzeln.pdf", "to": "/", "overwrite": True}
    problem_of(api.post(f"/files/{op}", json=body, check=403), 403, "forbidden")


@pytest.mark.usefixtures("tree")
def test_copy_of_a_folder_takes_everything_in_it(api: Api) -> None:
    api.post("/files/copy", json={"from": "/Akten", "to": "/Kopie"})
    page = api.get("/files", params={"path": "/Kopie/Übersicht"}).json()
    assert names(page) == ["Straße & Brücke.csv"]


@pytest.mark.usefixtures("tree")
def test_delete_goes_to_the_trash_and_restore_brings_it_back(api: Api) -> None:
    api.delete("/files", params={"path": "/Akten"}, check=204)
    api.get("/files/meta", params={"path": "/Akten"}, check=404)
    trash = api.get("/trash").json()["items"]
    assert [(t["name"], t["original_path"], t["type"]) for t in trash] == [
        ("Akten", "/Akten", "folder")
    ]
    restored = api.post(f"/trash/{trash[0]['id']}/restore").json()
    assert restored == {"path": "/Akten"}
    assert api.get("/files", params={"path": "/Akten/Übersicht"}).json()["items"]
    assert api.get("/trash").json()["items"] == []
    problem_of(api.post(f"/trash/{trash[0]['id']}/restore", check=404), 404)


@pytest.mark.usefixtures("tree")
def test_a_trash_item_is_purged_for_good(api: Api) -> None:
    api.delete("/files", params={"path": "/Akten"}, check=204)
    (item,) = api.get("/trash").json()["items"]
    api.delete(f"/trash/{item['id']}", check=204)
    assert api.get("/trash").json()["items"] == []
    problem_of(api.post(f"/trash/{item['id']}/restore", check=404), 404)
    problem_of(api.delete(f"/trash/{item['id']}", check=404), 404)


def test_the_trash_pages_newest_first(api: Api, svc: Services, anna: Principal) -> None:
    for i in range(5):
        factories.mkdir(svc, anna, f"/d{i}")
        api.delete("/files", params={"path": f"/d{i}"}, check=204)
    items = api.items("/trash", limit=2)
    assert [t["name"] for t in items] == ["d4", "d3", "d2", "d1", "d0"]


@pytest.mark.usefixtures("tree")
def test_delete_with_a_stale_if_match_is_a_412(api: Api) -> None:
    etag = api.get("/files/meta", params={"path": "/Einzeln.pdf"}).json()["etag"]
    r = api.delete(
        "/files", params={"path": "/Einzeln.pdf"}, headers={"If-Match": '"stale"'}, check=412
    )
    problem_of(r, 412, "precondition-failed")
    api.delete(
        "/files", params={"path": "/Einzeln.pdf"}, headers={"If-Match": f'"{etag}"'}, check=204
    )


def test_the_root_cannot_be_deleted(api: Api) -> None:
    problem_of(api.delete("/files", params={"path": "/"}, check=403), 403, "forbidden")


def test_search_finds_names_in_the_subtree_and_mounted_spaces(
    api: Api, svc: Services, anna: Principal
) -> None:
    make_tree(svc, anna, {**TREE, "Akten/haushalt-alt.txt": b"x", "100%_sicher.txt": b"y"})
    svc.files.create_team_space("lauscha", "Haushaltsamt")
    svc.files.set_space_member(
        "lauscha", "Haushaltsamt", role=SpaceRole.EDITOR, user_login=anna.login
    )
    factories.put(svc, anna, "/Haushaltsamt/Haushalt 2027.txt", b"z")
    found = api.get("/files/search", params={"q": "HAUSHALT"}).json()
    assert [i["path"] for i in found["items"]] == [
        "/Akten/Haushalt 2026.txt",
        "/Akten/haushalt-alt.txt",
        "/Haushaltsamt",
        "/Haushaltsamt/Haushalt 2027.txt",
    ]
    assert found["truncated"] is False
    inside = api.get("/files/search", params={"q": "haushalt", "path": "/Akten", "limit": 1})
    assert [i["name"] for i in inside.json()["items"]] == ["Haushalt 2026.txt"]
    assert inside.json()["truncated"] is True
    # LIKE's wildcards are plain characters here.
    assert [i["name"] for i in api.get("/files/search", params={"q": "%_"}).json()["items"]] == [
        "100%_sicher.txt"
    ]
    assert api.get("/files/search", params={"q": "_x"}).json()["items"] == []
    problem_of(api.get("/files/search", params={"q": " "}, check=400), 400)


def test_versions_are_listed_and_restored(api: Api, svc: Services, anna: Principal) -> None:
    for content in (b"eins", b"zwei", b"drei"):
        factories.put(svc, anna, "/v.txt", content)
    versions = api.get("/files/versions", params={"path": "/v.txt"}).json()["items"]
    assert [v["size"] for v in versions] == [4, 4]
    assert versions[0]["id"] > versions[1]["id"] and versions[0]["author"] == anna.login
    restored = api.post(
        f"/files/versions/{versions[1]['id']}/restore", params={"path": "/v.txt"}
    ).json()
    assert restored["sha256"] == versions[1]["sha256"]
    assert factories.read(svc, anna, "/v.txt") == b"eins"
    problem_of(
        api.post("/files/versions/999999/restore", params={"path": "/v.txt"}, check=404), 404
    )
    problem_of(api.get("/files/versions", params={"path": "/"}, check=409), 409)


def test_another_tenants_user_finds_nothing(
    api: Api, api_ben: Api, svc: Services, anna: Principal
) -> None:
    factories.put(svc, anna, "/geheim.txt", b"geheim")
    api.delete("/files", params={"path": "/geheim.txt"}, check=204)
    trash_id = api.get("/trash").json()["items"][0]["id"]
    factories.put(svc, anna, "/geheim.txt", b"geheim2")
    factories.put(svc, anna, "/geheim.txt", b"geheim3")
    version_id = api.get("/files/versions", params={"path": "/geheim.txt"}).json()["items"][0]["id"]
    # ben's own tree has no such path; ids of anna's things are as if they did not exist.
    nothing = problem_of(api_ben.get("/files/meta", params={"path": "/geheim.txt"}, check=404), 404)
    gone = problem_of(api_ben.post(f"/trash/{trash_id}/restore", check=404), 404)
    assert gone["type"] == nothing["type"]
    api_ben.post(f"/files/versions/{version_id}/restore", params={"path": "/geheim.txt"}, check=404)
    assert api_ben.get("/files/search", params={"q": "geheim"}).json()["items"] == []
