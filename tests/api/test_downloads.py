"""/files/content with Range and conditional requests; /files/zip streams a folder."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.api.support import Api, problem_of
from tests.common import factories
from tests.common.dav import make_tree
from thvc.accounts.services import Principal
from thvc.files.models import SpaceRole
from thvc.services import Services

BIG = bytes(range(256)) * 1200  # 307,200 bytes: several segments of 64 KiB


@pytest.fixture
def files(svc: Services, anna: Principal) -> None:
    make_tree(
        svc,
        anna,
        {
            "Akten/": None,
            "Akten/gross.bin": BIG,
            "Akten/leer.txt": b"",
            "Akten/Übersicht/": None,
            "Akten/Übersicht/Straße.csv": "ä;ö\n".encode(),
            "Akten/leerer Ordner/": None,
        },
    )


@pytest.mark.usefixtures("files")
def test_a_file_downloads_whole_with_its_etag(api: Api) -> None:
    r = api.get("/files/content", params={"path": "/Akten/gross.bin"})
    assert r.content == BIG
    assert r.headers["content-length"] == str(len(BIG))
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"gross.bin\"; filename*=UTF-8''gross.bin"
    )
    meta = api.get("/files/meta", params={"path": "/Akten/gross.bin"}).json()
    assert r.headers["etag"] == f'"{meta["etag"]}"'


@pytest.mark.usefixtures("files")
def test_a_unicode_name_is_in_content_disposition(api: Api) -> None:
    r = api.get("/files/content", params={"path": "/Akten/Übersicht/Straße.csv"})
    assert "filename*=UTF-8''Stra%C3%9Fe.csv" in r.headers["content-disposition"]
    assert r.content == "ä;ö\n".encode()


@pytest.mark.usefixtures("files")
@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 10),
        ("bytes=70000-200000", 70000, 200001),
        ("bytes=-100", len(BIG) - 100, len(BIG)),
        ("bytes=307000-", 307000, len(BIG)),
    ],
)
def test_a_range_is_a_206(api: Api, header: str, start: int, end: int) -> None:
    r = api.get(
        "/files/content", params={"path": "/Akten/gross.bin"}, headers={"Range": header}, check=206
    )
    assert r.content == BIG[start:end]
    assert r.headers["content-range"] == f"bytes {start}-{end - 1}/{len(BIG)}"


@pytest.mark.usefixtures("files")
def test_a_range_outside_the_file_is_a_416(api: Api) -> None:
    r = api.get(
        "/files/content",
        params={"path": "/Akten/gross.bin"},
        headers={"Range": f"bytes={len(BIG)}-"},
        check=416,
    )
    problem_of(r, 416, "range-not-satisfiable")
    assert r.headers["content-range"] == f"bytes */{len(BIG)}"


@pytest.mark.usefixtures("files")
def test_a_malformed_range_or_a_stale_if_range_sends_everything(api: Api) -> None:
    path = {"path": "/Akten/gross.bin"}
    assert api.get("/files/content", params=path, headers={"Range": "bytes=x-y"}).content == BIG
    r = api.get(
        "/files/content",
        params=path,
        headers={"Range": "bytes=0-9", "If-Range": '"old"'},
        check=200,
    )
    assert r.content == BIG


@pytest.mark.usefixtures("files")
def test_if_none_match_is_a_304(api: Api) -> None:
    etag = api.get("/files/content", params={"path": "/Akten/leer.txt"}).headers["etag"]
    r = api.get(
        "/files/content",
        params={"path": "/Akten/leer.txt"},
        headers={"If-None-Match": etag},
        check=304,
    )
    assert r.content == b""


@pytest.mark.usefixtures("files")
def test_a_folder_is_not_content_and_a_file_is_no_zip(api: Api) -> None:
    problem_of(api.get("/files/content", params={"path": "/Akten"}, check=409), 409)
    problem_of(api.get("/files/zip", params={"path": "/Akten/leer.txt"}, check=409), 409)
    problem_of(api.get("/files/content", params={"path": "/nope"}, check=404), 404)


@pytest.mark.usefixtures("files")
def test_a_folder_downloads_as_a_zip(api: Api) -> None:
    r = api.get("/files/zip", params={"path": "/Akten"})
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-length"] == str(len(r.content))
    assert 'filename="Akten.zip"' in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert z.testzip() is None
        assert sorted(z.namelist()) == [
            "Akten/",
            "Akten/gross.bin",
            "Akten/leer.txt",
            "Akten/leerer Ordner/",
            "Akten/Übersicht/",
            "Akten/Übersicht/Straße.csv",
        ]
        assert z.read("Akten/gross.bin") == BIG


@pytest.mark.usefixtures("files")
def test_the_root_zip_holds_team_spaces_too(api: Api, svc: Services, anna: Principal) -> None:
    svc.files.create_team_space("lauscha", "Bauamt")
    svc.files.set_space_member("lauscha", "Bauamt", role=SpaceRole.VIEWER, user_login=anna.login)
    ben = factories.user(svc, "ben@lauscha")
    svc.files.set_space_member("lauscha", "Bauamt", role=SpaceRole.EDITOR, user_login=ben.login)
    factories.put(svc, ben, "/Bauamt/Plan.txt", b"plan")
    with zipfile.ZipFile(io.BytesIO(api.get("/files/zip").content)) as z:
        assert z.read("files/Bauamt/Plan.txt") == b"plan"
        assert z.read("files/Akten/gross.bin") == BIG
