"""/s/{token}: the visitors' pages, downloads and drops, in-process."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from tests.common import factories
from tests.common.factories import loc, read
from tests.web.conftest import BIG, TREE, TestClient, link, set_link
from tests.web.support import csrf_of, multipart, sha, zip_digests
from thvc.accounts.services import Principal
from thvc.audit.models import AuditEvent
from thvc.db.types import utcnow
from thvc.services import Services
from thvc.sharing.models import LinkKind
from thvc.web import assets

Client = Any  # starlette.testclient.TestClient


def originals(prefix: str, top: str) -> dict[str, str]:
    """The tree below ``prefix`` as the ZIP should hold it, under ``top``."""
    out: dict[str, str] = {f"{top}/": "dir"} if top else {}
    for path, data in TREE.items():
        if not path.startswith(prefix) or path == prefix:
            continue
        name = top + "/" + path[len(prefix) :] if top else path[len(prefix) :]
        out[name] = "dir" if data is None else sha(data)
    return out


# -- the page ---------------------------------------------------------------------


def test_the_page_speaks_german_by_default_and_english_when_asked(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Akten").token
    de = client.get(f"/s/{token}")
    assert de.status_code == 200
    assert '<html lang="de">' in de.text
    assert "Alles als ZIP herunterladen" in de.text
    assert "Geteilt von anna" in de.text
    en = client.get(f"/s/{token}?lang=en")
    assert '<html lang="en">' in en.text and "Download all as ZIP" in en.text
    by_header = client.get(f"/s/{token}", headers={"Accept-Language": "en-GB,en;q=0.9,de;q=0.5"})
    assert '<html lang="en">' in by_header.text
    preferred = client.get(f"/s/{token}", headers={"Accept-Language": "fr, de;q=0.8, en;q=0.3"})
    assert '<html lang="de">' in preferred.text
    # The other language is one link away, in its own language.
    assert 'hreflang="en">English</a>' in de.text


def test_the_page_is_accessible_and_self_contained(
    svc: Services, anna: Principal, client: Client
) -> None:
    r = client.get(f"/s/{link(svc, anna, 'Akten').token}")
    html = r.text
    assert "<main" in html and "<h1>" in html and "<caption>" in html
    assert 'scope="col"' in html and 'href="#main"' in html
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert f'href="{assets.CSS_URL}"' in html
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    css = client.get(assets.CSS_URL)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"]
    assert ":focus-visible" in css.text and "url(" not in css.text
    assert client.get("/static/thvc.000000000000.css").status_code == 404


def test_a_folder_page_lists_entries_and_leads_into_subfolders(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Akten").token
    html = client.get(f"/s/{token}?lang=en").text
    for name in ("Haushalt 2026.txt", "leer.txt", "gross.bin", "Übersicht", "leerer Ordner"):
        assert f'value="{name}"' in html
    assert "/?path=%2F%C3%9Cbersicht" in html
    assert "download?path=%2Fgross.bin" in html
    sub = client.get(f"/s/{token}/?path=/Übersicht&lang=en")
    assert sub.status_code == 200
    assert "Straße &amp; Brücke.csv" in sub.text and "Σχέδια.md" in sub.text
    assert 'aria-current="page"' in sub.text
    assert client.get(f"/s/{token}/?path=/fehlt").status_code == 404
    empty = client.get(f"/s/{token}/?path=/leerer Ordner&lang=en")
    assert "This folder is empty." in empty.text


def test_a_file_link_shows_the_file_with_its_size(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Einzeln.pdf").token
    r = client.get(f"/s/{token}?lang=en")
    assert r.status_code == 200
    assert "<h1>Einzeln.pdf</h1>" in r.text and "170 byte" in r.text
    assert f'href="/s/{token}/download"' in r.text


# -- downloads --------------------------------------------------------------------


def test_a_file_downloads_whole_and_in_ranges_with_etag(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Akten").token
    url = f"/s/{token}/download?path=/gross.bin"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.content == BIG
    assert whole.headers["content-length"] == str(len(BIG))
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-disposition"].startswith("attachment;")
    etag = whole.headers["etag"]
    part = client.get(url, headers={"Range": "bytes=70000-70099"})
    assert part.status_code == 206 and part.content == BIG[70000:70100]
    assert part.headers["content-range"] == f"bytes 70000-70099/{len(BIG)}"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.content == BIG[-10:]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == BIG
    assert client.get(url, headers={"Range": "bytes=999999-"}).status_code == 416
    head = client.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(BIG))


def test_a_file_link_downloads_with_an_rfc_6266_file_name(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Akten").token
    r = client.get(f"/s/{token}/download?path=/Übersicht/Straße %26 Brücke.csv")
    assert r.status_code == 200, r.text
    assert r.content == TREE["Akten/Übersicht/Straße & Brücke.csv"]
    cd = r.headers["content-disposition"]
    assert 'filename="Strasse _ Brucke.csv"' not in cd  # "&" is fine in a quoted string
    assert "filename*=UTF-8''Stra%C3%9Fe%20%26%20Br%C3%BCcke.csv" in cd
    assert cd.encode("ascii")  # the header itself is ASCII
    single = link(svc, anna, "Einzeln.pdf").token
    r = client.get(f"/s/{single}/download")
    assert r.status_code == 200 and r.content == TREE["Einzeln.pdf"]
    assert "filename*=UTF-8''Einzeln.pdf" in r.headers["content-disposition"]


def test_a_folder_downloads_as_a_zip_whose_contents_are_byte_identical(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Akten").token
    with client.stream("GET", f"/s/{token}/download") as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/zip"
        assert "filename*=UTF-8''Akten.zip" in r.headers["content-disposition"]
        declared = int(r.headers["content-length"])
        body = b"".join(r.iter_bytes())
    assert len(body) == declared
    assert zip_digests(body) == originals("Akten/", "Akten")

    sub = client.get(f"/s/{token}/download?path=/Übersicht")
    assert zip_digests(sub.content) == originals("Akten/Übersicht/", "Übersicht")


def test_a_selection_downloads_as_a_zip_of_just_those(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Akten").token
    r = client.get(f"/s/{token}/download", params=[("files", "gross.bin"), ("files", "Übersicht")])
    assert r.status_code == 200
    assert zip_digests(r.content) == {
        "gross.bin": sha(BIG),
        "Übersicht/": "dir",
        "Übersicht/Straße & Brücke.csv": sha(TREE["Akten/Übersicht/Straße & Brücke.csv"] or b""),
        "Übersicht/Σχέδια.md": sha(TREE["Akten/Übersicht/Σχέδια.md"] or b""),
    }
    missing = client.get(f"/s/{token}/download", params=[("files", "fehlt.txt")])
    assert missing.status_code == 404


# -- passwords ----------------------------------------------------------------------


def test_wrong_passwords_are_throttled_with_retry_after(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Akten", password="richtig-und-lang").token
    form = client.get(f"/s/{token}?lang=en")
    assert form.status_code == 401
    assert 'type="password"' in form.text and "Akten" not in form.text
    csrf = csrf_of(form)
    allowance = svc.settings.login_free_failures
    statuses = []
    for _ in range(allowance + 2):
        r = client.post(f"/s/{token}?lang=en", data={"csrf": csrf, "password": "falsch"})
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
        assert "The password is wrong." in r.text
        assert 'aria-invalid="true"' in r.text
    # The allowance holds (less the page view, which the core counts too: see docs), then 429.
    assert statuses[: allowance - 2] == [401] * (allowance - 2)
    assert statuses[-1] == 429, statuses
    assert int(r.headers["retry-after"]) >= 1
    assert "Too many wrong passwords" in r.text
    # Throttled, even the right password waits.
    again = client.post(f"/s/{token}?lang=en", data={"csrf": csrf, "password": "richtig-und-lang"})
    assert again.status_code == 429
    # Every attempt is in the audit log.
    with svc.db.read() as s:
        failures = (
            s.query(AuditEvent)
            .filter(AuditEvent.action == "link.access", AuditEvent.outcome == "failure")
            .count()
        )
    assert failures >= allowance


def test_the_right_password_sets_a_session_cookie_that_opens_page_and_download(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Akten", password="richtig-und-lang").token
    csrf = csrf_of(client.get(f"/s/{token}"))
    r = client.post(f"/s/{token}", data={"csrf": csrf, "password": "richtig-und-lang"})
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/s/{token}")
    cookie = r.headers["set-cookie"]
    assert f"Path=/s/{token}" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "richtig" not in cookie  # sealed
    page = client.get(f"/s/{token}")
    assert page.status_code == 200 and "Haushalt 2026.txt" in page.text
    dl = client.get(f"/s/{token}/download?path=/Haushalt 2026.txt")
    assert dl.status_code == 200 and dl.content == TREE["Akten/Haushalt 2026.txt"]
    # The cookie is good for this link only.
    other = link(svc, anna, "Einzeln.pdf", password="anderes-passwort").token
    assert client.get(f"/s/{other}/download").status_code == 401


def test_a_password_form_without_the_session_cookie_is_refused(
    svc: Services, anna: Principal, client: Client, app: Any
) -> None:
    token = link(svc, anna, "Akten", password="richtig-und-lang").token
    csrf = csrf_of(client.get(f"/s/{token}"))
    # A cross-site POST carries no SameSite=Lax cookie: the token matches no session.
    with TestClient(app, follow_redirects=False) as stranger:
        r = stranger.post(f"/s/{token}", data={"csrf": csrf, "password": "richtig-und-lang"})
    assert r.status_code == 403 and 'type="password"' in r.text
    forged = client.post(f"/s/{token}", data={"csrf": "1.abc", "password": "richtig-und-lang"})
    assert forged.status_code == 403


def test_basic_auth_with_the_token_and_the_password_downloads(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Einzeln.pdf", password="richtig-und-lang").token
    url = f"/s/{token}/download"
    ok = client.get(url, auth=(token, "richtig-und-lang"))
    assert ok.status_code == 200 and ok.content == TREE["Einzeln.pdf"]
    wrong = client.get(url, auth=(token, "falsch"))
    assert wrong.status_code == 401 and "Basic" in wrong.headers["www-authenticate"]
    assert client.get(url, auth=("someone", "richtig-und-lang")).status_code == 401
    assert client.get(url).status_code == 401


# -- links that are no more -----------------------------------------------------------


def main_of(html: str) -> str:
    found = re.search(r"<main.*</main>", html, re.S)
    assert found, html
    return found.group(0)


def gone_body(client: Client, token: str) -> str:
    """What the 404 page says (its language switch names the URL asked for)."""
    r = client.get(f"/s/{token}?lang=en")
    assert r.status_code == 404
    return main_of(r.text)


def test_expired_revoked_and_unknown_links_are_the_same_404(
    svc: Services, anna: Principal, client: Client
) -> None:
    expired = link(svc, anna, "Akten", expires_at=utcnow() + timedelta(days=1))
    assert client.get(f"/s/{expired.token}").status_code == 200
    set_link(svc, expired.id, expires_at=utcnow() - timedelta(seconds=1))
    revoked = link(svc, anna, "Einzeln.pdf", password="richtig-und-lang")
    svc.sharing.delete_link(anna, revoked.id)
    unknown = "A" * len(expired.token)
    bodies = {gone_body(client, t) for t in (expired.token, revoked.token, unknown)}
    assert len(bodies) == 1, "the three must not be told apart"
    for t in (expired.token, revoked.token, unknown):
        assert client.get(f"/s/{t}/download").status_code == 404
        assert client.get(f"/s/{t}/download", auth=(t, "richtig-und-lang")).status_code == 404
    assert "no longer valid" in bodies.pop()


def test_a_download_limit_ends_the_link_once_used_up(
    svc: Services, anna: Principal, client: Client
) -> None:
    info = link(svc, anna, "Akten", max_downloads=2)
    url = f"/s/{info.token}/download?path=/leer.txt"
    assert client.get(url).status_code == 200
    # HEAD, a conditional 304 and a resumed range are not new downloads.
    assert client.head(url).status_code == 200
    r = client.get(f"/s/{info.token}/download?path=/gross.bin", headers={"Range": "bytes=10-"})
    assert r.status_code == 206
    assert client.get(f"/s/{info.token}/download").status_code == 200  # the ZIP: the second
    assert client.get(url).status_code == 404
    assert client.get(f"/s/{info.token}").status_code == 404
    assert svc.sharing.get_link(anna, info.id).downloads == 2


# -- drops ----------------------------------------------------------------------------


def drop_post(client: Client, token: str, files: list[tuple[bytes, bytes]], **kw: Any) -> Any:
    csrf = csrf_of(client.get(f"/s/{token}?lang=en"))
    fields = [("csrf", csrf), ("uploader", kw.pop("uploader", "Bürgerin Berta"))]
    body, headers = multipart(fields, files)
    return client.post(f"/s/{token}?lang=en", content=body, headers=headers)


def test_a_drop_takes_files_into_the_owners_folder_and_never_overwrites(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Eingang", kind=LinkKind.DROP).token
    page = client.get(f"/s/{token}?lang=en")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    assert "schon da.txt" not in page.text  # the folder is never listed
    r = drop_post(client, token, [(b"Antrag.pdf", b"%PDF antrag"), (b"schon da.txt", b"new\n")])
    assert r.status_code == 303, r.text
    assert read(svc, anna, "Eingang/Antrag.pdf") == b"%PDF antrag"
    assert read(svc, anna, "Eingang/schon da.txt") == b"old\n"
    assert read(svc, anna, "Eingang/schon da (2).txt") == b"new\n"
    after = client.get(r.headers["location"])
    assert "2 files were received" in after.text
    listed = re.findall(r"<li>(.+?) \([^()]*\)</li>", after.text)
    assert listed == ["schon da (2).txt", "Antrag.pdf"]
    # The owner learns who dropped what.
    with svc.db.read() as s:
        drops = s.query(AuditEvent).filter(AuditEvent.action == "link.drop").all()
    assert {d.target for d in drops} == {"/Eingang/Antrag.pdf", "/Eingang/schon da (2).txt"}
    assert all(json.loads(d.detail)["uploader"] == "Bürgerin Berta" for d in drops)


def test_another_visitor_of_the_drop_sees_nothing_of_the_first(
    svc: Services, anna: Principal, client: Client, app: Any
) -> None:
    token = link(svc, anna, "Eingang", kind=LinkKind.DROP).token
    assert drop_post(client, token, [(b"geheim.txt", b"x")]).status_code == 303
    with TestClient(app, follow_redirects=False) as other:
        page = other.get(f"/s/{token}?lang=en")
    assert page.status_code == 200 and "geheim.txt" not in page.text


def test_a_drop_serves_nothing(svc: Services, anna: Principal, client: Client) -> None:
    token = link(svc, anna, "Eingang", kind=LinkKind.DROP).token
    gone = gone_body(client, "B" * len(token))
    for url in (
        f"/s/{token}/download",
        f"/s/{token}/download?path=/schon da.txt",
        f"/s/{token}/download?files=schon da.txt",
    ):
        r = client.get(url + ("&" if "?" in url else "?") + "lang=en")
        assert r.status_code == 404
        assert main_of(r.text) == gone
    assert client.get(f"/s/{token}/?path=/schon da.txt").status_code == 404


@pytest.mark.parametrize(
    "name", [b"../x.txt", b"a/b.txt", b"..", b"bell\x07.txt", b"nul\x00.txt", b"del\x7f.txt"]
)
def test_hostile_file_names_are_refused_with_400(
    svc: Services, anna: Principal, client: Client, name: bytes
) -> None:
    token = link(svc, anna, "Eingang", kind=LinkKind.DROP).token
    r = drop_post(client, token, [(name, b"x")])
    assert r.status_code == 400, r.text
    assert "A name must not" in r.text or "could not be understood" in r.text
    _, kids = svc.files.listing(loc(svc, anna, "Eingang"))
    assert [k.name for k in kids] == ["schon da.txt"]


def test_hostile_paths_are_refused_with_400(svc: Services, anna: Principal, client: Client) -> None:
    token = link(svc, anna, "Akten").token
    assert client.get(f"/s/{token}/?path=/../Einzeln.pdf").status_code == 400
    assert client.get(f"/s/{token}/download?path=/%01x").status_code == 400
    assert client.get(f"/s/{token}/download?files=../Einzeln.pdf").status_code == 400


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Type": "multipart/form-data"}, b"no boundary"),
        ({"Content-Type": "multipart/form-data; boundary=xyz"}, b"--xyz\r\nbroken"),
        ({"Content-Type": "multipart/form-data; boundary=xyz"}, b"garbage without boundary"),
        ({"Content-Type": "text/plain"}, b"csrf=1"),
    ],
)
def test_a_malformed_upload_is_400(
    svc: Services, anna: Principal, client: Client, headers: dict[str, str], body: bytes
) -> None:
    token = link(svc, anna, "Eingang", kind=LinkKind.DROP).token
    client.get(f"/s/{token}")
    r = client.post(f"/s/{token}?lang=en", content=body, headers=headers)
    assert r.status_code == 400, r.text


def test_an_upload_cut_off_mid_file_stores_nothing_of_it(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Eingang", kind=LinkKind.DROP).token
    csrf = csrf_of(client.get(f"/s/{token}"))
    body, headers = multipart([("csrf", csrf)], [(b"ganz.txt", b"ok"), (b"halb.txt", b"x" * 5000)])
    cut = body[: body.index(b"x" * 100) + 1000]
    r = client.post(f"/s/{token}?lang=en", content=cut, headers=headers)
    assert r.status_code == 400
    assert "Received before the error: ganz.txt." in r.text
    assert read(svc, anna, "Eingang/ganz.txt") == b"ok"
    assert "halb.txt" not in [k.name for k in svc.files.listing(loc(svc, anna, "Eingang"))[1]]


def test_an_upload_needs_the_forms_token(svc: Services, anna: Principal, client: Client) -> None:
    token = link(svc, anna, "Eingang", kind=LinkKind.DROP).token
    client.get(f"/s/{token}")
    body, headers = multipart([("csrf", "1.forged")], [(b"a.txt", b"a")])
    assert client.post(f"/s/{token}", content=body, headers=headers).status_code == 403
    body, headers = multipart([], [(b"a.txt", b"a")])
    assert client.post(f"/s/{token}", content=body, headers=headers).status_code == 403


def test_the_owners_quota_applies_to_drops(svc: Services, client: Client) -> None:
    owner = factories.user(svc, "carla@lauscha", quota=10_000)
    factories.mkdir(svc, owner, "Eingang")
    token = link(svc, owner, "Eingang", kind=LinkKind.DROP).token
    r = drop_post(client, token, [(b"klein.txt", b"k" * 100), (b"gross.bin", b"g" * 20_000)])
    assert r.status_code == 413, r.text
    assert "not enough space" in r.text
    assert read(svc, owner, "Eingang/klein.txt") == b"k" * 100
    names = [k.name for k in svc.files.listing(factories.loc(svc, owner, "Eingang"))[1]]
    assert names == ["klein.txt"]
    # Refused before a byte is read when the declared length cannot fit.
    csrf = csrf_of(client.get(f"/s/{token}"))
    body, headers = multipart([("csrf", csrf)], [(b"riesig.bin", b"r" * 200_000)])
    r = client.post(f"/s/{token}?lang=en", content=body, headers=headers)
    assert r.status_code == 413


def test_a_drop_with_a_password_asks_for_it_first(
    svc: Services, anna: Principal, client: Client
) -> None:
    token = link(svc, anna, "Eingang", kind=LinkKind.DROP, password="richtig-und-lang").token
    form = client.get(f"/s/{token}")
    assert form.status_code == 401
    r = client.post(f"/s/{token}", data={"csrf": csrf_of(form), "password": "richtig-und-lang"})
    assert r.status_code == 303
    assert drop_post(client, token, [(b"mit Passwort.txt", b"pw")]).status_code == 303
    assert read(svc, anna, "Eingang/mit Passwort.txt") == b"pw"
