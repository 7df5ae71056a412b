"""/ocs/v{1,2}.php/apps/files_sharing/api/v1/shares: the OCS Share API, XML and JSON."""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest

from tests.common import factories
from tests.compat.support import auth, ocs_json, ocs_xml
from thvc.accounts.services import Principal
from thvc.db.types import utcnow
from thvc.errors import NotFound
from thvc.files.errors import NodeNotFound, ReadOnly
from thvc.services import Services

API = "/apps/files_sharing/api/v1/shares"
OK = {1: 100, 2: 200}


def url(version: int, rest: str = "") -> str:
    return f"/ocs/v{version}.php{API}{rest}"


def ok(r: Any, version: int = 2) -> Any:
    """The data of a successful JSON answer."""
    assert r.status_code == 200, r.text
    meta, data = ocs_json(r)
    assert (meta["status"], meta["statuscode"], meta["message"]) == ("ok", OK[version], "OK")
    return data


def failed(r: Any, code: int, version: int = 2) -> str:
    """The message of a failure the endpoint reports: v1 says it in the body with
    HTTP 200, v2 with the HTTP status."""
    assert r.status_code == (200 if version == 1 else code), r.text
    meta, data = ocs_json(r)
    assert (meta["status"], meta["statuscode"]) == ("failure", code), meta
    assert data == []
    assert meta["message"]
    return str(meta["message"])


def post(client: Any, who: str, data: dict[str, Any], version: int = 2) -> Any:
    return client.post(url(version) + "?format=json", data=data, headers=auth(who))


def share_folder(client: Any, who: str = "anna@lauscha", **fields: Any) -> dict[str, Any]:
    data = {"path": "/Haushalt", "shareType": 0, "shareWith": "ben@suhl", **fields}
    return ok(post(client, who, data))  # type: ignore[no-any-return]


def names(svc: Services, who: Principal, path: str = "/") -> list[str]:
    return [e.name for e in svc.files.listing(factories.loc(svc, who, path))[1]]


@pytest.fixture
def haushalt(svc: Services, anna: Principal) -> int:
    """anna's folder Haushalt with plan.txt in it; its file id."""
    folder = factories.mkdir(svc, anna, "Haushalt")
    factories.put(svc, anna, "Haushalt/plan.txt", b"Plan 2026\n")
    return folder.id


# -- users ---------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_share_a_folder_with_a_user_of_another_tenant(
    client: Any, svc: Services, anna: Principal, ben: Principal, haushalt: int, version: int
) -> None:
    before = int(utcnow().timestamp())
    r = post(
        client,
        anna.login,
        {"path": "/Haushalt", "shareType": "0", "shareWith": "ben@suhl", "permissions": "1"},
        version,
    )
    data = ok(r, version)
    assert isinstance(data["id"], str) and data["id"].isdigit()
    assert data["share_type"] == 0
    assert data["uid_owner"] == data["uid_file_owner"] == "anna@lauscha"
    assert data["displayname_owner"] == data["displayname_file_owner"] == anna.display_name
    assert data["permissions"] == 1
    assert data["path"] == "/Haushalt"
    assert data["item_type"] == "folder"
    assert data["mimetype"] == "httpd/unix-directory"
    assert data["item_source"] == data["file_source"] == haushalt
    assert data["file_target"] == "/Haushalt"
    assert data["share_with"] == "ben@suhl"
    assert data["share_with_displayname"] == ben.display_name
    assert data["expiration"] is None
    assert data["token"] is None
    assert data["can_edit"] is True and data["can_delete"] is True
    assert data["mail_send"] == 0 and data["hide_download"] == 0
    assert data["note"] == "" and data["label"] == ""
    assert before <= data["stime"] <= before + 60
    assert "password" not in data and "state" not in data
    # Ben has it, read-only.
    assert factories.read(svc, ben, "Haushalt/plan.txt") == b"Plan 2026\n"
    with pytest.raises(ReadOnly):
        factories.put(svc, ben, "Haushalt/neu.txt", b"x")


def test_the_recipient_sees_the_share_in_their_own_terms(
    client: Any, svc: Services, anna: Principal, ben: Principal, haushalt: int
) -> None:
    factories.mkdir(svc, ben, "Haushalt")  # a clash: the share gets the sharer's login
    made = share_folder(client, permissions=1)
    got = ok(client.get(url(2) + "?format=json&shared_with_me=true", headers=auth(ben.login)))
    assert len(got) == 1
    mine = got[0]
    assert mine["id"] == made["id"]
    assert mine["path"] == mine["file_target"] == "/Haushalt (anna@lauscha)"
    assert mine["state"] == 0
    assert mine["can_edit"] is False and mine["can_delete"] is True
    assert mine["is-mount-root"] is True and mine["mount-type"] == "shared"
    # Not in ben's own shares.
    assert ok(client.get(url(2) + "?format=json", headers=auth(ben.login))) == []
    # And by path, as the recipient sees it.
    got = ok(
        client.get(
            url(2),
            params={"format": "json", "shared_with_me": "true", "path": "/Haushalt (anna@lauscha)"},
            headers=auth(ben.login),
        )
    )
    assert [g["id"] for g in got] == [made["id"]]


def test_granting_update_and_revoking(
    client: Any, svc: Services, anna: Principal, ben: Principal, haushalt: int
) -> None:
    made = share_folder(client, permissions=1)
    r = client.put(
        url(2, f"/{made['id']}") + "?format=json",
        data={"permissions": "15"},
        headers=auth(anna.login),
    )
    assert ok(r)["permissions"] == 15
    factories.put(svc, ben, "Haushalt/von-ben.txt", b"Hallo")
    assert factories.read(svc, anna, "Haushalt/von-ben.txt") == b"Hallo"
    r = client.delete(url(2, f"/{made['id']}") + "?format=json", headers=auth(anna.login))
    assert ok(r) == []
    assert "Haushalt" not in names(svc, ben)
    with pytest.raises(NodeNotFound):
        factories.read(svc, ben, "Haushalt/plan.txt")
    failed(client.get(url(2, f"/{made['id']}") + "?format=json", headers=auth(anna.login)), 404)
    assert ok(client.get(url(2) + "?format=json", headers=auth(anna.login))) == []


def test_the_recipient_may_leave_but_not_change_a_share(
    client: Any, svc: Services, anna: Principal, ben: Principal, haushalt: int
) -> None:
    made = share_folder(client, permissions=1)
    r = client.put(
        url(2, f"/{made['id']}") + "?format=json",
        data={"permissions": "31"},
        headers=auth(ben.login),
    )
    failed(r, 404)
    r = client.delete(url(2, f"/{made['id']}") + "?format=json", headers=auth(ben.login))
    ok(r)
    assert "Haushalt" not in names(svc, ben)
    # Anna still holds it (declined); ben does not see it any more.
    assert [s["id"] for s in ok(client.get(url(2) + "?format=json", headers=auth(anna.login)))] == [
        made["id"]
    ]


def test_update_expiry_note_and_label(
    client: Any, anna: Principal, ben: Principal, haushalt: int
) -> None:
    made = share_folder(client)
    day = (utcnow() + timedelta(days=10)).date().isoformat()
    r = client.put(
        url(2, f"/{made['id']}") + "?format=json",
        json={"expireDate": day, "note": "Bitte prüfen", "label": "Kämmerei"},
        headers=auth(anna.login),
    )
    data = ok(r)
    assert data["expiration"] == f"{day} 00:00:00"
    assert (data["note"], data["label"]) == ("Bitte prüfen", "Kämmerei")
    # An empty expireDate removes the expiry.
    r = client.put(
        url(2, f"/{made['id']}") + "?format=json",
        data={"expireDate": ""},
        headers=auth(anna.login),
    )
    assert ok(r)["expiration"] is None


def test_default_permissions_are_what_the_sharer_holds(
    client: Any, svc: Services, anna: Principal, ben: Principal, haushalt: int
) -> None:
    assert share_folder(client)["permissions"] == 31
    made = ok(
        post(
            client,
            anna.login,
            {"path": "/Haushalt/plan.txt", "shareType": 0, "shareWith": "ben@suhl"},
        )
    )
    assert made["item_type"] == "file"
    assert made["permissions"] == 19  # a file: read, update, share
    # Ben re-shares what he got; without permissions he grants what he holds.
    carl = factories.user(svc, "carl@suhl")
    again = share_folder(client, who=ben.login, shareWith=carl.login)
    assert again["permissions"] == 31
    assert again["uid_owner"] == "ben@suhl" and again["uid_file_owner"] == "anna@lauscha"
    assert again["path"] == "/Haushalt"


def test_a_reshare_cannot_grant_more_than_held(
    client: Any, svc: Services, anna: Principal, ben: Principal, haushalt: int
) -> None:
    factories.user(svc, "carl@suhl")
    made = share_folder(client, permissions=17)
    fields = {"path": "/Haushalt", "shareType": 0, "shareWith": "carl@suhl"}
    r = post(client, ben.login, {**fields, "permissions": 31})
    assert "more than you hold" in failed(r, 403)
    # Without the share permission, no re-share at all.
    r = client.put(
        url(2, f"/{made['id']}") + "?format=json", data={"permissions": 1}, headers=auth(anna.login)
    )
    ok(r)
    assert "may not share" in failed(post(client, ben.login, {**fields, "permissions": 1}), 403)


def test_sharing_from_a_team_space_shows_the_members_path(
    client: Any, svc: Services, anna: Principal, ben: Principal
) -> None:
    from thvc.files.models import SpaceRole

    svc.files.create_team_space("lauscha", "Bauamt")
    svc.files.set_space_member("lauscha", "Bauamt", role=SpaceRole.EDITOR, user_login=anna.login)
    factories.mkdir(svc, anna, "Bauamt/Pläne")
    made = ok(
        post(client, anna.login, {"path": "/Bauamt/Pläne", "shareType": 0, "shareWith": "ben@suhl"})
    )
    assert made["path"] == "/Bauamt/Pläne"
    assert (made["uid_owner"], made["uid_file_owner"]) == ("anna@lauscha", "Bauamt")
    assert "Pläne" in names(svc, ben)
    got = ok(
        client.get(
            url(2), params={"format": "json", "path": "/Bauamt/Pläne"}, headers=auth(anna.login)
        )
    )
    assert [g["id"] for g in got] == [made["id"]]


def test_sharing_twice_with_the_same_user_is_refused(
    client: Any, anna: Principal, ben: Principal, haushalt: int
) -> None:
    share_folder(client)
    r = post(client, anna.login, {"path": "/Haushalt", "shareType": 0, "shareWith": "ben@suhl"})
    assert "already shared" in failed(r, 403)


# -- groups --------------------------------------------------------------------


def test_share_with_a_group_of_the_own_tenant(
    client: Any, svc: Services, anna: Principal, haushalt: int
) -> None:
    kim = factories.user(svc, "kim@lauscha")
    svc.accounts.create_group("lauscha", "kaemmerei")
    svc.accounts.add_to_group("kaemmerei", "kim@lauscha")
    r = post(
        client,
        anna.login,
        {"path": "/Haushalt", "shareType": 1, "shareWith": "kaemmerei", "permissions": 1},
    )
    made = ok(r)
    assert (made["share_type"], made["share_with"]) == (1, "kaemmerei")
    assert made["share_with_displayname"] == "kaemmerei"
    assert "Haushalt" in names(svc, kim)
    got = ok(client.get(url(2) + "?format=json&shared_with_me=true", headers=auth(kim.login)))
    assert [(g["id"], g["share_type"], g["can_delete"]) for g in got] == [(made["id"], 1, False)]
    r = client.put(
        url(2, f"/{made['id']}") + "?format=json", data={"permissions": 3}, headers=auth(anna.login)
    )
    assert ok(r)["permissions"] == 3
    ok(client.delete(url(2, f"/{made['id']}") + "?format=json", headers=auth(anna.login)))
    assert "Haushalt" not in names(svc, kim)


def test_a_group_of_another_tenant_is_not_found(
    client: Any, svc: Services, anna: Principal, ben: Principal, haushalt: int
) -> None:
    svc.accounts.create_group("suhl", "bauamt")
    r = post(client, anna.login, {"path": "/Haushalt", "shareType": 1, "shareWith": "bauamt"})
    failed(r, 404)


# -- links ---------------------------------------------------------------------


def test_a_public_link_lifecycle(
    client: Any, svc: Services, anna: Principal, haushalt: int
) -> None:
    made = ok(post(client, anna.login, {"path": "/Haushalt", "shareType": 3}))
    assert made["share_type"] == 3
    assert int(made["id"]) % 2 == 1  # links and shares share one id space
    assert made["token"] and len(made["token"]) >= 22
    assert made["url"] == f"{svc.settings.base_url}/s/{made['token']}"
    assert made["permissions"] == 17  # read (and share, as Nextcloud shows links)
    assert made["password"] is None and made["share_with"] is None
    assert made["path"] == "/Haushalt" and made["item_source"] == haushalt
    assert made["uid_owner"] == made["uid_file_owner"] == "anna@lauscha"
    link = f"/{made['id']}"
    # A password: set, never shown.
    r = client.put(
        url(2, link) + "?format=json", data={"password": "sehr-geheim-42"}, headers=auth(anna.login)
    )
    assert "sehr-geheim-42" not in r.text
    data = ok(r)
    assert data["password"] and data["password"] == data["share_with"]
    assert svc.sharing.open_link(made["token"], "sehr-geheim-42").name == "Haushalt"
    # Uploads and editing.
    r = client.put(
        url(2, link) + "?format=json", data={"permissions": 15}, headers=auth(anna.login)
    )
    assert ok(r)["permissions"] == 15
    r = client.put(
        url(2, link) + "?format=json", data={"publicUpload": "false"}, headers=auth(anna.login)
    )
    assert ok(r)["permissions"] == 17
    # Expiry, note, label; and the empty password removes it.
    day = (utcnow() + timedelta(days=3)).date().isoformat()
    r = client.put(
        url(2, link) + "?format=json",
        data={"expireDate": day, "note": "für den Rat", "label": "Rat", "password": ""},
        headers=auth(anna.login),
    )
    data = ok(r)
    assert data["expiration"] == f"{day} 00:00:00"
    assert (data["note"], data["label"], data["password"]) == ("für den Rat", "Rat", None)
    listed = ok(client.get(url(2) + "?format=json", headers=auth(anna.login)))
    assert [x["id"] for x in listed] == [made["id"]]
    assert ok(client.get(url(2, link) + "?format=json", headers=auth(anna.login)))[0]["label"] == (
        "Rat"
    )
    ok(client.delete(url(2, link) + "?format=json", headers=auth(anna.login)))
    with pytest.raises(NotFound):
        svc.sharing.open_link(made["token"], None)
    failed(client.get(url(2, link) + "?format=json", headers=auth(anna.login)), 404)


@pytest.mark.parametrize(
    ("fields", "permissions"),
    [
        ({"publicUpload": "true", "permissions": 4}, 4),
        ({"permissions": 4}, 4),
        ({"publicUpload": "true"}, 15),
        ({"permissions": 15}, 15),
        ({"permissions": 31}, 15),
        ({"permissions": 17}, 17),
    ],
)
def test_upload_links_and_file_drops(
    client: Any, anna: Principal, haushalt: int, fields: dict[str, Any], permissions: int
) -> None:
    made = ok(post(client, anna.login, {"path": "/Haushalt", "shareType": 3, **fields}))
    assert made["permissions"] == permissions


def test_a_link_with_password_and_expiry(
    client: Any, svc: Services, anna: Principal, haushalt: int
) -> None:
    day = (utcnow() + timedelta(days=2)).date().isoformat()
    r = post(
        client,
        anna.login,
        {"path": "/Haushalt/plan.txt", "shareType": 3, "password": "pw-1234567", "expireDate": day},
    )
    assert "pw-1234567" not in r.text
    made = ok(r)
    assert made["item_type"] == "file"
    assert made["password"] == made["share_with"] != ""
    assert made["expiration"] == f"{day} 00:00:00"


def test_an_email_share_is_a_link_labelled_with_the_address(
    client: Any, anna: Principal, haushalt: int
) -> None:
    r = post(
        client,
        anna.login,
        {"path": "/Haushalt", "shareType": 4, "shareWith": "rat@suhl.example"},
    )
    made = ok(r)
    assert (made["share_type"], made["label"], made["mail_send"]) == (3, "rat@suhl.example", 0)
    assert made["token"]


def test_link_tokens_are_not_logged(
    client: Any, anna: Principal, haushalt: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        made = ok(post(client, anna.login, {"path": "/Haushalt", "shareType": 3}))
        ok(client.get(url(2) + "?format=json", headers=auth(anna.login)))
        ok(client.get(url(2, f"/{made['id']}") + "?format=json", headers=auth(anna.login)))
    assert made["token"] not in caplog.text


# -- policies (the acceptance criteria) -----------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_cross_tenant_sharing_is_allowed_until_the_policy_forbids_it(
    client: Any, svc: Services, anna: Principal, ben: Principal, haushalt: int, version: int
) -> None:
    data = {"path": "/Haushalt", "shareType": 0, "shareWith": "ben@suhl"}
    made = ok(post(client, anna.login, data, version), version)
    ok(
        client.delete(url(version, f"/{made['id']}") + "?format=json", headers=auth(anna.login)),
        version,
    )
    svc.tenants.set_policy("suhl", share_with="none")
    message = failed(post(client, anna.login, data, version), 403, version)
    assert "policy of suhl" in message and "lauscha" in message
    assert "Haushalt" not in names(svc, ben)


@pytest.mark.parametrize("version", [1, 2])
def test_a_tenant_without_links_gets_403_saying_why(
    client: Any, svc: Services, ben: Principal, version: int
) -> None:
    factories.mkdir(svc, ben, "Bauakten")
    svc.tenants.set_policy("suhl", links=False)
    r = post(client, ben.login, {"path": "/Bauakten", "shareType": 3}, version)
    message = failed(r, 403, version)
    assert message == "your organisation's policy does not allow public links"
    # XML says the same.
    r = client.post(
        url(version), data={"path": "/Bauakten", "shareType": 3}, headers=auth(ben.login)
    )
    meta, _ = ocs_xml(r)
    assert meta.findtext("statuscode") == "403"
    assert meta.findtext("message") == message
    assert ok(client.get(url(2) + "?format=json", headers=auth(ben.login))) == []


def test_a_password_required_by_policy(client: Any, svc: Services, ben: Principal) -> None:
    factories.mkdir(svc, ben, "Bauakten")
    svc.tenants.set_policy("suhl", link_password_required=True)
    r = post(client, ben.login, {"path": "/Bauakten", "shareType": 3})
    assert "requires a password" in failed(r, 403)
    made = ok(post(client, ben.login, {"path": "/Bauakten", "shareType": 3, "password": "x-1"}))
    r = client.put(
        url(2, f"/{made['id']}") + "?format=json", data={"password": ""}, headers=auth(ben.login)
    )
    assert "requires a password" in failed(r, 403)


# -- listing -------------------------------------------------------------------


def test_listing_by_path_reshares_and_subfiles(
    client: Any, svc: Services, anna: Principal, ben: Principal, haushalt: int
) -> None:
    factories.user(svc, "carl@suhl")
    factories.mkdir(svc, anna, "Anderes")
    folder = share_folder(client, permissions=31)
    plan = ok(post(client, anna.login, {"path": "/Haushalt/plan.txt", "shareType": 3}))
    other = ok(post(client, anna.login, {"path": "/Anderes", "shareType": 3}))
    reshare = share_folder(client, who=ben.login, shareWith="carl@suhl", permissions=1)

    def ids(query: dict[str, str], who: str = anna.login) -> list[str]:
        got = ok(client.get(url(2), params={"format": "json", **query}, headers=auth(who)))
        return [g["id"] for g in got]

    assert ids({}) == [folder["id"], plan["id"], other["id"]]
    assert ids({"reshares": "true"}) == [folder["id"], reshare["id"], plan["id"], other["id"]]
    assert ids({"path": "/Haushalt"}) == [folder["id"]]
    assert ids({"path": "/Haushalt", "reshares": "true"}) == [folder["id"], reshare["id"]]
    assert ids({"path": "Haushalt/plan.txt"}) == [plan["id"]]
    assert ids({"path": "/Haushalt", "subfiles": "true"}) == [plan["id"]]
    assert ids({"path": "/", "subfiles": "true"}) == [folder["id"], other["id"]]
    assert ids({"path": "/Anderes", "subfiles": "true"}) == []
    assert ids({"include_tags": "true"}) == ids({})
    # Ben sees his re-share by his own path.
    assert ids({"path": "/Haushalt"}, ben.login) == [reshare["id"]]


def test_the_list_in_xml(client: Any, anna: Principal, ben: Principal, haushalt: int) -> None:
    share_folder(client, permissions=1)
    ok(post(client, anna.login, {"path": "/Haushalt", "shareType": 3}))
    r = client.get(url(1), headers=auth(anna.login))
    assert r.status_code == 200
    meta, data = ocs_xml(r)
    assert meta.findtext("statuscode") == "100"
    elements = data.findall("element")
    assert [e.findtext("share_type") for e in elements] == ["0", "3"]
    assert elements[0].findtext("share_with") == "ben@suhl"
    assert elements[0].findtext("path") == "/Haushalt"
    assert elements[0].findtext("expiration") == ""  # null is an empty element
    assert elements[1].findtext("url", "").endswith("/s/" + (elements[1].findtext("token") or "-"))


@pytest.mark.parametrize("version", [1, 2])
def test_create_and_get_in_xml(
    client: Any, anna: Principal, ben: Principal, haushalt: int, version: int
) -> None:
    r = client.post(
        url(version),
        data={"path": "/Haushalt", "shareType": 0, "shareWith": "ben@suhl", "permissions": 1},
        headers=auth(anna.login),
    )
    meta, data = ocs_xml(r)
    assert meta.findtext("statuscode") == str(OK[version])
    share_id = data.findtext("id")
    assert data.findtext("share_with") == "ben@suhl"
    assert data.findtext("can_edit") == "1"
    r = client.get(url(version, f"/{share_id}"), headers=auth(ben.login))
    meta, data = ocs_xml(r)
    assert meta.findtext("statuscode") == str(OK[version])
    (element,) = data.findall("element")
    assert element.findtext("id") == share_id
    assert element.findtext("state") == "0"
    r = client.delete(url(version, f"/{share_id}"), headers=auth(anna.login))
    meta, _ = ocs_xml(r)
    assert meta.findtext("status") == "ok"
    r = client.get(url(version, f"/{share_id}"), headers=auth(anna.login))
    assert r.status_code == (200 if version == 1 else 404)
    meta, _ = ocs_xml(r)
    assert meta.findtext("statuscode") == "404"


def test_another_tenants_user_sees_no_share(
    client: Any, svc: Services, anna: Principal, ben: Principal, haushalt: int
) -> None:
    made = share_folder(client)
    eve = factories.user(svc, "eve@erfurt")
    for method in ("get", "delete"):
        r = getattr(client, method)(
            url(2, f"/{made['id']}") + "?format=json", headers=auth(eve.login)
        )
        failed(r, 404)
    r = client.put(
        url(2, f"/{made['id']}") + "?format=json", data={"note": "x"}, headers=auth(eve.login)
    )
    failed(r, 404)
    assert ok(client.get(url(2) + "?format=json&reshares=true", headers=auth(eve.login))) == []


# -- parameters, as the clients send them --------------------------------------


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "thvc-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ]
    return (
        "".join(parts) + f"--{boundary}--\r\n"
    ).encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("how", ["query", "form", "json", "multipart"])
def test_parameters_from_query_form_json_or_multipart(
    client: Any, anna: Principal, ben: Principal, haushalt: int, how: str
) -> None:
    fields = {"path": "/Haushalt", "shareType": "0", "shareWith": "ben@suhl", "permissions": "3"}
    headers = auth(anna.login)
    target = url(2) + "?format=json"
    if how == "query":
        r = client.post(url(2), params={"format": "json", **fields}, headers=headers)
    elif how == "form":
        r = client.post(target, data=fields, headers=headers)
    elif how == "json":
        body = {**fields, "shareType": 0, "permissions": 3}
        r = client.post(
            target,
            content=json.dumps(body),
            headers={**headers, "Content-Type": "application/json"},
        )
    else:
        body_bytes, ctype = _multipart(fields)
        r = client.post(target, content=body_bytes, headers={**headers, "Content-Type": ctype})
    made = ok(r)
    assert (made["share_with"], made["permissions"]) == ("ben@suhl", 3)


# -- pending shares --------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_pending_shares_are_accepted_or_declined(
    client: Any, svc: Services, anna: Principal, ben: Principal, haushalt: int, version: int
) -> None:
    svc.tenants.set_policy("suhl", auto_accept=False)
    factories.mkdir(svc, anna, "Zweiter")
    first = share_folder(client, permissions=1)
    second = ok(
        post(client, anna.login, {"path": "/Zweiter", "shareType": 0, "shareWith": "ben@suhl"})
    )
    assert names(svc, ben) == []
    waiting = ok(
        client.get(url(version, "/pending") + "?format=json", headers=auth(ben.login)), version
    )
    assert [(w["id"], w["path"], w["permissions"], w["state"]) for w in waiting] == [
        (first["id"], "/Haushalt", 0, 1),
        (second["id"], "/Zweiter", 0, 1),
    ]
    everything = ok(
        client.get(
            url(version) + "?format=json&shared_with_me=true&state=all", headers=auth(ben.login)
        ),
        version,
    )
    assert [e["state"] for e in everything] == [1, 1]
    assert (
        ok(
            client.get(url(version) + "?format=json&shared_with_me=true", headers=auth(ben.login)),
            version,
        )
        == []
    )
    r = client.post(
        url(version, f"/pending/{first['id']}") + "?format=json", headers=auth(ben.login)
    )
    ok(r, version)
    r = client.delete(
        url(version, f"/pending/{second['id']}") + "?format=json", headers=auth(ben.login)
    )
    ok(r, version)
    assert names(svc, ben) == ["Haushalt"]
    accepted = ok(
        client.get(url(version) + "?format=json&shared_with_me=true", headers=auth(ben.login)),
        version,
    )
    assert [(a["id"], a["state"], a["path"]) for a in accepted] == [(first["id"], 0, "/Haushalt")]
    assert (
        ok(client.get(url(version, "/pending") + "?format=json", headers=auth(ben.login)), version)
        == []
    )
    # Only the recipient answers; a link or an unknown id is not a pending share.
    r = client.post(
        url(version, f"/pending/{first['id']}") + "?format=json", headers=auth(anna.login)
    )
    failed(r, 404, version)
    link = ok(post(client, anna.login, {"path": "/Haushalt", "shareType": 3}))
    r = client.post(
        url(version, f"/pending/{link['id']}") + "?format=json", headers=auth(ben.login)
    )
    failed(r, 404, version)


# -- bad input: a clear 400 or 404, never a 500 ----------------------------------

H = "/Haushalt"
USER = {"path": H, "shareType": "0", "shareWith": "ben@suhl"}
LINK = {"path": H, "shareType": "3"}

BAD_CREATE = [
    ({}, 400),
    ({"shareType": "0", "shareWith": "ben@suhl"}, 400),
    ({"path": "/", "shareType": "3"}, 400),
    ({"path": H}, 400),
    ({"path": H, "shareType": "abc"}, 400),
    ({"path": H, "shareType": "2"}, 400),
    ({"path": H, "shareType": "-1"}, 400),
    ({"path": H, "shareType": "9" * 40}, 400),
    ({"path": H, "shareType": "1.5"}, 400),
    ({**USER, "permissions": "abc"}, 400),
    ({**USER, "permissions": "-1"}, 400),
    ({**USER, "permissions": "32"}, 400),
    ({**USER, "permissions": "9" * 30}, 400),
    ({**USER, "expireDate": "morgen"}, 400),
    ({**USER, "expireDate": "2030-02-30"}, 400),
    ({**USER, "expireDate": "2001-01-01"}, 400),
    ({**USER, "expireDate": "99999-01-01"}, 400),
    ({**USER, "expireDate": "0000-01-01"}, 400),
    ({**USER, "label": "x" * 201}, 400),
    ({**USER, "note": "a\x00b"}, 400),
    ({**USER, "shareWith": ""}, 400),
    ({"path": H, "shareType": "0"}, 400),
    ({**USER, "shareWith": "anna@lauscha"}, 400),
    ({**USER, "shareWith": "niemand@suhl"}, 404),
    ({**USER, "shareWith": "x" * 5000}, 404),
    ({"path": H, "shareType": "1", "shareWith": "keine-gruppe"}, 404),
    ({**USER, "path": "/Fehlt"}, 404),
    ({**USER, "path": "/Fehlt/auch/nicht"}, 404),
    ({**USER, "path": "/../etc"}, 400),
    ({**USER, "path": "/Haus\x00halt"}, 400),
    ({**USER, "path": "/" + "x" * 300}, 400),
    ({**USER, "path": "/a" * 300}, 400),
    ({**LINK, "permissions": "2"}, 400),
    ({**LINK, "permissions": "0"}, 400),
    ({**LINK, "permissions": "5"}, 400),
    ({**LINK, "publicUpload": "vielleicht"}, 400),
    ({**LINK, "path": "/Haushalt/plan.txt", "publicUpload": "true"}, 400),
    ({**LINK, "path": "/Haushalt/plan.txt", "permissions": "4"}, 400),
    ({"path": H, "shareType": "4"}, 400),
    ({"path": H, "shareType": "4", "shareWith": "keine adresse"}, 400),
]


@pytest.mark.parametrize(("fields", "code"), BAD_CREATE)
def test_bad_create_requests(
    client: Any, anna: Principal, ben: Principal, haushalt: int, fields: dict[str, str], code: int
) -> None:
    failed(post(client, anna.login, fields), code)


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"[1, 2]", "application/json"),
        (b"{not json", "application/json"),
        (b'{"path": ["/Haushalt"], "shareType": 3}', "application/json"),
        (b'{"path": {"a": 1}, "shareType": 3}', "application/json"),
        (b'{"path": "/Haushalt", "shareType": true}', "application/json"),
        (b'{"path": "/Haushalt", "shareType": 3, "permissions": 1e300}', "application/json"),
        (b'{"path": "/Haus\\u0000halt", "shareType": 3}', "application/json"),
        (b'{"path": "/Haus\\ud800halt", "shareType": 3}', "application/json"),
        (b"[" * 100_000, "application/json"),
        (b"path=%FF%FE&shareType=3", "application/x-www-form-urlencoded"),
        (b"<share/>", "application/xml"),
        (b"path=/Haushalt&shareType=3&note=" + b"x" * 70_000, "application/x-www-form-urlencoded"),
        (b"--nix\r\n", "multipart/form-data; boundary=nix"),
    ],
)
def test_bad_bodies(client: Any, anna: Principal, haushalt: int, body: bytes, ctype: str) -> None:
    r = client.post(
        url(2) + "?format=json", content=body, headers={**auth(anna.login), "Content-Type": ctype}
    )
    failed(r, 400)


@pytest.mark.parametrize(
    ("method", "rest", "fields", "code"),
    [
        ("GET", "/abc", {}, 404),
        ("GET", "/0", {}, 404),
        ("GET", "/-2", {}, 404),
        ("GET", "/" + "9" * 30, {}, 404),
        ("GET", "/4294967296", {}, 404),
        ("GET", "/12345678", {}, 404),
        ("GET", "/%C3%A4", {}, 404),
        ("DELETE", "/12345678", {}, 404),
        ("DELETE", "/12345679", {}, 404),
        ("PUT", "/12345678", {"note": "x"}, 404),
        ("PUT", "{share}", {}, 400),
        ("PUT", "{share}", {"unknown": "1"}, 400),
        ("PUT", "{share}", {"permissions": "abc"}, 400),
        ("PUT", "{share}", {"permissions": "64"}, 400),
        ("PUT", "{share}", {"permissions": "2"}, 400),
        ("PUT", "{share}", {"expireDate": "31.12.2030"}, 400),
        ("PUT", "{share}", {"expireDate": "2001-01-01"}, 400),
        ("PUT", "{share}", {"label": "y" * 500}, 400),
        ("PUT", "{link}", {"permissions": "2"}, 400),
        ("PUT", "{link}", {"publicUpload": "nein"}, 400),
        ("PUT", "{link}", {"expireDate": "2030-13-01"}, 400),
        ("POST", "/pending/abc", {}, 404),
        ("POST", "/pending/12345678", {}, 404),
        ("DELETE", "/pending/" + "1" * 20, {}, 404),
        ("GET", "?subfiles=true", {}, 400),
        ("GET", "?subfiles=true&path=/Haushalt/plan.txt", {}, 400),
        ("GET", "?path=/Fehlt", {}, 404),
        ("GET", "?path=/Haushalt/..", {}, 400),
        ("GET", "?shared_with_me=true&state=7", {}, 400),
        ("GET", "?shared_with_me=true&path=/Fehlt", {}, 404),
    ],
)
def test_bad_requests_on_shares(
    client: Any,
    anna: Principal,
    ben: Principal,
    haushalt: int,
    method: str,
    rest: str,
    fields: dict[str, str],
    code: int,
) -> None:
    if "{" in rest:
        share = share_folder(client)
        link = ok(post(client, anna.login, {"path": "/Haushalt", "shareType": 3}))
        rest = "/" + (share if rest == "{share}" else link)["id"]
    sep = "&" if "?" in rest else "?"
    r = client.request(
        method, url(2, rest) + f"{sep}format=json", data=fields or None, headers=auth(anna.login)
    )
    failed(r, code)


@pytest.mark.parametrize("version", [1, 2])
def test_bad_input_under_v1_is_reported_with_http_200(
    client: Any, anna: Principal, haushalt: int, version: int
) -> None:
    failed(post(client, anna.login, {"path": H, "shareType": "2"}, version), 400, version)
    failed(post(client, anna.login, {**USER, "path": "/Fehlt"}, version), 404, version)


def test_an_unknown_method_is_405(client: Any, anna: Principal) -> None:
    r = client.patch(url(2) + "?format=json", headers=auth(anna.login))
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, POST"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_shares_need_a_login(client: Any, method: str) -> None:
    target = url(2, "/2" if method in ("PUT", "DELETE") else "") + "?format=json"
    r = client.request(method, target)
    assert r.status_code == 401
    meta, _ = ocs_json(r)
    assert meta["statuscode"] == 401


def test_wrong_credentials_are_401_not_reported(client: Any, anna: Principal) -> None:
    r = client.get(url(1) + "?format=json", headers=auth(anna.login, "wrong-password"))
    assert r.status_code == 401
    meta, _ = ocs_json(r)
    assert meta["statuscode"] == 997


def test_xml_errors_are_ocs_xml(client: Any, anna: Principal) -> None:
    r = client.post(url(2), data={"path": "/Fehlt", "shareType": 3}, headers=auth(anna.login))
    assert r.status_code == 404
    root = ET.fromstring(r.content)
    assert root.findtext("meta/statuscode") == "404"
