"""``/files``, ``/trash``, ``/versions``, ``/rename``, ``/spaces`` and the sharing pages,
in-process: anna (lauscha) works on her tree, ben (suhl, another tenant) receives."""

from __future__ import annotations

import html
import io
import re
import zipfile

import httpx
import pytest

from tests.common import factories
from tests.web.conftest import TREE, TestClient
from tests.web.test_login import assert_safe_page, log_in
from thvc.accounts.models import Role
from thvc.accounts.services import Principal
from thvc.services import Services
from thvc.sharing.services import TYPE_USER
from thvc.web.files_pages import PAGE_SIZE, file_url

# -- helpers ------------------------------------------------------------------------------


def page_csrf(response: httpx.Response) -> str:
    found = re.search(r'<body data-csrf="([^"]+)"', response.text)
    assert found, f"no CSRF token on the page:\n{response.text[:1000]}"
    return found.group(1)


def names_listed(response: httpx.Response) -> list[str]:
    """The names in the listing's rows, in order."""
    return [html.unescape(n) for n in re.findall(r'name="item" value="([^"]*)"', response.text)]


def post(
    client: TestClient, url: str, data: dict[str, str | list[str]], *, csrf_from: str = "/files"
) -> httpx.Response:
    token = page_csrf(client.get(csrf_from))
    return client.post(url, data={"csrf": token, **data})


def alert_text(response: httpx.Response) -> str:
    found = re.search(r'role="alert">(.*?)</div>\s*</div>', response.text, re.S)
    assert found, "no alert on the page"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)).strip())


@pytest.fixture
def ben(svc: Services) -> Principal:
    return factories.user(svc, "ben@suhl")


@pytest.fixture
def as_anna(client: TestClient, anna: Principal) -> TestClient:
    assert log_in(client).status_code == 303
    return client


def second_client(client: TestClient) -> TestClient:
    return TestClient(client.app, raise_server_exceptions=True, follow_redirects=False)


# -- the listing ---------------------------------------------------------------------------


def test_the_files_pages_need_a_log_in(client: TestClient, anna: Principal) -> None:
    for url in ("/files", "/files/Akten", "/trash", "/share?path=/Akten", "/shared/with-me"):
        away = client.get(url)
        assert away.status_code == 303, url
        assert away.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_root_lists_folders_first_with_crumbs_and_the_uploader(
    as_anna: TestClient, lang: str
) -> None:
    page = as_anna.get(f"/files?lang={lang}")
    assert page.status_code == 200
    assert_safe_page(page)
    assert names_listed(page) == ["Akten", "Eingang", "Einzeln.pdf"]
    assert 'aria-current="page"' in page.text and "<caption" in page.text
    assert 'aria-sort="ascending"' in page.text
    assert 'id="uploader"' in page.text and 'data-endpoint="/api/v1/uploads"' in page.text
    assert 'id="upload-status" class="upload-status" role="status" aria-live="polite"' in page.text
    assert ("Meine Dateien" if lang == "de" else "My files") in page.text
    for field in re.findall(r'<input[^>]+id="([^"]+)"', page.text):
        if field != "select-all":
            assert f'for="{field}"' in page.text or f'id="{field}" aria-labelledby' in page.text, (
                field
            )


def test_a_subfolder_has_breadcrumbs_and_its_entries(as_anna: TestClient) -> None:
    page = as_anna.get("/files/Akten")
    assert page.status_code == 200
    assert names_listed(page) == [
        "leerer Ordner",
        "Übersicht",
        "gross.bin",
        "Haushalt 2026.txt",
        "leer.txt",
    ]
    crumbs = re.search(r'<nav class="crumbs"[^>]*>(.*?)</nav>', page.text, re.S)
    assert crumbs and 'href="/files"' in crumbs.group(1)
    assert 'href="/files/Akten" aria-current="page"' in crumbs.group(1)
    assert 'data-folder="Akten"' in page.text
    assert file_url(["Akten", "Übersicht"]) in page.text
    # What the page fetches after an upload: the listing alone.
    fragment = as_anna.get("/files/Akten?sort=size", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="listing">')
    assert "<html" not in fragment.text and "gross.bin" in fragment.text


def test_sorting_by_size_and_modified_both_ways(as_anna: TestClient) -> None:
    by_size = names_listed(as_anna.get("/files/Akten?sort=size&order=desc"))
    assert by_size[2:] == ["gross.bin", "Haushalt 2026.txt", "leer.txt"]
    page = as_anna.get("/files/Akten?sort=size&order=asc")
    assert names_listed(page)[2:] == ["leer.txt", "Haushalt 2026.txt", "gross.bin"]
    assert 'aria-sort="ascending"' in page.text
    assert "sort=size&amp;order=desc" in page.text  # the header link turns the order
    newest_last = names_listed(as_anna.get("/files/Akten?sort=modified"))
    assert newest_last[2:] == ["Haushalt 2026.txt", "leer.txt", "gross.bin"]
    # Nonsense parameters are the default, never an error.
    assert as_anna.get("/files/Akten?sort=evil&order=x&page=-3").status_code == 200


def add_many(svc: Services, who: Principal, folder: str, count: int) -> None:
    """``count`` empty files ``f00000.txt``… in ``folder``, as rows in one statement (the
    listing reads nothing else of them; through the core this would take minutes)."""
    from sqlalchemy import insert

    from thvc.files.models import Node

    parent = svc.files.stat(factories.loc(svc, who, folder))
    where = factories.loc(svc, who, folder)
    rows = [
        {
            "space_id": where.space_id,
            "parent_id": parent.id,
            "path": f"{where.path}/f{i:05d}.txt",
            "name": f"f{i:05d}.txt",
            "is_dir": False,
            "size": (i * 7919) % 10007,
            "etag": f"e{i}",
        }
        for i in range(count)
    ]
    with svc.db.write() as s:
        s.execute(insert(Node), rows)


def test_ten_thousand_entries_are_paged_fast_by_one_listing_query(
    as_anna: TestClient, svc: Services, anna: Principal
) -> None:
    import time

    from tests.common.dav import count_queries

    factories.mkdir(svc, anna, "/Viele")
    add_many(svc, anna, "/Viele", 10_000)
    first = as_anna.get("/files/Viele")
    assert names_listed(first) == [f"f{i:05d}.txt" for i in range(PAGE_SIZE)]
    assert 'rel="next"' in first.text and ">100<" in first.text
    started = time.perf_counter()
    with count_queries(svc.db.engine) as queries:
        last = as_anna.get("/files/Viele?page=100&sort=name&order=asc")
    took = time.perf_counter() - started
    assert names_listed(last) == [f"f{i:05d}.txt" for i in range(9_900, 10_000)]
    assert 'aria-current="page">100<' in last.text and 'rel="next"' not in last.text
    # The session, the location, the listing: a handful of queries, never one per entry.
    assert len(queries) < 20, queries
    assert took < 5, f"{took:.2f} s for a page of a 10,000-entry folder"
    biggest = names_listed(as_anna.get("/files/Viele?sort=size&order=desc"))
    sizes = {f"f{i:05d}.txt": (i * 7919) % 10007 for i in range(10_000)}
    assert [sizes[n] for n in biggest] == sorted(sizes.values(), reverse=True)[:PAGE_SIZE]
    beyond = as_anna.get("/files/Viele?page=999")
    assert names_listed(beyond) == names_listed(last)


def test_a_file_downloads_with_ranges(as_anna: TestClient) -> None:
    whole = as_anna.get(file_url(["Akten", "gross.bin"]))
    assert whole.status_code == 200
    assert whole.content == TREE["Akten/gross.bin"]
    assert "attachment" in whole.headers["content-disposition"]
    assert "sandbox" in whole.headers["content-security-policy"]
    part = as_anna.get(file_url(["Akten", "gross.bin"]), headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == TREE["Akten/gross.bin"][10:20]  # type: ignore[index]
    odd = as_anna.get(file_url(["Akten", "Übersicht", "Straße & Brücke.csv"]))
    assert odd.content == TREE["Akten/Übersicht/Straße & Brücke.csv"]


def test_a_missing_or_foreign_path_is_404(
    as_anna: TestClient, svc: Services, ben: Principal
) -> None:
    factories.mkdir(svc, ben, "/Geheim")
    assert as_anna.get("/files/Geheim").status_code == 404
    assert as_anna.get("/files/nichts/da").status_code == 404
    assert as_anna.get("/files/%2e%2e/x").status_code == 400


# -- changes ---------------------------------------------------------------------------------


def test_mkdir_then_it_is_listed(as_anna: TestClient) -> None:
    done = post(as_anna, "/files/Akten", {"action": "mkdir", "name": "Neu 2026"})
    assert done.status_code == 303
    assert done.headers["location"] == "/files/Akten?done=mkdir"
    page = as_anna.get(done.headers["location"])
    assert "Neu 2026" in names_listed(page)
    assert 'role="status"' in page.text
    again = post(as_anna, "/files/Akten", {"action": "mkdir", "name": "Neu 2026"})
    assert again.status_code in (405, 409, 400)
    assert 'role="alert"' in again.text
    bad = post(as_anna, "/files/Akten", {"action": "mkdir", "name": "a/b"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text


def test_mkdirs_makes_the_folders_of_a_dropped_folder(
    as_anna: TestClient, svc: Services, anna: Principal
) -> None:
    token = page_csrf(as_anna.get("/files"))
    done = as_anna.post(
        "/files/Akten",
        data={"action": "mkdirs", "path": "Neu/Unter/Tief"},
        headers={"X-CSRF-Token": token},
    )
    assert done.status_code == 204
    assert svc.files.stat(factories.loc(svc, anna, "/Akten/Neu/Unter/Tief")).is_dir
    again = as_anna.post(
        "/files/Akten",
        data={"action": "mkdirs", "path": "Neu/Unter/Tief"},
        headers={"X-CSRF-Token": token},
    )
    assert again.status_code == 204


def test_rename_in_place(as_anna: TestClient, svc: Services, anna: Principal) -> None:
    form = as_anna.get("/rename?path=/Akten/leer.txt")
    assert form.status_code == 200
    assert_safe_page(form)
    assert 'value="leer.txt"' in form.text and 'for="new-name"' in form.text
    done = post(as_anna, "/rename", {"path": "/Akten/leer.txt", "name": "voll.txt"})
    assert done.status_code == 303 and done.headers["location"] == "/files/Akten?done=renamed"
    assert "voll.txt" in names_listed(as_anna.get("/files/Akten"))
    taken = post(as_anna, "/rename", {"path": "/Akten/voll.txt", "name": "gross.bin"})
    assert taken.status_code in (409, 412, 400)
    assert 'role="alert"' in taken.text
    assert factories.read(svc, anna, "/Akten/gross.bin") == TREE["Akten/gross.bin"]


def test_move_and_copy_the_selection(as_anna: TestClient, svc: Services, anna: Principal) -> None:
    moved = post(
        as_anna,
        "/files/Akten",
        {"action": "move", "item": ["leer.txt", "gross.bin"], "target": "/Eingang"},
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == "/files/Eingang?done=moved&count=2"
    assert set(names_listed(as_anna.get("/files/Eingang"))) == {
        "gross.bin",
        "leer.txt",
        "schon da.txt",
    }
    assert "gross.bin" not in names_listed(as_anna.get("/files/Akten"))
    copied = post(as_anna, "/files", {"action": "copy", "item": ["Einzeln.pdf"], "target": "Akten"})
    assert copied.status_code == 303
    assert factories.read(svc, anna, "/Akten/Einzeln.pdf") == TREE["Einzeln.pdf"]
    assert factories.read(svc, anna, "/Einzeln.pdf") == TREE["Einzeln.pdf"]
    # Nothing is overwritten by a move or copy from the page.
    clash = post(as_anna, "/files", {"action": "copy", "item": ["Einzeln.pdf"], "target": "Akten"})
    assert clash.status_code >= 400 and 'role="alert"' in clash.text
    nothing = post(as_anna, "/files", {"action": "copy", "target": "Akten"})
    assert nothing.status_code == 400 and 'role="alert"' in nothing.text


def test_zip_of_the_selection(as_anna: TestClient) -> None:
    got = post(as_anna, "/files/Akten", {"action": "zip", "item": ["Übersicht", "leer.txt"]})
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(got.content)) as z:
        assert sorted(z.namelist()) == [
            "leer.txt",
            "Übersicht/",
            "Übersicht/Straße & Brücke.csv",
            "Übersicht/Σχέδια.md",
        ]


def test_delete_then_restore_from_the_trash(
    as_anna: TestClient, svc: Services, anna: Principal
) -> None:
    gone = post(as_anna, "/files/Akten", {"action": "delete", "item": ["Übersicht"]})
    assert gone.status_code == 303
    assert "Übersicht" not in names_listed(as_anna.get("/files/Akten"))
    trash = as_anna.get("/trash")
    assert trash.status_code == 200
    assert_safe_page(trash)
    assert "/Akten/Übersicht" in trash.text
    item = re.search(r'name="item" value="(\d+)"', trash.text)
    assert item
    back = post(as_anna, "/trash/restore", {"item": item.group(1)})
    assert back.status_code == 303 and back.headers["location"].startswith("/trash?done=restored")
    assert "Übersicht" in names_listed(as_anna.get("/files/Akten"))
    csv = factories.read(svc, anna, "/Akten/Übersicht/Straße & Brücke.csv")
    assert csv == TREE["Akten/Übersicht/Straße & Brücke.csv"]
    assert "/Akten/Übersicht" not in as_anna.get("/trash").text


def test_purge_one_item_from_the_trash(as_anna: TestClient, svc: Services, anna: Principal) -> None:
    post(as_anna, "/files/Akten", {"action": "delete", "item": ["Übersicht"]})
    item = re.search(
        r'action="/trash/purge">\s*<input[^>]*>\s*<input type="hidden" name="item" value="(\d+)"',
        as_anna.get("/trash").text,
    )
    assert item
    gone = post(as_anna, "/trash/purge", {"item": item.group(1)})
    assert gone.status_code == 303 and gone.headers["location"] == "/trash?done=purged"
    page = as_anna.get("/trash?done=purged")
    assert "/Akten/Übersicht" not in page.text
    assert svc.files.list_trash(anna) == []
    refused = as_anna.post("/trash/purge", data={"item": item.group(1)})
    assert refused.status_code == 403  # no CSRF token


def test_restore_a_version(as_anna: TestClient, svc: Services, anna: Principal) -> None:
    factories.put(svc, anna, "/Akten/leer.txt", b"second")
    factories.put(svc, anna, "/Akten/leer.txt", b"third")
    page = as_anna.get("/versions?path=/Akten/leer.txt")
    assert page.status_code == 200
    assert_safe_page(page)
    ids = re.findall(r'name="version" value="(\d+)"', page.text)
    assert len(ids) == 2  # newest first: "second", then the empty first one
    done = post(as_anna, "/versions/restore", {"path": "/Akten/leer.txt", "version": ids[0]})
    assert done.status_code == 303
    assert factories.read(svc, anna, "/Akten/leer.txt") == b"second"
    assert 'role="status"' in as_anna.get(done.headers["location"]).text


def test_every_change_needs_the_csrf_token(as_anna: TestClient, anna: Principal) -> None:
    for url, data in (
        ("/files/Akten", {"action": "mkdir", "name": "x"}),
        ("/files/Akten", {"action": "delete", "item": "leer.txt"}),
        ("/rename", {"path": "/Akten/leer.txt", "name": "y"}),
        ("/trash/restore", {"item": "1"}),
        ("/versions/restore", {"path": "/Akten/leer.txt", "version": "1"}),
        ("/share/add", {"path": "/Akten", "with": "0:ben@suhl"}),
        ("/share/link", {"path": "/Akten"}),
        ("/share/revoke", {"share": "1"}),
        ("/shared/with-me/respond", {"share": "1", "answer": "accept"}),
        ("/spaces", {"name": "Bauamt"}),
    ):
        refused = as_anna.post(url, data=data)
        assert refused.status_code == 403, url
        wrong = as_anna.post(url, data={**data, "csrf": "0" * 64})
        assert wrong.status_code == 403, url
    assert "leer.txt" in names_listed(as_anna.get("/files/Akten"))


# -- sharing ---------------------------------------------------------------------------------


def test_share_with_a_user_of_another_tenant(
    as_anna: TestClient, anna: Principal, ben: Principal, svc: Services
) -> None:
    dialog = as_anna.get("/share?path=/Akten")
    assert dialog.status_code == 200
    assert_safe_page(dialog)
    found = as_anna.get("/share?path=/Akten&q=ben@suhl")
    assert f'value="{TYPE_USER}:ben@suhl"' in found.text
    done = post(
        as_anna,
        "/share/add",
        {
            "path": "/Akten",
            "with": f"{TYPE_USER}:ben@suhl",
            "perm-edit": "1",
            "note": "Bitte",
            "expires": "2099-12-31",
        },
    )
    assert done.status_code == 303
    shown = as_anna.get(done.headers["location"].split("#")[0])
    assert "ben@suhl" in shown.text and 'role="status"' in shown.text
    assert 'value="2099-12-31"' in shown.text
    (made,) = svc.sharing.shares_by(anna)
    assert made.expires_at is not None and made.expires_at.year == 2099
    assert "shared" in as_anna.get("/files").text
    by_me = as_anna.get("/shared/by-me")
    assert "ben@suhl" in by_me.text and "Akten" in by_me.text

    with second_client(as_anna) as other:
        assert log_in(other, "ben@suhl").status_code == 303
        with_me = other.get("/shared/with-me")
        assert with_me.status_code == 200
        assert_safe_page(with_me)
        assert 'href="/files/Akten"' in with_me.text
        inside = other.get("/files/Akten")
        assert "gross.bin" in names_listed(inside)
        got = other.get(file_url(["Akten", "Haushalt 2026.txt"]))
        assert got.content == TREE["Akten/Haushalt 2026.txt"]
        # Ben may not touch anna's shares (that of another tenant looks like none at all).
        share_id = svc.sharing.shares_by(anna)[0].id
        token = page_csrf(other.get("/files"))
        foreign = other.post("/share/link/delete", data={"csrf": token, "link": str(share_id)})
        assert foreign.status_code == 404

    # Change the rights, then revoke: ben no longer has it.
    share_id = svc.sharing.shares_by(anna)[0].id
    changed = post(as_anna, "/share/update", {"path": "/Akten", "share": str(share_id)})
    assert changed.status_code == 303
    revoked = post(as_anna, "/share/revoke", {"path": "/Akten", "share": str(share_id)})
    assert revoked.status_code == 303
    assert not svc.sharing.shared_with(ben)


def test_a_pending_share_is_accepted_on_the_page(
    as_anna: TestClient, ben: Principal, svc: Services
) -> None:
    svc.tenants.set_policy("suhl", auto_accept=False)
    assert post(as_anna, "/share/add", {"path": "/Einzeln.pdf", "with": "0:ben@suhl"}).status_code
    with second_client(as_anna) as other:
        assert log_in(other, "ben@suhl").status_code == 303
        page = other.get("/shared/with-me")
        share = re.search(r'name="share" value="(\d+)"', page.text)
        assert share and "Einzeln.pdf" in page.text
        token = page_csrf(page)
        done = other.post(
            "/shared/with-me/respond",
            data={"csrf": token, "share": share.group(1), "answer": "accept"},
        )
        assert done.status_code == 303
        assert 'href="/files/Einzeln.pdf"' in other.get("/shared/with-me").text


def test_a_refused_share_says_why(as_anna: TestClient, ben: Principal, svc: Services) -> None:
    svc.tenants.set_policy("lauscha", share_with="none")
    found = as_anna.get("/share?path=/Akten&q=ben@suhl")
    assert f'value="{TYPE_USER}:ben@suhl"' not in found.text
    refused = post(as_anna, "/share/add", {"path": "/Akten", "with": "0:ben@suhl"})
    assert refused.status_code == 403
    assert "policy" in alert_text(refused)


def test_create_and_delete_a_password_link(as_anna: TestClient, svc: Services) -> None:
    done = post(
        as_anna,
        "/share/link",
        {"path": "/Akten", "kind": "read", "password": "link secret 1", "max_downloads": "3"},
    )
    assert done.status_code == 303
    page = as_anna.get(done.headers["location"].split("#")[0])
    url = re.search(r'id="link-url-(\d+)" type="text" readonly value="([^"]+)"', page.text)
    assert url and "/s/" in url.group(2)
    assert 'data-copy="link-url-' in page.text
    # The link works, with its password.
    token = url.group(2).rpartition("/s/")[2]
    access = svc.sharing.open_link(token, "link secret 1")
    assert access.is_dir
    deleted = post(as_anna, "/share/link/delete", {"path": "/Akten", "link": url.group(1)})
    assert deleted.status_code == 303
    assert "link-url-" not in as_anna.get("/share?path=/Akten").text
    bad = post(as_anna, "/share/link", {"path": "/Einzeln.pdf", "kind": "drop"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text


# -- team spaces -----------------------------------------------------------------------------


def test_a_tenant_admin_creates_a_team_space(client: TestClient, svc: Services) -> None:
    factories.user(svc, "chef@lauscha", role=Role.TENANT_ADMIN)
    assert log_in(client, "chef@lauscha").status_code == 303
    done = post(client, "/spaces", {"name": "Bauamt"})
    assert done.status_code == 303
    page = client.get("/spaces")
    assert_safe_page(page)
    assert 'href="/files/Bauamt"' in page.text
    assert "Bauamt" in names_listed(client.get("/files"))


def test_a_member_sees_no_create_form_and_cannot_create(as_anna: TestClient, svc: Services) -> None:
    page = as_anna.get("/spaces")
    assert page.status_code == 200 and 'action="/spaces"' not in page.text
    refused = post(as_anna, "/spaces", {"name": "Bauamt"})
    assert refused.status_code == 403


# -- the uploader's tus requests ----------------------------------------------------------


def test_the_uploader_sends_tus_with_the_session_and_its_csrf_token(
    as_anna: TestClient, svc: Services, anna: Principal
) -> None:
    import base64

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    token = page_csrf(as_anna.get("/files/Akten"))
    data = b"uploaded through the page\n" * 1000
    meta = f"name {b64('neu.txt')},folder {b64('Akten/Übersicht')}"
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)), "Upload-Metadata": meta}
    # The cookie alone (what another site's request would carry) is not enough.
    refused = as_anna.post("/api/v1/uploads/", headers=headers)
    assert refused.status_code == 403
    assert "www-authenticate" not in refused.headers
    created = as_anna.post("/api/v1/uploads/", headers={**headers, "X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    done = as_anna.patch(
        created.headers["location"],
        content=data,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
            "X-CSRF-Token": token,
        },
    )
    assert done.status_code == 204, done.text
    assert factories.read(svc, anna, "/Akten/Übersicht/neu.txt") == data
    # Logged out: the session no longer uploads.
    as_anna.post("/logout", data={"csrf": token})
    gone = as_anna.post("/api/v1/uploads/", headers={**headers, "X-CSRF-Token": token})
    assert gone.status_code in (401, 403)
